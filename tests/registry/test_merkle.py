import hashlib
import json
import random
from pathlib import Path

import pytest

from governance import rfc6962
from governance.errors import InvalidInput
from governance.registry.merkle import (
    EMPTY_ROOT,
    InclusionProof,
    MerkleTree,
    NonMembershipProof,
    leaf_key,
    verify_absence,
    verify_inclusion,
    verify_proof,
)

# google/certificate-transparency's 8-leaf reference tree (see tests/audit/vectors/rfc6962.json);
# its leaf inputs are ASCII bytes, so they are also training-set leaf keys
RFC = json.loads((Path(__file__).parents[1] / "audit" / "vectors" / "rfc6962.json").read_text())["reference_tree"]
RFC_LEAVES = [bytes.fromhex(d).decode("ascii") for d in RFC["leaf_inputs"]]


def keys(n: int, licence: str = "LIC-1") -> list[str]:
    return [leaf_key(hashlib.sha256(f"asset-{i}".encode()).hexdigest(), licence) for i in range(n)]


def flip_hex(text: str, position: int) -> str:
    """Change one byte (two hex digits) of a hex string."""
    i = (position % (len(text) // 2)) * 2
    byte = int(text[i:i + 2], 16) ^ 0x01
    return text[:i] + f"{byte:02x}" + text[i + 2:]


#: Roots Slate has recorded for training sets of keys(n): stored roots and issued credentials
#: carry these values, so they may never change.
KNOWN_ROOTS = {
    1: "e54ea1bcd0f191fb909f2106bebdaed85705cccd62ff2b7cb5ccec1f50c6e5b0",
    2: "75cde2d32065232adffdc377c2edcca38d8f3ab998ec3dc4519119bd437dae06",
    3: "8e4da13a700c228077f5e0d483cc19f4f87dbe226c2499fe4a9f15edede2a8c8",
    5: "7a1af3ca0f6ca7890674865d2e5beb5899a7822fd50c2b0b59b9102792377470",
    8: "93fc9b93381fa2feb6d6d562d1ebe556e5d7fabfa1f40bbef4b5bf5adef5251e",
    13: "f22e54214384453fe8f092aaa90935703b932a54bc3cd347bb214d6eaa25504c",
    64: "b6b1d68df434e5e39ad7354b5f3859aa510e7b1a8628045cdaa681c5bd8863a8",
    100: "bc26bdf4fb16257e6513021ac7dbb8ad3f31955857cc31510d0c212195b4978c",
    257: "5d4274c76427805a358c1f8d3f21d05e42031c17e5c980a1dd83a9076cbc6f97",
    600: "d59ba806f01173966a836fc33e7a4ff843c9d5a730e8d7028b844c6718758835",
    1000: "bf6363664c26c80154a52166eaf898fc36b27672b2dcca1156e233dc90c249f1",
}
NINE_ROOT = "718d58721987401f5580fd65a96d0a0e072224240e2e4894316cb1ef560884e5"


@pytest.mark.parametrize("n", sorted(KNOWN_ROOTS))
def test_roots_already_recorded_never_change(n):
    assert MerkleTree(keys(n)).root == KNOWN_ROOTS[n]


def test_proofs_already_issued_never_change():
    tree = MerkleTree(keys(9))
    assert tree.prove(tree.leaves[3]).to_dict() == {
        "kind": "inclusion", "index": 3, "tree_size": 9, "root": NINE_ROOT,
        "leaf": "75d66d436cfdfe8d0eaa8c6ddcf1b1f2a5a0a9e62c311c3a83d965323d28c6f7:LIC-1",
        "path": ["d21bd41ba437ed04d1e97f9727f6ab5308b9cb205c9f54403fe025e2581b9b3f",
                 "efa42b499ff88be041f5269d9599eac80d2a938d154a482500f2a45dab6f6258",
                 "705ead9f5c0d20f37b1c1b17ee4776e8e9363155b2609eb0c13a112ea5e5a5f6",
                 "e412c887fd858543bdc0044a8badef95b75a3693e850f41a7a455bfa19ba5805"]}
    assert tree.prove_absent(hashlib.sha256(b"zzz").hexdigest()).to_dict() == {
        "kind": "non-membership", "tree_size": 9, "root": NINE_ROOT, "predecessor": None,
        "asset_sha256": "17f165d5a5ba695f27c023a83aa2b3463e23810e360b7517127e90161eebabda",
        "successor": {
            "kind": "inclusion", "index": 0, "tree_size": 9, "root": NINE_ROOT,
            "leaf": "1c49a083a74ed4445c804cc9cb9ab63d9be7d9451073ab200bc41a2c7131afbb:LIC-1",
            "path": ["b6f5929241a697bf9d822de23ef9936cda9def678f404e61aa46c9088faf5056",
                     "b5c49a571482e14d43491e168890ca5530833ff11a855df5098445c2443c4f1d",
                     "705ead9f5c0d20f37b1c1b17ee4776e8e9363155b2609eb0c13a112ea5e5a5f6",
                     "e412c887fd858543bdc0044a8badef95b75a3693e850f41a7a455bfa19ba5805"]}}
    big = MerkleTree(keys(600))
    issued = json.dumps(big.prove(big.leaves[300]).to_dict()).encode()
    assert hashlib.sha256(issued).hexdigest() == "16038ae8fb75a888c94a9b0bef70bca9eadf368d57431fb9e270c82068dadc0d"


def test_roots_of_the_published_rfc6962_reference_tree():
    """The training-set tree over the certificate-transparency reference leaves (sorted and
    unique already, so sorting keeps their order) has the published root at every size."""
    assert RFC_LEAVES == sorted(set(RFC_LEAVES))
    for size, root in enumerate(RFC["roots"]):
        assert MerkleTree(RFC_LEAVES[:size]).root == root


@pytest.mark.parametrize("vector", RFC["inclusion_proofs"], ids=lambda v: f"{v['index']}@{v['tree_size']}")
def test_inclusion_proofs_are_the_published_rfc6962_paths(vector):
    size, index = vector["tree_size"], vector["index"]
    proof = MerkleTree(RFC_LEAVES[:size]).prove(RFC_LEAVES[index])
    assert (proof.index, proof.tree_size, list(proof.path)) == (index, size, vector["proof"])
    assert proof.root == RFC["roots"][size] and verify_inclusion(proof, RFC["roots"][size])
    assert not verify_inclusion(proof, RFC["roots"][size - 1])


@pytest.mark.parametrize("n", [*range(1, 40), 255, 256, 257, 300, 4097])
def test_roots_and_proofs_are_rfc6962s_on_both_sides_of_every_tier(n):
    """The tree keeps tiers of block roots; whatever the size, they change nothing."""
    tree = MerkleTree(keys(n))
    hashes = [rfc6962.leaf_hash(k.encode()) for k in tree.leaves]
    assert tree.root == rfc6962.root_of_leaf_hashes(hashes).hex()
    for index in sorted({0, 1, n // 3, n // 2, n - 2, n - 1} & set(range(n))):
        expected = [h.hex() for h in rfc6962.inclusion_proof(hashes, index)]
        assert list(tree.prove(tree.leaves[index]).path) == expected


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
