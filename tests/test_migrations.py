"""Migrations, on SQLite and PostgreSQL: each step builds the schema its shipped code built,
a fresh database is exactly what today's models declare, and a database at any earlier
version, with a studio's data in it, upgrades to head with that data intact and readable
and its audit log still verifying. Also Slate's one datetime convention (aware UTC in
Python, naive UTC stored), which step 12 brought every older row into."""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import peewee
import pytest
from playhouse import db_url

import governance
from governance import migrations
from governance.db import (
    BaseModel,
    close_database,
    database,
    open_database,
    transaction,
)
from governance.errors import ConfigurationError
from governance.fields import UTCDateTimeField
from governance.migrations import STEPS, SchemaVersion, Step, current_version, migrate
from tests.schema import describe, dialect, differences, recorded

DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
HEAD = STEPS[-1].version
VERSIONS = [s.version for s in STEPS]
#: the versions whose schema ``tests/schema/record.py`` recorded from the code that shipped them
RECORDED = range(1, 12)
MIGRATIONS = Path(migrations.__file__).parent
#: what step 14 added: the catalogue's tables, and columns on tables that were there before
STEP_14_TABLES = ("catalogue_version", "catalogue_review")
STEP_14_COLUMNS = {**{t: ("attributes",) for t in ("licence", "consent", "person", "asset", "production")},
                   "user": ("attributes", "department")}
#: what step 17 added: the enrolled worker keys (and columns it adds only where missing)
STEP_17_TABLES = ("worker_key",)
#: what step 18 added: the reproduction audits' results
STEP_18_TABLES = ("reproduction",)
#: what step 19 added: outputs sampled for a reproduction on another worker
STEP_19_TABLES = ("reproduction_sample",)
#: what step 20 added: assets' fingerprints, the watchlist, productions' look references
STEP_20_TABLES = ("asset_fingerprint", "watchlist_entry", "look_reference")
#: what step 21 added: the decision on each generated image before signing
STEP_21_TABLES = ("output_review", "person_face")
#: what step 22 added: outputs' soft bindings and the manifest repository
STEP_22_TABLES = ("output_binding", "manifest_store")
#: what step 23 added: people's identity certificates (approvers' own signing keys)
STEP_23_TABLES = ("identity_certificate", "policy_approval_signature")
#: what step 24 added: base models (which today's model table refers to) and assets' manifest stores
STEP_24_TABLES = ("base_model", "asset_manifest")
#: what step 26 added: training runs (and model.attested, model.training_run_id, only where missing)
STEP_26_TABLES = ("training_run",)
#: what step 25 added: each training set's clearance
STEP_25_TABLES = ("training_clearance",)
#: what step 28 added: use counters and reservations, use events, production budgets
STEP_28_TABLES = ("usage_counter", "usage_reservation", "use_event", "production_budget")
#: what step 29 added: the requests awaiting sign-offs (the approval queue)
STEP_29_TABLES = ("awaiting_approval",)
#: what step 30 added: credits owed per production (and generation_request.resubmission_of)
STEP_30_TABLES = ("credit_tally",)
#: what step 31 added: legal's test cases kept in the database
STEP_31_TABLES = ("policy_test_case",)
#: what step 33 added: the assets a request named as a reference (output review's origin)
STEP_33_TABLES = ("referenced_asset",)

NewDatabase = Callable[[], str]


# ---------------------------------------------------------------- databases and schemas

@pytest.fixture(params=DIALECTS)
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> NewDatabase:
    """Makes empty databases of one dialect and returns their URLs."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_server").create_database  # type: ignore[no-any-return]
    made = iter(range(100))
    return lambda: f"sqlite:///{tmp_path}/db{next(made)}.sqlite"


@pytest.fixture
def empty(new_database: NewDatabase) -> Iterator[NewDatabase]:
    """An empty database opened as Slate's; yields the maker for any second database."""
    open_database(new_database())
    try:
        yield new_database
    finally:
        close_database()


def today_models() -> list[type[BaseModel]]:
    """Every model of today's code: each subsystem's ``tables`` module, and schema_version."""
    for info in pkgutil.iter_modules(governance.__path__):
        if info.ispkg and (Path(governance.__path__[0]) / info.name / "tables.py").exists():
            importlib.import_module(f"governance.{info.name}.tables")
    found, stack = [], list(BaseModel.__subclasses__())
    while stack:
        model = stack.pop()
        found.append(model)
        stack.extend(model.__subclasses__())
    return sorted(found, key=lambda m: m._meta.table_name)


_DECLARED: dict[str, dict[str, Any]] = {}


def declared_schema(new_database: NewDatabase) -> dict[str, Any]:
    """The schema today's models create (``create_tables``) on the open database's dialect,
    in a database of its own; built once per dialect."""
    kind = dialect(database.obj)
    if kind not in _DECLARED:
        db = db_url.connect(new_database())
        models = today_models()
        with db.bind_ctx(models):
            db.create_tables(models)
        _DECLARED[kind] = describe(db)
        db.close()
    return _DECLARED[kind]


def test_each_step_builds_exactly_the_schema_the_code_that_shipped_it_built(empty):
    for version in RECORDED:
        migrate(target=version)
        assert differences(describe(database.obj), recorded(version, dialect(database.obj))) == [], version


