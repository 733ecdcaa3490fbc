"""governance.rfc6962 against published RFC 6962 test vectors.

The vectors in vectors/rfc6962.json are copied from google/certificate-transparency
(cpp/merkletree/merkle_tree_test.cc: the 8-leaf reference tree's roots, audit paths and
consistency proofs; python/ct/crypto/merkle_test.py: a real CT log's inclusion proof) and
from transparency-dev/merkle's testdata/inclusion and testdata/consistency probes, each
valid proof with its bit-flipped, truncated, padded and re-sized variants. The file's
``_about`` names the exact sources.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from governance import rfc6962
from governance.audit import log

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc6962.json").read_text())
REFERENCE = VECTORS["reference_tree"]
LEAVES = [rfc6962.leaf_hash(bytes.fromhex(d)) for d in REFERENCE["leaf_inputs"]]
ROOTS = [bytes.fromhex(r) for r in REFERENCE["roots"]]


def hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_leaf_and_node_hashes_use_the_rfc_prefixes():
    # transparency-dev/merkle rfc6962/rfc6962_test.go
    assert rfc6962.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert rfc6962.leaf_hash(b"").hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert rfc6962.leaf_hash(b"L123456").hex() == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    assert rfc6962.node_hash(b"N123", b"N456").hex() == \
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_tree_heads_of_the_reference_tree_match_the_published_roots(size):
    inputs = [bytes.fromhex(d) for d in REFERENCE["leaf_inputs"][:size]]
    assert rfc6962.tree_head(inputs) == ROOTS[size]
    assert rfc6962.root_of_leaf_hashes(LEAVES[:size]) == ROOTS[size]


@pytest.mark.parametrize("vector", REFERENCE["inclusion_proofs"], ids=lambda v: f"{v['index']}@{v['tree_size']}")
def test_inclusion_proofs_match_the_published_paths(vector):
    size, index = vector["tree_size"], vector["index"]
    assert [p.hex() for p in rfc6962.inclusion_proof(LEAVES[:size], index)] == vector["proof"]
    assert rfc6962.verify_inclusion(LEAVES[index], index, size, hexes(vector["proof"]), ROOTS[size])


@pytest.mark.parametrize("vector", REFERENCE["consistency_proofs"], ids=lambda v: f"{v['old_size']}-{v['new_size']}")
def test_consistency_proofs_match_the_published_proofs(vector):
    old, new = vector["old_size"], vector["new_size"]
    assert [p.hex() for p in rfc6962.consistency_proof(LEAVES[:new], old)] == vector["proof"]
    assert rfc6962.verify_consistency(old, new, ROOTS[old], ROOTS[new], hexes(vector["proof"]))


def test_a_real_certificate_transparency_log_inclusion_proof_verifies():
    v = VECTORS["ct_log_inclusion"]
    args = (bytes.fromhex(v["leaf_hash"]), v["index"], v["tree_size"], hexes(v["proof"]))
    assert rfc6962.verify_inclusion(*args, bytes.fromhex(v["root"]))
    assert not rfc6962.verify_inclusion(*args, bytes(32))


@pytest.mark.parametrize("probe", VECTORS["inclusion_probes"], ids=lambda p: p["probe"])
def test_inclusion_probes_are_accepted_or_refused_as_published(probe):
    got = rfc6962.verify_inclusion(bytes.fromhex(probe["leaf_hash"]), probe["index"], probe["tree_size"],
                                   hexes(probe["proof"]), bytes.fromhex(probe["root"]))
    assert got is probe["valid"]


@pytest.mark.parametrize("probe", VECTORS["consistency_probes"], ids=lambda p: p["probe"])
def test_consistency_probes_are_accepted_or_refused_as_published(probe):
    got = rfc6962.verify_consistency(probe["old_size"], probe["new_size"], bytes.fromhex(probe["old_root"]),
                                     bytes.fromhex(probe["new_root"]), hexes(probe["proof"]))
    assert got is probe["valid"]


def test_a_tampered_consistency_proof_fails():
    proof = hexes(REFERENCE["consistency_proofs"][2]["proof"])  # 6 -> 8
    assert rfc6962.verify_consistency(6, 8, ROOTS[6], ROOTS[8], proof)
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([flipped[i][0] ^ 1]) + flipped[i][1:]
        assert not rfc6962.verify_consistency(6, 8, ROOTS[6], ROOTS[8], flipped)
    assert not rfc6962.verify_consistency(6, 8, ROOTS[6], ROOTS[8], proof[:-1])
    assert not rfc6962.verify_consistency(6, 8, ROOTS[6], ROOTS[8], proof + [proof[-1]])
    assert not rfc6962.verify_consistency(6, 8, ROOTS[8], ROOTS[6], proof)
    assert not rfc6962.verify_consistency(5, 8, ROOTS[6], ROOTS[8], proof)


def test_generated_proofs_verify_for_every_size_up_to_64():
    """Beyond the 8-leaf vectors: every (old, new) pair and every leaf of trees up to 64."""
    leaves = [rfc6962.leaf_hash(bytes([i])) for i in range(64)]
    roots = [rfc6962.root_of_leaf_hashes(leaves[:n]) for n in range(65)]
    for new in range(1, 65):
        for old in range(1, new + 1):
            proof = rfc6962.consistency_proof(leaves[:new], old)
            assert rfc6962.verify_consistency(old, new, roots[old], roots[new], proof)
            if old < new:
                assert not rfc6962.verify_consistency(old, new, roots[old - 1] if old > 1 else bytes(32),
                                                      roots[new], proof)
        for index in range(new):
            assert rfc6962.verify_inclusion(leaves[index], index, new, rfc6962.inclusion_proof(leaves[:new], index),
                                            roots[new])


@pytest.mark.parametrize("bad", [
    lambda: rfc6962.consistency_proof(LEAVES, 0),
    lambda: rfc6962.consistency_proof(LEAVES, 9),
    lambda: rfc6962.inclusion_proof(LEAVES, 8),
    lambda: rfc6962.inclusion_proof([], 0),
])
def test_proofs_for_sizes_the_tree_does_not_have_are_refused(bad):
    with pytest.raises(ValueError):
        bad()


def test_the_module_stands_alone_for_auditors():
    """An auditor copies rfc6962.py next to a kept checkpoint: it needs nothing of Slate."""
    tree = ast.parse(Path(rfc6962.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module and node.level == 0}
    assert imported <= {"__future__", "hashlib", "typing"}
    assert not any(isinstance(node, ast.ImportFrom) and node.level for node in ast.walk(tree))


def test_the_audit_log_root_is_the_rfc6962_root_over_entry_hashes():
    """The audit log's leaves are its entry hashes' bytes; roots stay what they always were."""
    entry_hashes = [rfc6962.leaf_hash(bytes([i])).hex() for i in range(11)]
    assert log.merkle_root(entry_hashes) == rfc6962.tree_head([bytes.fromhex(h) for h in entry_hashes]).hex()
    assert log.merkle_root([]) == rfc6962.EMPTY_ROOT.hex()
    # the value the log computed before this module existed, for the same eleven entries
    assert log.merkle_root(entry_hashes) == _legacy_root(entry_hashes)


def _legacy_root(hashes_hex: list[str]) -> str:
    import hashlib
    level = [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for h in hashes_hex]
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()
