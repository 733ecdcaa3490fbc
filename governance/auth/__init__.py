"""Users, roles and API tokens.

Tokens are shown once, at creation, and stored only as SHA-256 hashes (they are 256-bit
random strings, so a fast hash is enough). A token never appears in a log, an error or a
response after the one that creates it.
"""