def test_a_fresh_database_has_exactly_the_schema_todays_models_declare(empty):
    assert [s.version for s in migrate()] == VERSIONS
    assert differences(describe(database.obj), declared_schema(empty)) == []


def test_a_database_the_previous_code_created_fresh_is_at_11_and_upgrades_to_the_same_schema(empty):
    """Until this package, step 1 and step 6 created the models of the day, so a database
    first made by that code (c3118e7 to f3d22db) has every column of steps 10 and 11 already,
    without their DDL defaults. Today's models, less what step 14 added, still create exactly
    that (checked first)."""
    models = [m for m in today_models() if m._meta.table_name not in STEP_14_TABLES + STEP_17_TABLES + STEP_18_TABLES
              + STEP_19_TABLES + STEP_20_TABLES + STEP_21_TABLES + STEP_22_TABLES + STEP_23_TABLES + STEP_25_TABLES
              + ("asset_manifest",) + STEP_26_TABLES + STEP_28_TABLES + STEP_29_TABLES + STEP_30_TABLES
              + STEP_31_TABLES + STEP_33_TABLES]
    database.create_tables(models)  # with base_model: the model table refers to it
    for table, columns in STEP_14_COLUMNS.items():
        for column in columns:
            database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    # and what later steps add, which they add only where it is missing (step 15: sign-offs;
    # step 16: a consent's credit terms, one job per request; step 17: an output's receipt;
    # step 24: a model's base, an asset's credentials; step 26: whether a model is attested;
    # step 27: performers' terms on a consent, a person's date of death;
    # step 28: a consent's and a licence's compensation and use cap; step 29: sign-offs unique per
    # decision; step 30: a request's resubmission_of;
    # step 31: a policy version's rollback_of; step 32: the indexes auditors browse the log by, and
    # outputs by lost standing; step 34: a checkpoint's frontier; step 35: a person's first name word)
    later = {("asset", "library:"), ("consent", "document_stored:"), ("consent", "status:"),
             ("approval", "rules:"), ("approval", "approval_request_id_decision_id_approver:"),
             ("consent", "credit_text:"), ("consent", "attribution_required:"),
             ("consent", "output_uses:"), ("job", "job_request_id:"),
             ("output", "receipt:"), ("output", "receipt_sha256:"),
             ("model", "base_id:"), ("model", "model_base_id:"), ("model", "keys:"),
             ("asset", "credential_state:"), ("asset", "credential_signer:"), ("asset", "training_mining:"),
             ("model", "attested:"), ("model", "training_run_id:"),
             ("consent", "compensation:"), ("consent", "max_uses:"), ("licence", "compensation:"),
             ("licence", "max_uses:"),
             ("consent", "replica_type:"), ("consent", "use_description:"), ("consent", "notice_given_at:"),
             ("consent", "estate_consent:"), ("consent", "estate_representative:"), ("person", "deceased_on:"),
             ("generation_request", "resubmission_of:"), ("generation_request", "generation_request_resubmission_of:"),
             ("policy_version", "rollback_of:"),
             ("audit_entry", "audit_entry_actor_seq:"), ("audit_entry", "audit_entry_subject_seq:"),
             ("audit_entry", "audit_entry_action_seq:"), ("audit_entry", "audit_entry_at_seq:"),
             ("output", "output_standing_changed:"), ("audit_checkpoint", "frontier:"),
             ("person", "name_first:"), ("person", "person_name_first:")}
    assert {tuple(line.split()[0:3:2]) for line in differences(describe(database.obj, exclude=STEP_24_TABLES),
                                                               recorded(11, dialect(database.obj)))} == later
    SchemaVersion.insert_many([{"version": v, "description": f"step {v}", "applied_at": datetime.now(timezone.utc)}
                               for v in range(1, 12)]).execute()
    assert current_version() == 11
    assert [s.version for s in migrate()] == [v for v in VERSIONS if v > 11]
    assert differences(describe(database.obj), declared_schema(empty)) == []


def test_a_failing_step_leaves_the_database_at_the_version_before_it(empty, monkeypatch):
    migrate(target=VERSIONS[-2])
    real = STEPS[-1]

    def half_then_fail() -> None:
        real.apply()
        raise RuntimeError("the disk filled up")
    monkeypatch.setattr(migrations, "STEPS", [*STEPS[:-1], Step(real.version, real.description, half_then_fail)])
    before = describe(database.obj)
    with pytest.raises(RuntimeError):
        migrate()
    assert current_version() == VERSIONS[-2] and describe(database.obj) == before


# ---------------------------------------------------------------- frozen steps

ALLOWED_IMPORTS = {"__future__", "datetime", "hashlib", "json", "re", "typing", "peewee", "playhouse.migrate"}
ALLOWED_OWN = {"..db": {"database"}, "..errors": {"ConfigurationError"}, ".frozen": None}


def step_modules() -> list[Path]:
    return sorted(p for p in MIGRATIONS.glob("v[0-9][0-9]_*.py"))


def test_steps_are_one_module_each_in_order_with_a_docstring_saying_why():
    modules = step_modules()
    numbered = [int(p.name[1:3]) for p in modules]
    assert VERSIONS == numbered == list(range(1, HEAD + 1))
    for path in modules:
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc and "Why" in doc, f"{path.name} does not say why the step exists"


