"""Work taken off the signing path: the output's digest must always be of the final bytes."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable

import c2pa
import pytest

from governance.credentials import Issuer, SigningClaim, c2pa_config, manifest
from governance.credentials.offload import HashingDestination, Offload

from .conftest import CLAIM, make_image


def test_the_digest_is_taken_from_the_snapshot_when_nothing_is_written_after_it() -> None:
    offload = Offload("test")
    destination = HashingDestination(offload)
    for part in (b"header", b"x" * 100_000, b"trailer"):
        destination.write(part)
    destination.seek(0)  # the first seek after writing starts the background digest
    destination.read()
    data, digest = destination.signed()
    assert data == b"header" + b"x" * 100_000 + b"trailer"
    assert digest == hashlib.sha256(data).hexdigest()
    offload.close()


def _patch_in_place(destination: HashingDestination) -> None:
    destination.seek(10)
    destination.write(b"PATCHED")  # a library patching the file after rewinding it
    destination.seek(0, io.SEEK_END)
    destination.write(b"tail")


def _truncate(destination: HashingDestination) -> None:
    destination.seek(0)
    destination.truncate(100)


@pytest.mark.parametrize("change", [_patch_in_place, _truncate])
def test_a_change_after_the_snapshot_discards_it(change: Callable[[HashingDestination], None]) -> None:
    offload = Offload("test")
    destination = HashingDestination(offload)
    destination.write(b"a" * 50_000)
    change(destination)
    data, digest = destination.signed()
    assert data != b"a" * 50_000
    assert digest == hashlib.sha256(data).hexdigest()
    offload.close()


def test_without_any_seek_the_digest_is_taken_at_the_end() -> None:
    destination = HashingDestination(Offload("test"))
    destination.write(b"only writes")
    assert destination.signed() == (b"only writes", hashlib.sha256(b"only writes").hexdigest())


def test_c2pa_writes_the_signed_file_in_one_pass_before_verifying_it(issuer: Issuer) -> None:
    # What makes the background digest pay: if a c2pa upgrade patches the file after
    # rewinding, signing stays correct (the digest is retaken) but loses ~1 ms per
    # 1024x1024 image; this test says so before the benchmark does.
    issuer.keys.ensure()
    _, library_signer = issuer._signer()
    destination = HashingDestination(issuer._offload)
    definition = manifest.definition(SigningClaim.from_dict(CLAIM), label=manifest.new_label(), title="JOB-0001.png")
    context = c2pa_config.context(c2pa_config.signing_settings(issuer.keys.trust_anchors_pem()))
    c2pa.Builder(definition, context=context).sign(library_signer.native, "image/png",
                                                   io.BytesIO(make_image(size=(300, 300))), destination)
    assert destination._digest is not None and destination._snapshot_writes == destination._writes
    data, digest = destination.signed()
    assert digest == hashlib.sha256(data).hexdigest()


def test_a_forked_child_gets_its_own_thread() -> None:
    offload = Offload("test")
    assert offload.submit(threading.get_ident).result(timeout=5) != threading.get_ident()
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool has no thread here
        ok = False
        try:
            ok = offload.submit(pow, 6, 2).result(timeout=5) == 36
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    offload.close()
