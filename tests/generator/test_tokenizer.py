from pathlib import Path

from transformers import CLIPTokenizer

from generator.tokenizer import BOS, EOS, build_tokenizer, build_vocabulary


def test_byte_level_vocabulary_has_514_tokens_without_words():
    vocab, merges = build_vocabulary()
    assert len(vocab) == 514 and merges == []
    assert vocab[BOS] == 512 and vocab[EOS] == 513


def test_studio_words_become_single_tokens_and_other_text_still_encodes():
    tokenizer = build_tokenizer(["slate", "circle"], max_length=16)
    ids = tokenizer("A Slate circle, déjà vu").input_ids
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens[0] == BOS and tokens[-1] == EOS
    assert "slate</w>" in tokens and "circle</w>" in tokens
    assert tokenizer.unk_token_id not in ids[1:-1]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "a slate circle , déjà vu"


def test_saved_tokenizer_loads_offline_and_encodes_the_same(tmp_path: Path):
    tokenizer = build_tokenizer(["studio"], max_length=16)
    tokenizer.save_pretrained(tmp_path)
    again = CLIPTokenizer.from_pretrained(tmp_path, local_files_only=True)
    text = "studio style frame 7"
    assert again(text, padding="max_length", max_length=16).input_ids == \
        tokenizer(text, padding="max_length", max_length=16).input_ids