@pytest.mark.parametrize("path", [*step_modules(), MIGRATIONS / "frozen.py"], ids=lambda p: p.name)
def test_no_step_imports_todays_models_or_domain_code(path: Path):
    """What a step does must not change when the models or the domain code do."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= ALLOWED_IMPORTS, f"{path.name}: import {node.names[0].name}"
        elif isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            if node.level == 0:
                assert source in ALLOWED_IMPORTS, f"{path.name}: from {source} import ..."
            else:
                assert source in ALLOWED_OWN, f"{path.name}: from {source} import ..."
                names = ALLOWED_OWN[source]
                assert names is None or {a.name for a in node.names} <= names, f"{path.name}: from {source}"


# ---------------------------------------------------------------- the studio at version v

A, B = "a1" * 32, "b2" * 32  # the reference plate and a library still
C = "c3" * 32  # a producer's upload no rule of step 10 places: left as it was
OUTPUT = "0f" * 32
T = datetime(2026, 6, 1, 10, 0, 0, tzinfo=timezone.utc)
#: a time with microseconds, as ``utcnow()`` handed the policy tables
T_POLICY = datetime(2026, 6, 1, 9, 30, 15, 250000, tzinfo=timezone.utc)
PROMPT = "a quay at dusk"
#: the zone a PostgreSQL server of an older studio ran in (step 12 moves its aware writes to UTC)
SERVER_ZONE = "America/New_York"


def _sql(text: str, *params: object) -> list[tuple[Any, ...]]:
    cursor = database.execute_sql(text.replace("?", database.obj.param), params)
    return cursor.fetchall() if cursor.description else []


def _insert(table: str, **values: object) -> None:
    columns = ", ".join(f'"{c}"' for c in values)
    _sql(f'INSERT INTO "{table}" ({columns}) VALUES ({", ".join("?" * len(values))})', *values.values())


def _naive(moment: datetime) -> str:
    """A time as Slate's UTCDateTimeField stored it: naive UTC text."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ")


def _as_written_aware(moment: datetime) -> object:
    """A time as a plain DateTimeField stored an aware value before step 12: SQLite kept the
    driver's text with its offset; PostgreSQL got a timestamptz and stored server-zone time."""
    return moment.isoformat(" ") if dialect(database.obj) == "sqlite" else moment


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


@dataclass
class Studio:
    """What was seeded, and the keys folder whose anchors the audit log is verified with."""

    version: int
    keys_dir: Path
    #: the key the seeded checkpoint was signed with, which the keys folder's anchors trust
    checkpoint_signer: Any = None


def seed(version: int, keys_dir: Path) -> Studio:
    """A studio's records as the code of ``version`` wrote them, in that version's schema."""
    from tests.audit.attacks import make_pki
    test_pki = make_pki(keys_dir.parent / "pki")
    keys_dir.mkdir(parents=True, exist_ok=True)
    (keys_dir / "trust-anchors.pem").write_text(test_pki.anchors_file.read_text())
    policy_time = _as_written_aware(T_POLICY) if version < 12 else _naive(T_POLICY)
    steps: list[tuple[int, Callable[[], None]]] = [
        (1, lambda: _registry(version)), (2, lambda: _policy(policy_time, version)),
        (3, lambda: _ledger(version, test_pki)), (4, _users), (5, lambda: _audit(test_pki)),
        (6, lambda: _jobs(version)), (7, _facets_as_signing_wrote),
        (9, lambda: _shared_facts(policy_time))]
    with transaction():
        for since, write in steps:
            if version >= since:
                write()
    return Studio(version, keys_dir, test_pki.signer)


def _registry(version: int) -> None:
    from governance.registry.merkle import MerkleTree, leaf_key
    now = _naive(T)
    for name, title in (("harbour-lights", "Harbour Lights"), ("northern-line", "")):
        _insert("production", name=name, title=title, created_at=now)
    first = (lambda word: {"name_first": word}) if version >= 35 else (lambda word: {})
    _insert("person", name="Mara Quinn", kind="performer", is_minor=False, guardian=None, created_at=now,
            **first("mara"))
    _insert("person", name="Kit Young", kind="performer", is_minor=True, guardian="Sam Young", created_at=now,
            **first("kit"))
    _insert("licence", ref="LIC-1", licensor="Northlight Archive", grants=_json(["previs"]),
            territories=_json(["WW"]), starts_on=date(2026, 1, 1), ends_on=None, attribution_required=True,
            credit_text="Courtesy Northlight", takedown=False, takedown_at=None, takedown_reason=None,
            created_at=now, version=1)
    owned = version >= 10  # step 10's columns, as the code of that version filled them
    for sha, title, production, library in ((A, "Harbour plate", 1, False), (B, "Quay still", None, True),
                                            (C, "Test shot", None, False)):
        extra = {"production_id": production, "library": library} if owned else {}
        _insert("asset", sha256=sha, media_type="image/png", title=title, source="", size_bytes=1024,
                licence_id=1, created_at=now, **extra)
    _insert("asset_person", asset_id=1, person_id=1)
    # the third, revoked, is a row step 10 leaves as it was
    for consent, (person, uses, guardian, recorded_by, status, revoked) in enumerate((
            (1, ["likeness", "voice"], None, "lee", "confirmed", None),
            (2, ["likeness"], "Sam Young", "pat", "pending", None),
            (1, ["voice"], None, "lee", "confirmed", now)), start=1):
        extra = ({"guardian_relationship": "parent" if guardian else None, "document_stored": False,
                  "recorded_by": recorded_by, "status": status, "confirmed_by": None, "confirmed_at": None}
                 if owned else {})
        _insert("consent", person_id=person, uses=_json(uses), productions=_json(["harbour-lights"]),
                territories=_json(["GB"]), valid_from=date(2026, 1, 1), valid_until=date(2026, 12, 31),
                guardian_signed=guardian is not None, guardian_name=guardian, document_sha256="ab" * 32,
                granted_at=now, revoked_at=revoked, revoked_reason="withdrawn" if revoked else None, version=1,
                **extra)
        _insert("consent_event", consent_id=consent, event="granted", at=now, reason=None, actor=recorded_by)
    if owned:
        for person in (1, 2):
            _insert("person_production", person_id=person, production_id=1)
    keys = sorted(leaf_key(sha, "LIC-1") for sha in (A, B))
    _insert("training_set", name="harbour-set", merkle_root=MerkleTree(keys).root, size=2, description="",
            created_at=now)
    for asset, sha in ((1, A), (2, B)):
        _insert("training_set_member", training_set_id=1, asset_id=asset, licence_id=1,
                leaf_key=leaf_key(sha, "LIC-1"))
    _insert("model", name="slate-studio", version="1", weights_hash="cd" * 32, base_model=None, training_set_id=1,
            status="approved", path=None, created_at=now, status_changed_at=now, status_reason=None,
            needs_retirement_review=False)


