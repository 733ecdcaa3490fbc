"""Worker keys and generation receipts for tests that sign: one helper, real keys, real signatures.

``receipt(token, job_id, image)`` is what a worker of ``token``'s generator user sends with
``image`` for ``job_id``: a receipt stating the job's recorded parameters and the image's
SHA-256, signed by that user's worker key, which is enrolled and approved (by an admin
principal of the tests) the first time the user signs in a database. Tests that need a
receipt that should be refused build it with ``make_receipt`` and ``WorkerKeyPair``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from governance.auth.users import authenticate
from governance.canonical import sha256_hex
from governance.errors import SlateError
from governance.jobs.tables import Job
from governance.lifecycle import params as generation
from governance.principal import Principal
from governance.workers import enrolment
from governance.workers.keyfile import WorkerKeyPair
from governance.workers.receipts import Receipt
from governance.workers.tables import WorkerKey

#: the admin who approves the tests' worker keys: a principal only (no user row, no token)
APPROVER = Principal(user_id=0, name="tests-key-admin", roles=frozenset({"admin"}))
LIBRARIES = {"torch": "2.13.0", "diffusers": "0.42.1"}
DEVICE = {"type": "cpu", "machine": "x86_64"}
_keys: dict[str, WorkerKeyPair] = {}


def key_of(user: str) -> WorkerKeyPair:
    """The worker key of ``user`` in this test process (one per user)."""
    if user not in _keys:
        _keys[user] = WorkerKeyPair.generate()
    return _keys[user]


def approve_key(who: Principal, key: WorkerKeyPair) -> int:
    """Enrol ``key`` for generator ``who`` and approve it, as the API does; returns its id."""
    view = enrolment.enrol(who, key.public_key, "tests")
    if view.status == enrolment.PENDING:
        enrolment.approve(view.id, APPROVER)
    return view.id


def enrolled_key_dir(token: str, folder: Path) -> str:
    """A worker folder holding a key enrolled and approved for ``token``'s user (for ``process_job``)."""
    key = WorkerKeyPair.load_or_create(folder)
    approve_key(authenticate(token), key)
    return str(folder)


def approved_key(token: str) -> WorkerKeyPair:
    """``token``'s user's key, enrolled and approved in this database; a stranger's key for a
    token that is no generator's (the call is refused for the token before any receipt)."""
    try:
        who = authenticate(token)
    except SlateError:
        return WorkerKeyPair.generate()
    if "generator" not in who.roles:
        return WorkerKeyPair.generate()
    key = key_of(who.name)
    if not WorkerKey.select().where(WorkerKey.key_id == key.key_id, WorkerKey.status == "approved").exists():
        approve_key(who, key)
    return key


def make_receipt(key: WorkerKeyPair, job_id: str, image: bytes, weights: str | None = None,
                 **overrides: Any) -> Receipt:
    """The receipt a worker with ``key`` makes for ``image`` of ``job_id`` as recorded (or defaults)."""
    job = Job.get_or_none(Job.id == job_id)
    params = generation.recorded(job.params if job else None)
    values: dict[str, Any] = {
        "job_id": job_id, "image_sha256": sha256_hex(image),
        "weights_sha256": weights or (job.request.model.weights_hash if job else "0" * 64),
        "seed": params["seed"], "scheduler": params["scheduler"], "steps": params["steps"],
        "width": params["width"], "height": params["height"], "libraries": LIBRARIES, "device": DEVICE,
        "key_id": key.key_id}
    return Receipt(**{**values, **overrides})


def receipt(token: str, job_id: str, image: bytes, **overrides: Any) -> str:
    """What ``token``'s worker sends with ``image`` for ``job_id``: its signed receipt, as text."""
    key = approved_key(token)
    return key.sign(make_receipt(key, job_id, image, **overrides)).text()
