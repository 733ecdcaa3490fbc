import hashlib
import random

import pytest

from governance.errors import InvalidInput
from governance.registry.merkle import (EMPTY_ROOT, InclusionProof, MerkleTree, NonMembershipProof,
                                        leaf_key, reference_root, verify_absence, verify_inclusion,
                                        verify_proof)


def keys(n: int, licence: str = "LIC-1") -> list[str]:
    return [leaf_key(hashlib.sha256(f"asset-{i}".encode()).hexdigest(), licence) for i in range(n)]


def flip_hex(text: str, position: int) -> str:
    """Change one byte (two hex digits) of a hex string."""
    i = (position % (len(text) // 2)) * 2
    byte = int(text[i:i + 2], 16) ^ 0x01
    return text[:i] + f"{byte:02x}" + text[i + 2:]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13, 64, 100])
def test_root_matches_rfc6962_definition(n):
    assert MerkleTree(keys(n)).root == reference_root(keys(n))


def test_root_is_independent_of_insertion_order():
    ks = keys(50)
    shuffled = ks[:]
    random.Random(7).shuffle(shuffled)
    assert MerkleTree(ks).root == MerkleTree(shuffled).root == MerkleTree(reversed(ks)).root


def test_root_changes_when_the_licence_of_one_leaf_changes():
    ks = keys(10)
    other = ks[:-1] + [ks[-1].split(":")[0] + ":LIC-2"]
    assert MerkleTree(ks).root != MerkleTree(other).root


def test_empty_tree_has_the_hash_of_nothing():
    assert MerkleTree([]).root == EMPTY_ROOT


@pytest.mark.parametrize("n", [1, 2, 7, 33])
def test_every_leaf_has_a_verifying_inclusion_proof(n):
    tree = MerkleTree(keys(n))
    for key in tree.leaves:
        assert verify_inclusion(tree.prove(key), tree.root)


def test_inclusion_proof_fails_after_any_one_byte_change():
    tree = MerkleTree(keys(21))
    proof = tree.prove(tree.leaves[9])
    assert verify_inclusion(proof)
    leaf = proof.leaf
    tampered_leaves = [flip_hex(leaf[:64], p) + leaf[64:] for p in range(32)]
    for bad_leaf in tampered_leaves:
        assert not verify_inclusion(InclusionProof(bad_leaf, proof.index, proof.tree_size, proof.path, proof.root))
    for level, sibling in enumerate(proof.path):
        for p in range(32):
            path = list(proof.path)
            path[level] = flip_hex(sibling, p)
            assert not verify_inclusion(InclusionProof(leaf, proof.index, proof.tree_size, tuple(path), proof.root))
    for p in range(32):
        assert not verify_inclusion(proof, flip_hex(proof.root, p))


def test_inclusion_proof_fails_at_another_index_or_size():
    tree = MerkleTree(keys(21))
    proof = tree.prove(tree.leaves[9])
    assert not verify_inclusion(InclusionProof(proof.leaf, 10, proof.tree_size, proof.path, proof.root))
    assert not verify_inclusion(InclusionProof(proof.leaf, 9, 10, proof.path, proof.root))
    assert not verify_inclusion(InclusionProof(proof.leaf, 9, 9, proof.path, proof.root))


def test_non_membership_proof_verifies_for_absent_assets():
    tree = MerkleTree(keys(40))
    for i in range(40, 80):
        absent = hashlib.sha256(f"asset-{i}".encode()).hexdigest()
        proof = tree.prove_absent(absent)
        assert verify_absence(proof, tree.root)


def test_non_membership_covers_both_ends_of_the_sorted_leaves():
    tree = MerkleTree(keys(5))
    below = tree.prove_absent("0" * 64)
    above = tree.prove_absent("f" * 64)
    assert below.predecessor is None and verify_absence(below)
    assert above.successor is None and verify_absence(above)


def test_non_membership_cannot_be_claimed_for_a_member():
    tree = MerkleTree(keys(5))
    member = tree.leaves[2].split(":")[0]
    with pytest.raises(InvalidInput):
        tree.prove_absent(member)


def test_forged_non_membership_with_non_adjacent_neighbours_fails():
    tree = MerkleTree(keys(30))
    absent = hashlib.sha256(b"not there").hexdigest()
    genuine = tree.prove_absent(absent)
    assert genuine.predecessor is not None and genuine.predecessor.index > 0
    # skip over a real leaf: use the leaf two below as 'predecessor'
    j = genuine.predecessor.index - 1
    fake_pred = tree.prove(tree.leaves[j])
    forged = NonMembershipProof(absent, genuine.tree_size, genuine.root, fake_pred, genuine.successor)
    assert not verify_absence(forged)
    # hide a member between two neighbours that do exist
    member_asset = tree.leaves[5].split(":")[0]
    pred, succ = tree.prove(tree.leaves[4]), tree.prove(tree.leaves[6])
    assert not verify_absence(NonMembershipProof(member_asset, tree.size, tree.root, pred, succ))


def test_proofs_round_trip_through_json_dicts():
    tree = MerkleTree(keys(9))
    inc = tree.prove(tree.leaves[3]).to_dict()
    absent = tree.prove_absent(hashlib.sha256(b"zzz").hexdigest()).to_dict()
    assert verify_proof(inc, tree.root) and verify_proof(absent, tree.root)
    with pytest.raises(InvalidInput):
        verify_proof({"kind": "inclusion", "leaf": "x"})
    with pytest.raises(InvalidInput):
        verify_proof({"kind": "nonsense"})


def test_malformed_proof_is_rejected_not_crashed():
    tree = MerkleTree(keys(4))
    proof = tree.prove(tree.leaves[0])
    bad = InclusionProof(proof.leaf, 0, 4, ("zz" * 32,) + proof.path[1:], proof.root)
    assert verify_inclusion(bad) is False


def test_leaf_key_rejects_non_hash_and_colon_in_licence():
    with pytest.raises(InvalidInput):
        leaf_key("abc", "L")
    with pytest.raises(InvalidInput):
        leaf_key("a" * 64, "L:1")