def _policy(at: object, version: int) -> None:
    text = "uid: studio-default\nversion: 1\n"
    _insert("policy_version", uid="studio-default", version=1, title="Studio default",
            sha256=hashlib.sha256(text.encode()).hexdigest(), text=text, author="lee", status="published",
            created_at=at, published_at=at, published_by="nia", superseded_at=None)
    _insert("policy_review", policy_version_id=1, reviewer="nia", verdict="approved", comment="", at=at)
    _insert("generation_request", requester="pat", production="harbour-lights", use="previs", territory="GB",
            request_date=date(2026, 6, 1), model_id=1, references=_json([A]), people=_json(["Mara Quinn"]),
            prompt=PROMPT, prompt_sha256=hashlib.sha256(PROMPT.encode()).hexdigest(), created_at=at)
    if version >= 33:  # from step 33 on, saving a request records the references it names
        _insert("referenced_asset", asset_sha256=A)
    _insert("decision", request_id=1, policy_version_id=1, outcome="needs_approval", violations=_json([]),
            # as the policy engine of every version wrote them (governance/policy/decision.py, 5d36d55 on)
            approvals=_json([{"rule": "likeness-needs-approval", "type": "approval",
                              "title": "Any use of a real person's likeness needs a named approver.",
                              "subject": "person:Mara Quinn",
                              "evidence": [{"path": "performer.depicted", "operator": "eq", "found": True,
                                            "required": True, "result": True}]}]),
            duties=_json([{"rule": "credit-reference-licensor", "action": "attribute",
                           "title": "Credit the licensor of each reference image.", "subject": f"asset:{A}",
                           "text": "Courtesy Northlight"}]), inputs_digest="ef" * 32,
            records=_json({"consents": [{"id": "1", "version": 1}], "licences": [{"id": "LIC-1", "version": 1}],
                           "models": [{"id": "slate-studio:1", "version": "1"}]}),
            facts=_json({"references": [{"asset": {"id": "1", "sha256": A}, "licence": {"id": "1"}}]}),
            created_at=at)


def _ledger(version: int, test_pki: Any) -> None:
    from governance.credentials import pki
    leaf = pki.load_certificates(test_pki.signer.certificate_chain_pem)[0]
    _insert("signing_key", fingerprint=pki.fingerprint(leaf), subject=leaf.subject.rfc4514_string(),
            issuer=leaf.issuer.rfc4514_string(), serial=format(leaf.serial_number, "x"),
            cert_pem=pki.certificate_pem(leaf), chain_pem=test_pki.signer.certificate_chain_pem,
            not_before=_naive(leaf.not_valid_before_utc), not_after=_naive(leaf.not_valid_after_utc),
            custody="file", status="active", created_at=_naive(T), retired_at=None, revoked_at=None,
            revocation_reason=None)
    claim = _json({"model": {"name": "slate-studio", "version": "1"}, "request_id": "1"})
    _insert("output", sha256=OUTPUT, manifest_label="urn:c2pa:slate-1", cert_fingerprint=pki.fingerprint(leaf),
            media_type="image/png", job_id="job-1", decision_id="1", request_id="1",
            # signing wrote the credential's NAME@VERSION until step 8
            model_ref="slate-studio@1" if version < 8 else "slate-studio:1",
            signed_at=_naive(T + timedelta(hours=1)), timestamped=True, file_path=None, claim_json=claim,
            claim_sha256=hashlib.sha256(claim.encode()).hexdigest(), in_good_standing=True, standing_reason=None,
            standing_changed_at=None)


