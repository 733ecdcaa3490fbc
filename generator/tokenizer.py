"""The bespoke model's tokenizer: a byte-level CLIP vocabulary built in code.

No tokenizer can be downloaded here, so the vocabulary is made from first principles:
the 256 byte symbols of GPT-2/CLIP byte-level BPE, each also as an end-of-word symbol
(CLIP marks the last symbol of a word with ``</w>``), plus the start and end tokens:
514 tokens. A few merges for the studio's own caption words are added on top, so those
words become single tokens; any other text still encodes, byte by byte. The tokenizer is
saved inside the model directory, so its files are part of the model's identity.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from transformers import CLIPTokenizer

BOS = "<|startoftext|>"
EOS = "<|endoftext|>"
END_OF_WORD = "</w>"


@lru_cache(maxsize=1)
def byte_symbols() -> tuple[str, ...]:
    """The printable stand-in for each byte 0..255, as byte-level BPE defines them."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    symbols: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return tuple(symbols[b] for b in range(256))


def _word_merges(word: str) -> list[tuple[str, str]]:
    """Left-to-right merges that turn an ASCII word into one end-of-word token."""
    pieces = list(word[:-1]) + [word[-1] + END_OF_WORD]
    merges = []
    left = pieces[0]
    for right in pieces[1:]:
        merges.append((left, right))
        left = left + right
    return merges


def build_vocabulary(words: Iterable[str] = ()) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """The byte-level vocabulary and merges, with ``words`` merged into whole tokens."""
    vocab: dict[str, int] = {}
    for symbol in byte_symbols():
        vocab[symbol] = len(vocab)
    for symbol in byte_symbols():
        vocab[symbol + END_OF_WORD] = len(vocab)
    vocab[BOS] = len(vocab)
    vocab[EOS] = len(vocab)
    merges: list[tuple[str, str]] = []
    for word in sorted({w.lower() for w in words if len(w) > 1 and w.isascii() and w.isalpha()}):
        for left, right in _word_merges(word):
            merged = left + right
            if merged not in vocab:
                vocab[merged] = len(vocab)
                merges.append((left, right))
    return vocab, merges


def build_tokenizer(words: Iterable[str] = (), max_length: int = 77) -> CLIPTokenizer:
    """A CLIP tokenizer over the byte-level vocabulary (plus ``words`` as single tokens)."""
    vocab, merges = build_vocabulary(words)
    return CLIPTokenizer(vocab=vocab, merges=merges, model_max_length=max_length)
