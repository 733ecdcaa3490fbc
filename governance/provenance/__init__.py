"""Provenance: what an output was made from, and what a revocation touches."""