def _users() -> None:
    for name, roles in (("lee", ["legal"]), ("nia", ["legal"]), ("pat", ["producer"]), ("sam", ["producer"])):
        _insert("user", name=name, roles=_json(roles), created_at=_naive(T), disabled_at=None)
    _insert("membership", user_id=3, production_id=1)
    _insert("api_token", user_id=3, token_sha256="9e" * 32, prefix="slt_pat", label="laptop", created_at=_naive(T),
            expires_at=None, revoked_at=None, last_used_at=None)


def _audit(test_pki: Any) -> None:
    """The entries the registry's changes logged, a signed checkpoint over them, one more."""
    from governance.audit import log
    for action, subject, actor in (("consent.granted", "consent:1", "lee"), ("consent.granted", "consent:2", "pat"),
                                   ("asset.registered", f"asset:{A}", "pat"),
                                   ("asset.registered", f"asset:{B}", "lee"),
                                   ("asset.registered", f"asset:{C}", "sam")):
        log.record(action, subject, {}, actor)
    _checkpoint_before_step_34(test_pki.signer)
    log.record("policy.published", "policy:studio-default@1", {"sha256": "x"}, "nia")


def _checkpoint_before_step_34(signer: Any) -> None:
    """A signed checkpoint over every entry, as the code before step 34 stored it: no frontier."""
    from governance.audit.checkpoints import checkpoint_body
    from governance.audit.log import merkle_root
    from governance.db import run_at_commit_work_now
    run_at_commit_work_now()  # the entries recorded in this transaction are appended as it commits
    hashes = [h for (h,) in _sql("SELECT entry_hash FROM audit_entry ORDER BY seq")]
    root, at = merkle_root(hashes), datetime.now(timezone.utc).replace(microsecond=0)
    _insert("audit_checkpoint", tree_size=len(hashes), root_hash=root, at=_naive(at),
            key_fingerprint=signer.fingerprint, certificate_chain_pem=signer.certificate_chain_pem,
            signature=signer.sign(checkpoint_body(len(hashes), root, at)).hex())


def _jobs(version: int) -> None:
    now = _naive(T)
    _insert("approval", request_id=1, decision_id=1, approver="lee", verdict="approved", comment="", at=now)
    _insert("request_params", request_id=1, params=_json({"seed": 7, "steps": 30}))
    lease = {"lease_expires_at": None} if version >= 11 else {}
    _insert("job", id="job-1", request_id=1, decision_id=1, approval_id=1, status="succeeded",
            params=_json({"seed": 7, "steps": 30}), attempts=1, failure_reason=None, output_sha256=OUTPUT,
            worker="gpu-1", environment=_json({"device": "cpu"}), created_at=now, updated_at=now, **lease)
    _insert("idempotency_record", scope="requests", principal="pat", key="k-1", body_sha256="77" * 32, status=201,
            response=_json({"id": 1}), created_at=now)


def expected_facets(approved: bool) -> set[tuple[str, str]]:
    """What the output is linked to (an approver only where the approval was recorded)."""
    facets = {("all", ""), ("model", "1"), ("training_set", "1"), ("outcome", "needs_approval"), ("consent", "1"),
              ("production", "harbour-lights"), ("asset", "1"), ("licence", "1"), ("person", "1")}
    return facets | ({("approver", "lee")} if approved else set())


def _facets_as_signing_wrote() -> None:
    for kind, value in sorted(expected_facets(approved=True)):
        _insert("output_facet", kind=kind, value=value, signed_at=_naive(T + timedelta(hours=1)), output_id=1)


def _shared_facts(at: object) -> None:
    facts = _json({"training_assets": [A, B]})
    _insert("shared_facts", sha256=hashlib.sha256(facts.encode()).hexdigest(), facts=facts, created_at=at)


# ---------------------------------------------------------------- the upgrade

@pytest.fixture
def old_studio(request: pytest.FixtureRequest, empty: NewDatabase, tmp_path: Path) -> Studio:
    version = request.param
    if dialect(database.obj) == "postgresql":
        database.execute_sql(f"SET TIME ZONE '{SERVER_ZONE}'")
    migrate(target=version)
    assert current_version() == version
    return seed(version, tmp_path / "keys")


@pytest.mark.parametrize("old_studio", [0, *VERSIONS[:-1]], indirect=True, ids=lambda v: f"from-v{v}")
def test_upgrade_to_head_from_every_earlier_version_keeps_the_data_and_the_log(old_studio: Studio, empty):
    v = old_studio.version
    assert [s.version for s in migrate()] == [s for s in VERSIONS if s > v]

    assert differences(describe(database.obj), declared_schema(empty)) == []
    if v >= 1:
        _registry_reads_back(v)
    if v >= 2:
        _policy_reads_back()
    if v >= 3:
        _ledger_reads_back(v)
    if v >= 6:
        _approval_reads_back_as_a_sign_off()
    if v >= 4:
        from governance.auth import users
        assert {u["name"]: u["productions"] for u in users.list_users()}["pat"] == ["harbour-lights"]
        # step 14: users stored before it have no department and no attributes
        assert {(u["department"], str(u["attributes"])) for u in users.list_users()} == {(None, "{}")}
    _audit_log_verifies(old_studio)


