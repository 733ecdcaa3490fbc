"""Fixtures for content credentials: images made on the fly, a claim, an issuer and a verifier."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import click
import pytest
from PIL import Image

from governance.auth.users import add_user
from governance.cli import SlateContext, SlateGroup
from governance.cli.credentials import commands as credential_commands
from governance.cli.identity import commands as identity_commands
from governance.cli.ledger import commands as ledger_commands
from governance.credentials import Issuer, Verifier
from governance.settings import Settings

FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP"}


def make_image(media_type: str = "image/png", size: tuple[int, int] = (96, 64), seed: int = 7) -> bytes:
    image = Image.new("RGB", size)
    image.putdata([((x * 7 + seed) % 256, (y * 5) % 256, (x * y + seed) % 256)
                   for y in range(size[1]) for x in range(size[0])])
    buffer = io.BytesIO()
    image.save(buffer, FORMATS[media_type])
    return buffer.getvalue()


def png_chunks(data: bytes) -> Iterator[tuple[int, bytes, int]]:
    """(offset of the length field, chunk type, data length) for each PNG chunk."""
    offset = 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        yield offset, data[offset + 4:offset + 8], length
        offset += 12 + length


def flip(data: bytes, index: int) -> bytes:
    """``data`` with one byte changed, and any PNG chunk CRC around it recomputed so the
    damage is exactly one byte of content, not a broken container."""
    out = bytearray(data)
    out[index] ^= 0x01
    if data.startswith(b"\x89PNG"):
        for offset, kind, length in png_chunks(bytes(out)):
            start = offset + 8
            if start <= index < start + length:
                crc = zlib.crc32(kind + bytes(out[start:start + length])) & 0xFFFFFFFF
                out[start + length:start + length + 4] = struct.pack(">I", crc)
    return bytes(out)


CLAIM: dict[str, Any] = {
    "model_name": "slate-demo-sd",
    "model_version": "2.1.0",
    "weights_sha256": "1" * 64,
    "training_set_root": "2" * 64,
    "policy_uid": "studio-policy",
    "policy_version": "7",
    "policy_sha256": "3" * 64,
    "decision_id": "DEC-0001",
    "duties": ["Likeness of Ada Performer, courtesy of Example Talent"],
    "approver": "Grace Approver",
    "request_id": "REQ-UNIQUE-7Q",
    "job_id": "JOB-0001",
    "prompt_sha256": "4" * 64,
    "training_mining": "notAllowed",
    "references": [("moodboard.png", "5" * 64)],
}


@pytest.fixture
def claim() -> dict[str, Any]:
    return {**CLAIM, "duties": list(CLAIM["duties"]), "references": list(CLAIM["references"])}


@pytest.fixture
def db(db: Settings) -> Settings:
    """The migrated database, where the claim's approver is a user with the approver role,
    so the Issuer can sign their approval with their identity certificate."""
    add_user(CLAIM["approver"], ["approver"])
    return db


@pytest.fixture
def offline(db: Settings) -> Settings:
    """Settings with timestamps off: fast, for tests that are not about time."""
    return replace(db, tsa_url="none")


@pytest.fixture
def issuer(offline: Settings) -> Iterator[Issuer]:
    with Issuer(offline) as issuer:
        yield issuer


@pytest.fixture
def verifier(offline: Settings) -> Verifier:
    return Verifier(offline)


@pytest.fixture
def signed_png(issuer: Issuer, claim: dict[str, Any]) -> bytes:
    return issuer.sign(make_image(), claim).data


@pytest.fixture
def slate_cli(offline: Settings) -> Callable[..., click.testing.Result]:
    """Run this subsystem's commands as ``slate`` would, against the test's settings."""
    from click.testing import CliRunner

    @click.group(cls=SlateGroup)
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        ctx.obj = SlateContext(offline)

    for command in [*credential_commands, *ledger_commands, *identity_commands]:
        cli.add_command(command)

    def run(*args: str) -> click.testing.Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run
