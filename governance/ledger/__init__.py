"""The ledger of signed outputs: what Slate issued, under which decision, with which key.

Written only by credential issuance (in the signing transaction); read by verification,
provenance search and revocation.
"""

from .records import LedgerEntry, find_by_label, find_by_sha256, recent, record_output

__all__ = ["LedgerEntry", "find_by_label", "find_by_sha256", "recent", "record_output"]