def _registry_reads_back(v: int) -> None:
    from governance.registry import (
        assets,
        consents,
        licences,
        models_registry,
        people,
        training_sets,
    )
    assert {p["name"] for p in people.list_people()} == {"Mara Quinn", "Kit Young"}
    # step 35: each name's first word, as prompts are read, finds it in a prompt
    from governance.policy.registry_facts import named_in_prompt
    from governance.registry.tables import Person
    assert {(p.name, p.name_first) for p in Person.select()} == {("Mara Quinn", "mara"), ("Kit Young", "kit")}
    assert named_in_prompt("KIT YOUNG on the quay", "harbour-lights") == ["Kit Young"]
    found = {c["person"]: c for c in consents.list_consents() if not c["revoked"]}
    # who recorded a consent is known from the audit log (step 5 on); a likeness consent with
    # no record of a legal user recording it, and any minor's, waits for legal (step 10)
    assert found["Mara Quinn"]["status"] == ("confirmed" if v >= 5 else "pending")
    assert found["Kit Young"]["status"] == "pending"
    assert all(c["document_stored"] is False and c["granted_at"] == T for c in consents.list_consents())
    assert [c["status"] for c in consents.list_consents(status="revoked")] == ["revoked"]
    placed = {a["sha256"]: (a["production"], a["library"]) for a in assets.list_assets()}
    # the plate belongs to the one production whose request used it (requests: step 2 on); an
    # upload by a producer of no production stays unplaced (who uploaded it: step 5 on)
    assert placed == {A: ("harbour-lights", False) if v >= 2 else (None, True), B: (None, True),
                      C: (None, False) if v >= 5 else (None, True)}
    assert {p["name"] for p in people.list_productions()} == {"harbour-lights", "northern-line"}
    assert [lic["ref"] for lic in licences.list_licences()] == ["LIC-1"]
    assert training_sets.prove("harbour-set", A)["training_set"] == "harbour-set"  # members match the root
    [model] = models_registry.list_models()
    # step 14: every record stored before it reads back with no attributes
    for rows in (people.list_people(), consents.list_consents(), assets.list_assets(), licences.list_licences(),
                 people.list_productions()):
        assert [r["attributes"] for r in rows] == [{}] * len(rows)
    assert model["ref"] == "slate-studio:1" and model["training_set"] == "harbour-set" and model["created_at"] == T
    # step 20: no bytes of an older asset are on record, so each is skipped by the index, saying why
    # (a database already at 20 was written here without registering assets' bytes: no rows)
    from governance.registry.tables import AssetFingerprint
    assert {(f.asset.sha256, f.status, f.descriptor) for f in AssetFingerprint.select()} == \
        ({(A, "skipped", None), (B, "skipped", None), (C, "skipped", None)} if v < 20 else set())
    assert {f.reason for f in AssetFingerprint.select()} == (
        {"registered before fingerprinting: re-register its bytes to fingerprint it"} if v < 20 else set())
    # step 24: no model links a registered base (its old free text decides), and no asset's
    # credentials were read: each says so (null), to be read when its bytes come again
    assert (model["base"], models_registry.get_model("slate-studio:1").base_id) == (None, None)
    assert {(a["sha256"], a["credentials"] is None) for a in assets.list_assets()} == {(A, True), (B, True), (C, True)}


def _policy_reads_back() -> None:
    from governance.lifecycle import requests as lifecycle
    from governance.policy import versions
    [policy] = versions.list_versions()
    shown = lifecycle.show_request(1, None).to_dict()  # the one path every reader takes
    assert shown["decision"]["decision"] == "needs_approval"
    assert [(f["rule"], f["subject"]) for f in shown["decision"]["approvals"]] == [
        ("likeness-needs-approval", "person:Mara Quinn")]
    assert shown["decision"]["credits"] == ["Courtesy Northlight"]
    assert shown["decision"]["inputs"]["records"]["models"] == [{"id": "slate-studio:1", "version": "1"}]
    # written aware before step 12: SQLite text with an offset, PostgreSQL in the server's zone
    assert policy["created_at"] == T_POLICY and policy["published_at"] == T_POLICY
    assert policy["created_at"].tzinfo is not None


def _approval_reads_back_as_a_sign_off() -> None:
    """The one approval from before step 15 is a sign-off with no rules recorded; a second
    person may now sign the request, the same person never twice."""
    from governance.jobs.tables import Approval
    from governance.lifecycle import requests as lifecycle
    [old] = Approval.select()
    assert (old.approver, old.verdict, old.rules) == ("lee", "approved", [])
    shown = lifecycle.show_request(1, None).to_dict()
    assert [(s["approver"], s["rules"]) for s in shown["signoffs"]] == [("lee", [])]
    assert shown["approval"]["approver"] == "lee"
    with transaction():
        Approval.create(request=1, decision=1, approver="nia", verdict="approved", comment="", at=T)
    with pytest.raises(peewee.IntegrityError), transaction():
        Approval.create(request=1, decision=1, approver="lee", verdict="approved", comment="", at=T)


