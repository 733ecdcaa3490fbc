"""Slate's settings: one object built from environment variables, passed in.

Nothing below the CLI and the app factory reads ``os.environ``; they build a
``Settings`` once and hand it down, so tests can run many Slates side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from .errors import ConfigurationError

#: Every variable Slate reads, with its meaning. The README's table is generated from
#: this so the two cannot drift apart.
VARIABLES: dict[str, str] = {
    "SLATE_HOME": "Base folder for everything below when not set individually (default: current folder).",
    "SLATE_DATA_DIR": "Database, signed outputs and other state (default: $SLATE_HOME/data).",
    "SLATE_DATABASE_URL": "peewee database URL; sqlite:///path or postgresql://user:pw@host/db "
                          "(default: SQLite file slate.db in the data folder).",
    "SLATE_KEYS_DIR": "Signing keys and trust anchors (default: $SLATE_HOME/keys).",
    "SLATE_POLICIES_DIR": "Policy files (default: $SLATE_HOME/policies).",
    "SLATE_MODELS_DIR": "Model directories the generator loads (default: $SLATE_HOME/models).",
    "SLATE_TSA_URL": "RFC 3161 time-stamping authority; 'embedded' uses Slate's offline development TSA, "
                     "'none' disables timestamps (default: embedded).",
    "SLATE_MAX_IMAGE_BYTES": "Largest image accepted for signing or verification (default: 25000000).",
    "SLATE_MAX_IMAGE_PIXELS": "Largest image area accepted, against decompression bombs (default: 40000000).",
    "SLATE_MAX_DOCUMENT_BYTES": "Largest signed consent document (PDF, PNG or JPEG) accepted for storage "
                                "(default: 20000000).",
    "SLATE_REDIS_URL": "Redis URL for the task queue; unset means the embedded SQLite queue.",
    "SLATE_API_URL": "Where workers reach Slate's API (default: http://127.0.0.1:8420).",
    "SLATE_WORKER_TOKEN": "A standalone worker's generator token (secret; never logged).",
    "SLATE_WORKER_DIR": "A worker's own folder: its receipt-signing key worker-key.pem (0600, never sent) "
                        "(default: $SLATE_HOME/worker; the embedded worker's is $SLATE_DATA_DIR/worker).",
    "SLATE_REPRODUCTION_SAMPLE_RATE": "Share of newly signed outputs drawn at random for a reproduction on a "
                                      "worker other than the one that made them, from 0 to 1 (default: 0, none).",
    "SLATE_FACE_MATCHER_MODEL": "The studio's own face-embedding model, a local ONNX file, for matching faces in "
                                "generated images against registered people's reference photos (default: none, "
                                "the offline LBP matcher).",
    "SLATE_FACE_MATCHER_THRESHOLD": "Distance (0-1) at or below which that model's faces count as the same person "
                                    "(required with SLATE_FACE_MATCHER_MODEL; measure it on the studio's own faces).",
    "SLATE_FACE_MATCHER_INPUT": "The side in pixels of the face crop that model takes (default: 112).",
    "SLATE_QUARANTINE_RETENTION_DAYS": "Days a generated image refused by output review (or rejected by its reviewer) "
                                       "is kept for legal before it is deleted (default: 30).",
    "SLATE_C2PA_TRAINING_MINING_MIRROR": "Also state the training-and-mining answer under the C2PA 1.x label "
                                         "c2pa.training-mining, which CAI Verify still reads: 'on' or 'off' "
                                         "(default: on).",
    "SLATE_C2PA_TRUST_LIST": "A C2PA trust list (PEM bundle of root certificates) that verification also checks "
                             "signers against, reported apart from Slate's own trust (default: none).",
    "SLATE_WATERMARK": "Embed an invisible watermark carrying a lookup id in every signed PNG output, so a copy "
                       "stripped of its credentials can be recovered (on|off; default: on).",
    "SLATE_SECRET_KEY": "Key that signs the web pages' session cookies (secret; never logged); every API "
                        "process behind one address needs the same (default: generated on first run into "
                        "$SLATE_KEYS_DIR/web-session.key, 0600).",
}


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got '{raw}'") from None
    if value <= 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = (env.get(name) or "").strip().lower()
    if not value:
        return default
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise ConfigurationError(f"{name} must be 'on' or 'off', got '{value[:20]}'")


def _probability(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number from 0 to 1, got '{raw}'") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{name} must be a number from 0 to 1, got {value}")
    return value


def _face_threshold(env: Mapping[str, str]) -> float | None:
    if not env.get("SLATE_FACE_MATCHER_MODEL"):
        return None
    if not env.get("SLATE_FACE_MATCHER_THRESHOLD"):
        raise ConfigurationError("SLATE_FACE_MATCHER_MODEL needs SLATE_FACE_MATCHER_THRESHOLD: the distance at or "
                                 "below which the model's faces are the same person (measure it on your own faces)")
    return _probability(env, "SLATE_FACE_MATCHER_THRESHOLD", 0.0)


@dataclass(frozen=True)
class Settings:
    home: Path
    data_dir: Path
    database_url: str
    keys_dir: Path
    policies_dir: Path
    models_dir: Path
    tsa_url: str = "embedded"
    max_image_bytes: int = 25_000_000
    max_image_pixels: int = 40_000_000
    max_document_bytes: int = 20_000_000
    redis_url: str | None = None
    api_url: str = "http://127.0.0.1:8420"
    #: a worker's own generator token; never printed or logged
    worker_token: str | None = field(default=None, repr=False)
    #: a worker's own folder, holding the private key it signs generation receipts with
    worker_dir: Path | None = None
    #: the studio's own ONNX face-embedding model and its same-person distance (``registry.faces``)
    face_matcher_model: Path | None = None
    face_matcher_threshold: float | None = None
    face_matcher_input: int = 112
    #: days a refused or rejected generated image is kept for legal (``lifecycle.output_review``)
    quarantine_retention_days: int = 30
    #: share of newly signed outputs made again on another worker (``lifecycle.sampling``)
    reproduction_sample_rate: float = 0.0
    #: also write the training-and-mining answer under ``c2pa.training-mining`` (``credentials.manifest``)
    c2pa_training_mining_mirror: bool = True
    #: a C2PA trust list (PEM roots) verification reports on beside Slate's own anchors
    c2pa_trust_list: Path | None = None
    #: signs the web pages' session cookies; None means the generated file in the keys folder
    secret_key: str | None = field(default=None, repr=False)
    #: embed the invisible lookup watermark in signed PNG outputs (``credentials.softbinding``)
    watermark: bool = True
    #: where a worker finds the training sets' files, one folder per set (``generator.training_runs``)
    training_data_dir: Path | None = None
    #: Slate's model-signing public key as a standalone worker holds it: attested models must
    #: verify against it before they load (``credentials.model_signatures``)
    model_signing_public_key: Path | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(env.get("SLATE_HOME") or os.getcwd()).resolve()
        data_dir = Path(env.get("SLATE_DATA_DIR") or home / "data").resolve()
        database_url = env.get("SLATE_DATABASE_URL") or f"sqlite:///{data_dir / 'slate.db'}"
        return cls(
            home=home,
            data_dir=data_dir,
            database_url=database_url,
            keys_dir=Path(env.get("SLATE_KEYS_DIR") or home / "keys").resolve(),
            policies_dir=Path(env.get("SLATE_POLICIES_DIR") or home / "policies").resolve(),
            models_dir=Path(env.get("SLATE_MODELS_DIR") or home / "models").resolve(),
            tsa_url=env.get("SLATE_TSA_URL") or "embedded",
            max_image_bytes=_int(env, "SLATE_MAX_IMAGE_BYTES", 25_000_000),
            max_image_pixels=_int(env, "SLATE_MAX_IMAGE_PIXELS", 40_000_000),
            max_document_bytes=_int(env, "SLATE_MAX_DOCUMENT_BYTES", 20_000_000),
            redis_url=env.get("SLATE_REDIS_URL") or None,
            api_url=env.get("SLATE_API_URL") or "http://127.0.0.1:8420",
            worker_token=env.get("SLATE_WORKER_TOKEN") or None,
            worker_dir=Path(env.get("SLATE_WORKER_DIR") or home / "worker").resolve(),
            secret_key=env.get("SLATE_SECRET_KEY") or None,
            reproduction_sample_rate=_probability(env, "SLATE_REPRODUCTION_SAMPLE_RATE", 0.0),
            quarantine_retention_days=_int(env, "SLATE_QUARANTINE_RETENTION_DAYS", 30),
            face_matcher_model=Path(env["SLATE_FACE_MATCHER_MODEL"]).resolve()
            if env.get("SLATE_FACE_MATCHER_MODEL") else None,
            face_matcher_threshold=_face_threshold(env),
            face_matcher_input=_int(env, "SLATE_FACE_MATCHER_INPUT", 112),
            c2pa_training_mining_mirror=_switch(env, "SLATE_C2PA_TRAINING_MINING_MIRROR", True),
            c2pa_trust_list=Path(env["SLATE_C2PA_TRUST_LIST"]).resolve() if env.get("SLATE_C2PA_TRUST_LIST") else None,
            watermark=_switch(env, "SLATE_WATERMARK", True),
            training_data_dir=Path(env["SLATE_TRAINING_DATA_DIR"]).resolve()
            if env.get("SLATE_TRAINING_DATA_DIR") else None,
            model_signing_public_key=Path(env["SLATE_MODEL_SIGNING_PUBLIC_KEY"]).resolve()
            if env.get("SLATE_MODEL_SIGNING_PUBLIC_KEY") else None,
        )

    @classmethod
    def for_folder(cls, folder: Path, **overrides: object) -> Settings:
        """Settings rooted in one folder: what tests and demos use."""
        base = cls.from_env({"SLATE_HOME": str(folder)})
        return replace(base, **overrides)  # type: ignore[arg-type]

    @property
    def worker_key_dir(self) -> Path:
        """Where this host's worker keeps its key (``worker_dir``, or ``home/worker``)."""
        return self.worker_dir or self.home / "worker"

    @property
    def embedded_worker_dir(self) -> Path:
        """The embedded worker's folder: in the data folder of the server that runs it."""
        return self.data_dir / "worker"

    @property
    def index_dir(self) -> Path:
        """The similarity index of registered assets' fingerprints (rebuilt from the database)."""
        return self.data_dir / "index"

    @property
    def thumbnails_dir(self) -> Path:
        """Pictures for the pages (signed outputs' thumbnails), made on first view and kept."""
        return self.data_dir / "thumbnails"

    @property
    def output_index_dir(self) -> Path:
        """The similarity index of signed outputs' fingerprints, for recovering stripped copies."""
        return self.data_dir / "output-index"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    def describe_database(self) -> str:
        """The database URL with any password masked, fit for logs and status lines."""
        url = self.database_url
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
        return url
