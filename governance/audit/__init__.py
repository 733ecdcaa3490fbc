"""The tamper-evident audit log.

Every state change appends an entry in the same transaction as the change. Entries are
hash-chained (each names the hash of the one before), and checkpoints sign the Merkle
root (RFC 6962, as in certificate-transparency logs) over all entry hashes so far. An
edited, deleted, reordered or inserted entry breaks the chain or a signed checkpoint;
``verify`` names the first bad entry. An export holds everything needed to verify the
log without Slate's database.
"""