def _ledger_reads_back(v: int) -> None:
    from governance.credentials.keys import KeyInfo
    from governance.credentials.tables import SigningKey
    from governance.ledger import records
    from governance.provenance.lineage import lineage
    from governance.provenance.tables import OutputFacet
    entry = records.find_by_sha256(OUTPUT)
    assert entry is not None and entry.model_ref == "slate-studio:1" and entry.signed_at == T + timedelta(hours=1)
    facets = {(f.kind, f.value) for f in OutputFacet.select()}
    # outputs signed before step 7 are indexed by it; an approval is there from step 6 on;
    # step 30 gives outputs indexed before it their request's use
    assert facets == expected_facets(approved=v >= 6) | ({("use", "previs")} if v < 30 else set())
    seen = lineage(OUTPUT)
    assert seen["model"]["ref"] == "slate-studio:1" and seen["decision"]["outcome"] == "needs_approval"
    assert seen["request"]["created_at"] == T_POLICY and [r["sha256"] for r in seen["references"]] == [A]
    assert (seen["approval"] or {}).get("approver") == ("lee" if v >= 6 else None)
    key = KeyInfo.from_row(SigningKey.get())
    assert key.created_at == T and key.not_before.tzinfo is not None
    # step 17: outputs signed before receipts have none, and no worker key is enrolled
    assert (entry.receipt, entry.receipt_sha256) == (None, None) and entry.to_dict()["receipt"] is None
    from governance.workers.tables import WorkerKey
    assert WorkerKey.select().count() == 0
    # step 18: no output was ever audited by reproduction, so every one keeps its standing
    from governance.ledger.tables import Reproduction
    assert Reproduction.select().count() == 0 and entry.in_good_standing
    # step 19: nothing was sampled for a reproduction on another worker
    from governance.ledger.tables import ReproductionSample
    assert ReproductionSample.select().count() == 0
    # step 21: no image was reviewed before signing, so none is held or quarantined
    from governance.jobs.tables import OutputReview
    assert OutputReview.select().count() == 0
    # step 23: nobody held an identity certificate; approvals signed before it stay readable
    from governance.credentials.tables import IdentityCertificate
    assert IdentityCertificate.select().count() == 0
    # step 33: the reference the recorded request named is found as one without reading requests
    from governance.policy.tables import ReferencedAsset
    assert [r.asset_sha256 for r in ReferencedAsset.select()] == [A]


def _audit_log_verifies(studio: Studio) -> None:
    from governance.audit import log
    from governance.audit.tables import AuditEntry
    from governance.audit.trust import TrustAnchors
    verdict = log.verify_database(TrustAnchors.in_keys_folder(studio.keys_dir))
    assert verdict.ok, verdict.problem
    v = studio.version
    assert verdict.checkpoints == (1 if v >= 5 else 0)
    said = [e.action for e in AuditEntry.select().where(AuditEntry.actor == "system").order_by(AuditEntry.seq)]
    # step 8 rewrote NAME@VERSION refs; step 10 judged the rights records from before it
    assert said == (["ledger.model_refs_normalised"] if 3 <= v < 8 else []) + \
        (["registry.ownership_backfilled"] if 1 <= v < 10 else [])
    if v >= 5:
        # step 34: the checkpoint signed before it has no frontier, so the first one after it
        # reads the whole log once and stores its own; the next extends that
        from governance.audit.tables import AuditCheckpoint
        assert [c.frontier for c in AuditCheckpoint.select()] == [None]
        log.record("thing.done", "thing:1", actor="nia")
        made = log.checkpoint(studio.checkpoint_signer)
        assert made is not None and made["tree_size"] == AuditEntry.select().count()
        assert AuditCheckpoint.get(AuditCheckpoint.tree_size == made["tree_size"]).frontier
        assert log.verify_database(TrustAnchors.in_keys_folder(studio.keys_dir)).ok


# ---------------------------------------------------------------- one datetime convention

def test_every_datetime_column_of_every_model_is_a_utc_datetime_field():
    plain = [f"{m.__name__}.{f.name}" for m in today_models() for f in m._meta.sorted_fields
             if isinstance(f, peewee.DateTimeField) and not isinstance(f, UTCDateTimeField)]
    assert plain == []


def test_step_12_names_every_datetime_column_of_version_11():
    from governance.migrations.v12_utc_datetimes import COLUMNS
    schema = recorded(11, "sqlite")
    assert {(t, c) for t, columns in COLUMNS.items() for c in columns} == \
        {(t, c) for t in schema for c, spec in schema[t]["columns"].items() if spec["type"] == "DATETIME"}


def test_a_naive_utc_value_an_old_row_holds_reads_back_aware_and_equal(empty, tmp_path):
    from governance.credentials.tables import SigningKey
    from governance.ledger.tables import Output
    from governance.policy.tables import PolicyVersion
    migrate(target=11)
    seed(11, tmp_path / "keys")
    migrate()
    assert Output.get().signed_at == T + timedelta(hours=1) and Output.get().signed_at.tzinfo is not None
    assert SigningKey.get().created_at == T and PolicyVersion.get().created_at == T_POLICY
    with transaction():  # written aware through the field today: stored naive UTC
        Output.update(standing_changed_at=T.astimezone(timezone(timedelta(hours=2)))).execute()
    [(stored,)] = _sql("SELECT standing_changed_at FROM output")
    # SQLite keeps it as naive UTC text; PostgreSQL's "timestamp" hands psycopg2 a naive datetime
    expected: object = _naive(T) if dialect(database.obj) == "sqlite" else T.replace(tzinfo=None)
    assert stored == expected and Output.get().standing_changed_at == T


