"""peewee tables of the ledger of signed outputs.

One row per image Slate signed, written in the same transaction as the signature is
issued. Migration step 3 created them, together with the signing keys.
"""

from __future__ import annotations

import peewee

from ..db import BaseModel
from ..fields import UTCDateTimeField


class Output(BaseModel):
    sha256 = peewee.CharField(max_length=64, unique=True)
    manifest_label = peewee.CharField(max_length=200, unique=True)
    cert_fingerprint = peewee.CharField(max_length=64, index=True)
    media_type = peewee.CharField(max_length=40)
    job_id = peewee.CharField(max_length=100, index=True)
    decision_id = peewee.CharField(max_length=100, index=True)
    request_id = peewee.CharField(max_length=100, index=True)
    model_ref = peewee.CharField(max_length=300, index=True)
    signed_at = UTCDateTimeField(index=True)
    timestamped = peewee.BooleanField()
    file_path = peewee.TextField(null=True)
    #: The governance assertion exactly as signed, in canonical JSON, and its SHA-256.
    claim_json = peewee.TextField()
    claim_sha256 = peewee.CharField(max_length=64)
    #: Set by revocation (a later issue) when a consent, licence or key no longer holds.
    in_good_standing = peewee.BooleanField(default=True)
    standing_reason = peewee.TextField(null=True)
    standing_changed_at = UTCDateTimeField(null=True)
    #: The worker's signed generation receipt as received (canonical JSON) and its SHA-256,
    #: which the governance assertion names; NULL for outputs signed before step 17.
    receipt = peewee.TextField(null=True)
    receipt_sha256 = peewee.CharField(max_length=64, null=True)


# outputs that lost good standing, most recently first (the start page's dashboards): migration step 32
Output.add_index(Output.index(Output.in_good_standing, Output.standing_changed_at, Output.id,
                              name="output_standing_changed"))


class Reproduction(BaseModel):
    """One reproduction audit of an output: its recorded job made again and compared with the
    ledger's pixels (step 18). The latest row of an output decides whether reproduction still
    holds (``provenance.standing``); every row stays, as the audit log's entry does."""

    output_sha256 = peewee.CharField(max_length=64, index=True)
    job_id = peewee.CharField(max_length=100)
    #: the worker that made the original image (the job's), and who asked for the audit
    worker = peewee.CharField(max_length=200, null=True)
    requested_by = peewee.CharField(max_length=200)
    #: ``reproduced`` | ``close`` | ``differs``
    verdict = peewee.CharField(max_length=20)
    #: mean absolute difference per 8-bit channel value; NULL where the sizes differ or no file was there
    distance = peewee.FloatField(null=True)
    reason = peewee.TextField()
    at = UTCDateTimeField(index=True)
    #: the worker whose generator made the image again (step 19); NULL: the server's own
    reproduced_by = peewee.CharField(max_length=200, null=True)
    #: that worker's signed generation receipt for the image it made (step 19)
    receipt = peewee.TextField(null=True)




class ReproductionSample(BaseModel):
    """An output drawn for a reproduction on a worker other than the one that made it
    (step 19): ``waiting`` until such a worker claims it under a lease, ``claimed`` while it
    makes the image, ``done`` with the verdict."""

    # a sample's key is its printable id, where BaseModel's is peewee's integer
    id = peewee.CharField(max_length=100, primary_key=True)  # type: ignore[assignment]
    output_sha256 = peewee.CharField(max_length=64, index=True)
    job_id = peewee.CharField(max_length=100)
    #: the worker that made the output: the one worker that may never reproduce it
    original_worker = peewee.CharField(max_length=200)
    #: ``waiting`` | ``claimed`` | ``done``
    status = peewee.CharField(max_length=20, index=True)
    claimed_by = peewee.CharField(max_length=200, null=True)
    lease_expires_at = UTCDateTimeField(null=True)
    attempts = peewee.IntegerField(default=0)
    verdict = peewee.CharField(max_length=20, null=True)
    created_at = UTCDateTimeField(index=True)
    finished_at = UTCDateTimeField(null=True)
    #: when the requeuer last told the workers of it (at most once per ``older_than``)
    last_sent_at = UTCDateTimeField(null=True)

    class Meta:
        table_name = "reproduction_sample"


class OutputBinding(BaseModel):
    """An output's soft bindings (step 22): the watermark id embedded before signing (NULL:
    none embedded) and the perceptual fingerprint of the signed pixels. The outputs'
    similarity index (``ledger.bindings``) is rebuilt from these rows."""

    output_sha256 = peewee.CharField(max_length=64, unique=True)
    manifest_label = peewee.CharField(max_length=200, index=True)
    watermark_id = peewee.CharField(max_length=12, unique=True, null=True)
    watermark_alg = peewee.CharField(max_length=100, null=True)
    fingerprint_version = peewee.CharField(max_length=100)
    phash = peewee.CharField(max_length=16)
    #: float32 little-endian, ``perception.fingerprints.DESCRIPTOR_DIM`` values
    descriptor = peewee.BlobField()
    width = peewee.IntegerField()
    height = peewee.IntegerField()
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "output_binding"


class ManifestStore(BaseModel):
    """The manifest repository (step 22): every manifest store Slate signed, by label."""

    manifest_label = peewee.CharField(max_length=200, unique=True)
    output_sha256 = peewee.CharField(max_length=64, index=True)
    data = peewee.BlobField()
    created_at = UTCDateTimeField()

    class Meta:
        table_name = "manifest_store"


TABLES: list[type[BaseModel]] = [Output, Reproduction, ReproductionSample, OutputBinding, ManifestStore]
