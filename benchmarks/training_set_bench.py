"""Training-set benchmark: a Merkle root over 100,000 assets and 1,000 proofs.

Baseline, measured in the same run: a bare hashlib loop that hashes the same leaves
(the least any tree over them must do). Run: .venv/bin/python benchmarks/training_set_bench.py
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from governance.registry.merkle import MerkleTree, leaf_key, verify_inclusion

N_ASSETS = 100_000
N_PROOFS = 1_000
ROUNDS = 5


def main() -> None:
    leaves = [leaf_key(hashlib.sha256(f"asset-{i}".encode()).hexdigest(), f"LIC-{i % 37}")
              for i in range(N_ASSETS)]
    rng = random.Random(1)
    picks = [leaves[rng.randrange(N_ASSETS)] for _ in range(N_PROOFS)]
    slate_s, base_s, proof_s = [], [], []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        tree = MerkleTree(leaves)
        t1 = time.perf_counter()
        proofs = [tree.prove(k) for k in picks]
        t2 = time.perf_counter()
        slate_s.append(t2 - t0)
        proof_s.append(t2 - t1)
        t0 = time.perf_counter()
        hashes = [hashlib.sha256(b"\x00" + k.encode()).digest() for k in sorted(leaves)]
        base_s.append(time.perf_counter() - t0)
    assert all(verify_inclusion(p, tree.root) for p in proofs) and len(hashes) == N_ASSETS
    slate_ms = statistics.median(slate_s) * 1000
    base_ms = statistics.median(base_s) * 1000
    print(f"Merkle root over {N_ASSETS:,} assets + {N_PROOFS:,} proofs: {slate_ms:8.1f} ms (median of {ROUNDS})")
    print(f"  of which {N_PROOFS:,} proofs:                          {statistics.median(proof_s) * 1000:8.1f} ms")
    print(f"bare hashlib loop over the same sorted leaves:        {base_ms:8.1f} ms")
    print(f"ratio: {slate_ms / base_ms:.2f}x (a tree hashes ~2x the nodes of its leaves)")
    print(json.dumps({"benchmark": "training_set", "assets": N_ASSETS, "proofs": N_PROOFS,
                      "median_ms": round(slate_ms, 2), "proofs_median_ms": round(statistics.median(proof_s) * 1000, 2),
                      "baseline_median_ms": round(base_ms, 2), "ratio": round(slate_ms / base_ms, 2)}))


if __name__ == "__main__":
    main()
