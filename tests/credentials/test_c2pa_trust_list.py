"""Verifying against a C2PA trust list the user supplies, reported apart from "issued by Slate".

The third-party files are c2pa-rs's own (``shared/c2pa-fixtures``); the roots are from
c2pa-rs's test trust bundle (``c2pa_trust/README.md``): the root their chain ends at, and
another root with the very same name and another key.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest

from governance.credentials import Issuer, Verifier
from governance.credentials.trust_list import TrustList
from governance.errors import ConfigurationError
from governance.settings import Settings
from tests.conftest import C2PA_FIXTURES

from .conftest import make_image

ROOTS = Path(__file__).parent / "c2pa_trust"
FIXTURE_ROOT = ROOTS / "c2pa-rs-test-root.pem"
SAME_NAME_OTHER_KEY = ROOTS / "c2pa-rs-other-root.pem"


def listed(settings: Settings, trust_list: Path) -> Verifier:
    return Verifier(replace(settings, c2pa_trust_list=trust_list))


@pytest.mark.parametrize("name", ["C.jpg", "CA.jpg"])
def test_a_third_party_file_is_trusted_by_a_list_holding_its_root_and_still_not_issued_by_slate(
        offline: Settings, name: str) -> None:
    verdict = listed(offline, FIXTURE_ROOT).verify_file(C2PA_FIXTURES / name)

    assert verdict.c2pa_trust_list.ok, verdict.c2pa_trust_list
    assert verdict.c2pa_trust_list.reasons[0].startswith("trusted by the C2PA trust list c2pa-rs-test-root.pem")
    assert "'C2PA Signer'" in verdict.c2pa_trust_list.reasons[0]
    assert verdict.outcome == "untrusted" and not verdict.trust.ok and verdict.issuance.status == "not_checked"
    assert "trusted by the C2PA trust list, but not issued by Slate" in verdict.summary


@pytest.mark.parametrize("trust_list", [SAME_NAME_OTHER_KEY, "slate-anchors"])
def test_a_list_without_the_signers_root_does_not_trust_it(offline: Settings, issuer: Issuer,
                                                           trust_list: Path | str) -> None:
    if trust_list == "slate-anchors":
        issuer.keys.ensure()
        trust_list = offline.keys_dir / "trust-anchors.pem"
    assert isinstance(trust_list, Path)

    verdict = listed(offline, trust_list).verify_file(C2PA_FIXTURES / "C.jpg")

    assert verdict.c2pa_trust_list.status == "fail"
    assert verdict.c2pa_trust_list.reasons[0].startswith(f"not trusted by the C2PA trust list {trust_list.name}")
    assert "the signing certificate does not chain to any root on the list" in verdict.c2pa_trust_list.reasons
    assert verdict.c2pa_trust_list.codes == ("signingCredential.untrusted",)
    assert "not signed by Slate" in verdict.summary


def test_a_tampered_file_is_tampered_whatever_the_list_says(offline: Settings) -> None:
    verdict = listed(offline, FIXTURE_ROOT).verify_file(C2PA_FIXTURES / "XCA.jpg")

    assert verdict.outcome == "tampered"
    assert verdict.c2pa_trust_list.ok  # the signer is on the list; the bytes are still not what it signed


def test_slates_own_output_is_issued_by_slate_and_trusted_only_by_a_list_holding_slates_root(
        offline: Settings, signed_png: bytes) -> None:
    foreign = listed(offline, FIXTURE_ROOT).verify_bytes(signed_png)
    own = listed(offline, offline.keys_dir / "trust-anchors.pem").verify_bytes(signed_png)

    assert foreign.outcome == own.outcome == "verified"
    assert foreign.c2pa_trust_list.status == "fail" and own.c2pa_trust_list.ok


def test_without_a_list_nothing_is_checked_and_nothing_is_read_twice(verifier: Verifier) -> None:
    verdict = verifier.verify_file(C2PA_FIXTURES / "C.jpg")

    assert verdict.c2pa_trust_list.status == "not_checked"
    assert "no C2PA trust list was given" in verdict.c2pa_trust_list.reasons[0]
    assert verdict.to_dict()["c2pa_trust_list"]["status"] == "not_checked"


def test_files_without_credentials_are_not_judged_by_the_list(offline: Settings) -> None:
    verdict = listed(offline, FIXTURE_ROOT).verify_file(C2PA_FIXTURES / "no_manifest.jpg")

    assert verdict.outcome == "no_credentials" and verdict.c2pa_trust_list.status == "not_checked"


def test_the_list_is_read_offline(tmp_path: Path) -> None:
    settings = TrustList.load(FIXTURE_ROOT).settings()

    assert settings["verify"]["ocsp_fetch"] is False
    assert settings["verify"]["remote_manifest_fetch"] is False
    assert settings["trust"] == {"user_anchors": FIXTURE_ROOT.read_text()}


@pytest.mark.parametrize("content, words", [(None, "cannot be read"), (b"", "holds no PEM certificate"),
                                            (b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
                                             "holds no PEM certificate")])
def test_an_unusable_list_is_a_configuration_error_naming_the_file(offline: Settings, tmp_path: Path,
                                                                   content: bytes | None, words: str) -> None:
    path = tmp_path / "list.pem"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(ConfigurationError, match=words) as raised:
        listed(offline, path)

    assert str(path) in raised.value.message


def test_the_setting_names_a_list_file(tmp_path: Path) -> None:
    settings = Settings.from_env({"SLATE_HOME": str(tmp_path), "SLATE_C2PA_TRUST_LIST": str(FIXTURE_ROOT)})

    assert settings.c2pa_trust_list == FIXTURE_ROOT.resolve()
    assert Settings.from_env({"SLATE_HOME": str(tmp_path)}).c2pa_trust_list is None


def test_slate_verify_reports_the_list_apart_from_slates_verdict(slate_cli: Callable[..., Any]) -> None:
    text = slate_cli("verify", str(C2PA_FIXTURES / "C.jpg"), "--c2pa-trust-list", str(FIXTURE_ROOT))
    as_json = json.loads(slate_cli("verify", str(C2PA_FIXTURES / "C.jpg"), "--c2pa-trust-list",
                                   str(SAME_NAME_OTHER_KEY), "--json").output)

    assert text.exit_code == 1  # not Slate's: the exit code is Slate's answer
    assert "UNTRUSTED" in text.output
    assert "  c2pa list pass" in text.output and "trusted by the C2PA trust list c2pa-rs-test-root.pem" in text.output
    assert as_json["outcome"] == "untrusted"
    assert as_json["c2pa_trust_list"]["status"] == "fail"
    assert "c2pa list" not in slate_cli("verify", str(C2PA_FIXTURES / "C.jpg")).output


def test_signing_is_unchanged_by_a_configured_list(offline: Settings, claim: dict[str, Any]) -> None:
    with Issuer(replace(offline, c2pa_trust_list=FIXTURE_ROOT)) as issuer:
        out = issuer.sign(make_image(), claim)

    assert Verifier(offline).verify_bytes(out.data).outcome == "verified"
