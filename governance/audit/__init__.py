"""The tamper-evident audit log.

Every state change appends an entry in the same transaction as the change. Entries are
hash-chained (each names the hash of the one before), and checkpoints sign the Merkle
root (RFC 6962, as in certificate-transparency logs; ``governance.rfc6962``) over all
entry hashes so far. An edited, deleted, reordered or inserted entry breaks the chain or
a signed checkpoint; ``verify`` names the first bad entry. An export holds everything
needed to verify the log without Slate's database.

Trust never comes from the database the log protects: a checkpoint counts only if its
signer's certificate chains to the trust anchors on disk (``trust``). Someone with
database access can still recompute the chain and drop the stored checkpoints, so an
auditor keeps a checkpoint (or an export) outside Slate; a consistency proof from it to
the newest checkpoint (``consistency``) then exposes any truncation or rewrite.

Modules: ``log`` (append, checkpoint, export, verify), ``checkpoints`` (the signed
checkpoint value and file), ``trust`` (trust anchors), ``consistency`` (kept evidence
and consistency proofs). ``slate audit`` is ``governance.cli.audit``.
"""