ODD_TEXTS = {  # text an older row may hold on SQLite -> what step 12 leaves
    "2026-06-01 10:00:00+00:00": "2026-06-01 10:00:00",
    "2026-06-01 09:30:15.250000+00:00": "2026-06-01 09:30:15.250000",
    "2026-06-01T10:00:00Z": "2026-06-01 10:00:00",
    "2026-06-01 12:00:00+02:00": "2026-06-01 10:00:00",
    "2026-06-01 10:00:00.000000": "2026-06-01 10:00:00",
    "2026-06-01 10:00:00.5": "2026-06-01 10:00:00.500000",
    "2026-06-01 10:00:00": "2026-06-01 10:00:00",
}


@pytest.fixture
def sqlite_at_11(tmp_path: Path) -> Iterator[None]:
    open_database(f"sqlite:///{tmp_path}/old.sqlite")
    migrate(target=11)
    try:
        yield
    finally:
        close_database()


def test_step_12_rewrites_every_odd_time_text_on_sqlite_as_naive_utc(sqlite_at_11):
    from governance.policy.tables import PolicyVersion
    with transaction():
        for n, text in enumerate(ODD_TEXTS):
            _insert("policy_version", uid=f"p{n}", version=1, title="t", sha256="0" * 64, text="", author="lee",
                    status="draft", created_at=text, published_at=None, published_by=None, superseded_at=None)
    migrate()
    stored = dict(_sql("SELECT uid, created_at FROM policy_version"))
    assert [stored[f"p{n}"] for n in range(len(ODD_TEXTS))] == list(ODD_TEXTS.values())
    for row in PolicyVersion.select():
        assert row.created_at.tzinfo is not None and _naive(row.created_at) == stored[row.uid]


def test_step_13_never_leaves_the_sqlite_schema_writable_when_the_edit_fails(sqlite_at_11, monkeypatch):
    """The edit of sqlite_master is refused (a unit test of the code around it: the refusal is
    simulated, the migration and its database are real)."""
    from governance.migrations import frozen
    from governance.migrations import v13_defaults_as_declared as step13
    migrate(target=12)
    real_sql = frozen.sql

    def refusing(statement: str, *args: object) -> Any:
        if statement.startswith("UPDATE sqlite_master"):
            raise peewee.OperationalError("attempt to write a readonly database")
        return real_sql(statement, *args)
    monkeypatch.setattr(step13, "sql", refusing)
    with pytest.raises(ConfigurationError, match=r"SQLite refused the edit of the consent table's definition "
                                                 r"\(OperationalError\); the migration was rolled back"):
        migrate()
    assert current_version() == 12
    [(writable,)] = _sql("PRAGMA writable_schema")
    assert writable == 0
    monkeypatch.setattr(step13, "sql", real_sql)
    assert [s.version for s in migrate(target=13)] == [13]


def test_step_12_stops_at_a_value_that_is_no_time_and_names_it(sqlite_at_11):
    with transaction():
        _insert("production", name="x", title="", created_at="yesterday-ish")
    with pytest.raises(ConfigurationError, match=r"production\.created_at holds 'yesterday-ish'"):
        migrate()
    assert current_version() == 11


@pytest.mark.postgres
def test_step_12_moves_times_postgresql_kept_in_the_servers_zone_to_utc(postgres_server):
    from governance.policy.tables import PolicyReview, PolicyVersion
    open_database(postgres_server.create_database())
    try:
        migrate(target=11)
        database.execute_sql(f"SET TIME ZONE '{SERVER_ZONE}'")
        with transaction():
            _registry(11)
            _policy(T_POLICY, 11)  # what a plain DateTimeField handed psycopg2: aware
        [(kept,)] = _sql("SELECT created_at FROM policy_version")
        assert kept == datetime(2026, 6, 1, 5, 30, 15, 250000)  # noqa: DTZ001 - New York summer time, as stored
        migrate()
        assert PolicyVersion.get().created_at == T_POLICY and PolicyReview.get().at == T_POLICY
    finally:
        close_database()


def test_the_frozen_audit_append_chains_with_the_logs_own(db):
    from governance.audit import log
    from governance.audit.tables import AuditEntry
    from governance.migrations.frozen import append_audit_entry
    with transaction():
        log.record("a.first", "x", {"n": 1})
        append_audit_entry("a.migrated", "y", {"rows": 2, "to": "ü"})
        log.record("a.last", "z", {})
    assert log.verify_database().ok
    entry = AuditEntry.get(AuditEntry.action == "a.migrated")
    assert entry.actor == "system" and entry.data == {"rows": 2, "to": "ü"} and entry.at.tzinfo is not None


def test_step_14_gives_every_stored_record_empty_attributes_that_take_values_after(sqlite_at_11, tmp_path):
    from governance.auth.tables import User
    from governance.registry.tables import Licence
    seed(11, tmp_path / "keys")
    migrate()
    for table in ("licence", "consent", "person", "asset", "production", "user"):
        assert {value for (value,) in _sql(f'SELECT attributes FROM "{table}"')} == {"{}"}, table
    assert {value for (value,) in _sql('SELECT department FROM "user"')} == {None}
    with transaction():
        Licence.update(attributes={"projects": ["harbour-lights"]}).execute()
        User.update(department="marketing").where(User.name == "pat").execute()
    assert Licence.get().attributes == {"projects": ["harbour-lights"]}
    assert User.get(User.name == "pat").department == "marketing"
    assert not _sql("SELECT * FROM catalogue_version")
