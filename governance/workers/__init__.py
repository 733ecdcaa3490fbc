"""Generator workers' own keys and the receipts they sign for each image.

A worker holds an Ed25519 key pair it made itself (``keyfile``); its public key is
enrolled for the worker's generator user and approved by an admin (``enrolment``). Every
image sent for signing comes with a receipt of how it was made, signed by that key
(``receipts``): Slate signs only what an approved worker key vouches for, so an API token
alone cannot get a credential.

``receipts`` and ``keyfile`` are plain values and cryptography (the worker imports them);
``enrolment`` and ``tables`` hold the records.
"""
