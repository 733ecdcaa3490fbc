"""The demo studio the main command seeds: a production, people with consents, a licensed
reference plate, the studio's fact catalogue and policy reviewed and published, and one
user per role.

Idempotent: running it again changes nothing and issues fresh tokens only when asked.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from .auth import users
from .auth.tables import User
from .canonical import sha256_hex
from .catalogue import load_catalogue, published_catalogue
from .catalogue import versions as catalogue_versions
from .catalogue.tables import CatalogueVersion
from .clock import utcnow
from .credentials import policy_signatures
from .credentials.identities import IdentityStore
from .errors import Conflict
from .policy import versions
from .policy.tables import PolicyVersion
from .registry import assets, consents, licences, people
from .registry.documents import minimal_pdf
from .registry.tables import Licence, Person, Production
from .settings import Settings

PRODUCTION = "harbour-lights"
USERS = {
    "lee-legal": (["legal"], []),
    "lou-legal": (["legal"], []),
    "pat-producer": (["producer"], [PRODUCTION]),
    "ada-approver": (["approver"], []),
    "aud-auditor": (["auditor"], []),
    "root-admin": (["admin"], []),
    "gpu-worker": (["generator"], []),
}
REFERENCE_LICENCE = "LIC-NORTHLIGHT-PLATES"


@dataclass(frozen=True)
class DemoStudio:
    production: str
    reference_sha256: str
    tokens: dict[str, str]
    policy: str
    catalogue: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"production": self.production, "reference_sha256": self.reference_sha256,
                "policy": self.policy, "catalogue": self.catalogue, "tokens": self.tokens}


def plate_png(width: int = 128, height: int = 128) -> bytes:
    """A small harbour-at-dusk plate drawn in code: the demo's licensed reference image."""
    from PIL import Image, ImageDraw
    image = Image.new("RGB", (width, height), (20, 40, 70))
    draw = ImageDraw.Draw(image)
    horizon = int(height * 0.55)
    for y in range(horizon):
        draw.line([(0, y), (width, y)], fill=(40 + y, 50 + y // 2, 110 + y // 3))
    for x in range(0, width, 48):  # lit windows along the quay
        draw.rectangle([x, horizon, x + 15, int(height * 0.7)], fill=(200, 170, 90))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _consent_form(person: str, terms: str) -> bytes:
    """A demo consent form (unsigned PDF): the document a consent must come with."""
    return minimal_pdf([f"Consent to use of image and likeness: {person}",
                        f"Production: {PRODUCTION}. {terms}",
                        "Demo document made by Slate's demo seed; a studio keeps the signed original."])


def seed_registry(settings: Settings) -> str:
    """People, consents, the reference licence and plate; returns the plate's SHA-256.

    As in a studio: a producer's production, legal (lee) records the rights, and a second
    legal user (lou) confirms the consents that four eyes protect.
    """
    today = utcnow().date()
    year_start, year_end = date(today.year, 1, 1), date(today.year + 1, 12, 31)
    lee, lou = users.principal_named("lee-legal", "legal"), users.principal_named("lou-legal", "legal")
    store = consents.DocumentStore.from_settings(settings)
    if not Person.select().where(Person.name == "Mara Quinn").exists():
        people.add_person("Mara Quinn", productions=[PRODUCTION],
                          attributes=_declared("person", {"union_member": True}))
        granted = consents.grant_consent(
            "Mara Quinn", uses=["likeness", "reference"], productions=[PRODUCTION], territories=["WW"],
            valid_from=year_start, valid_until=year_end, by=lee, store=store,
            document=_consent_form("Mara Quinn", "Uses: likeness, reference. Worldwide."),
            attributes=_declared("consent", {"union_rider": "sag-aftra-2023"}),
            **replica_terms(year_start, "Mara Quinn's likeness as harbour pilot in previs, concept and final "
                                         "frames of this production, from her scan session."))
        consents.confirm_consent(granted["id"], by=lou, comment="demo: document reviewed")
    if not Person.select().where(Person.name == "Kit Young").exists():
        people.add_person("Kit Young", is_minor=True, guardian="Sam Young", productions=[PRODUCTION])
        granted = consents.grant_consent(
            "Kit Young", uses=["likeness"], productions=[PRODUCTION], territories=["GB"],
            valid_from=year_start, valid_until=year_start + timedelta(days=180), by=lee, store=store,
            document=_consent_form("Kit Young", "Uses: likeness. GB. Guardian: Sam Young (parent), not yet signed."),
            guardian_signed=False, guardian_name="Sam Young", guardian_relationship="parent",
            **replica_terms(year_start, "Kit Young's likeness as the ferry boy in concept frames of this production."))
        consents.confirm_consent(granted["id"], by=lou, comment="demo: reviewed; the guardian has not signed")
    if not Licence.select().where(Licence.ref == REFERENCE_LICENCE).exists():
        licences.add_licence(REFERENCE_LICENCE, "Northlight Archive",
                             grants=["ai_reference", "concept", "previs", "final_frame"], territories=["WW"],
                             starts_on=year_start, ends_on=year_end + timedelta(days=365),
                             attribution_required=True, credit_text="Background plates courtesy of Northlight Archive",
                             attributes=_declared("licence", {"projects": [PRODUCTION]}), by=lee)
    plate, _ = assets.register_asset(plate_png(), media_type="image/png", title="Harbour plate, dusk",
                                     source="Northlight Archive reel 12", licence=REFERENCE_LICENCE, by=lee)
    return str(plate["sha256"])


def replica_terms(starts: date, description: str) -> dict[str, Any]:
    """Performers' terms for a demo (or test) consent: an employment-based replica, the use in
    words, notice given three days before the consent starts (or before now, for one that
    starts later), which is enough for any request dated within the consent."""
    notice = min(datetime.combine(starts, time(), tzinfo=timezone.utc), utcnow()) - timedelta(days=3)
    return {"replica_type": "employment_based", "use_description": description, "notice_given_at": notice}


def _declared(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """The demo's contract terms that the published catalogue declares (none without one)."""
    catalogue = published_catalogue()
    return {name: value for name, value in values.items() if catalogue.attribute(kind, name) is not None}


def seed_catalogue(catalogue_file: Path) -> str:
    """The studio's fact catalogue, drafted by legal, approved by the admin, published."""
    if not catalogue_file.is_file():
        return "(none)"
    data = catalogue_file.read_bytes()
    version = load_catalogue(data, str(catalogue_file)).version
    lee, admin = users.principal_named("lee-legal", "legal"), users.principal_named("root-admin", "admin")
    if not CatalogueVersion.select().where(CatalogueVersion.version == version).exists():
        catalogue_versions.draft_version(data, lee, str(catalogue_file))
    if catalogue_versions.get_version(version).status == "draft":
        catalogue_versions.approve_version(version, admin, "demo: reviewed")
    if catalogue_versions.get_version(version).status == "approved":
        versions.publish_catalogue(version, lee)
    return f"version {version} ({catalogue_versions.get_version(version).status})"


def seed_production() -> None:
    if not Production.select().where(Production.name == PRODUCTION).exists():
        people.add_production(PRODUCTION, "Harbour Lights (feature, 2027)")


def seed_users(settings: Settings) -> None:
    identities = IdentityStore(settings)
    for name, (roles, productions) in USERS.items():
        if not User.select().where(User.name == name).exists():
            users.add_user(name, roles, productions)
            identities.enrol_if_eligible(name)  # approvers and legal get their identity certificate


def seed_policy(policy_file: Path, settings: Settings) -> str:
    """The studio policy, written by one legal user, approved by another, published."""
    data = policy_file.read_bytes()
    from .policy.loader import load_policy
    policy = load_policy(data, str(policy_file))
    row = PolicyVersion.get_or_none(PolicyVersion.uid == policy.uid, PolicyVersion.version == policy.version)
    if row is None:
        versions.add_version(data, "lee-legal", str(policy_file))
        row = PolicyVersion.get(PolicyVersion.uid == policy.uid, PolicyVersion.version == policy.version)
    ref = f"{row.uid}@{row.version}"
    if row.status == "draft":
        policy_signatures.approve_and_sign(settings, ref, "lou-legal", "demo: reviewed")
        row = PolicyVersion.get_by_id(row.id)
    if row.status == "approved":
        versions.publish_version(ref, "lee-legal")
        row = PolicyVersion.get_by_id(row.id)
    # a file edited under a version the database already holds: the stored text stays in force
    differs = "" if row.sha256 == sha256_hex(data) else \
        f"; {policy_file.name} differs from it: give the file a new version to add and publish it"
    return f"{ref} ({row.status}{differs})"


def issue_tokens(days: int = 30) -> dict[str, str]:
    return {name: users.issue_token(name, label="demo", expires_in=timedelta(days=days))["token"]
            for name in USERS}


def seed(policy_file: Path, settings: Settings, *, with_tokens: bool = True) -> DemoStudio:
    seed_production()
    seed_users(settings)
    try:
        catalogue = seed_catalogue(policy_file.parent / "catalogue.yaml")
    except Conflict:
        catalogue = "(a later version is recorded)"
    plate = seed_registry(settings)
    try:
        policy = seed_policy(policy_file, settings)
    except Conflict:
        policy = "(another version is published)"
    return DemoStudio(PRODUCTION, plate, issue_tokens() if with_tokens else {}, policy, catalogue)


