"""A multipart text field where a file part belongs is a 422 naming the field, never a 500:
the upload routes read a file's bytes, and a string has none."""

from __future__ import annotations

import pytest

from governance.registry.tables import Asset, ConsentDocument
from tests.api.conftest import auth

CASES = [
    ("legal", "/api/v1/assets", {"file": "not a file", "title": "A plate", "licence": "LIC-1"}, "file"),
    ("legal", "/api/v1/consent-documents", {"file": "not a file"}, "file"),
    ("auditor", "/api/v1/verify", {"file": "not a file"}, "file"),
    ("generator", "/api/v1/sign", {"image": "not a file", "job_id": "job_x", "model_identity": "ab" * 32,
                                   "environment": "{}", "receipt": "{}"}, "image"),
]


@pytest.mark.parametrize(("role", "path", "form", "field"), CASES, ids=[c[1] for c in CASES])
def test_a_text_field_sent_as_the_file_is_a_422_naming_it(client, tokens, role, path, form, field):
    answer = client.post(path, data=form, content_type="multipart/form-data", headers=auth(tokens[role]))
    assert answer.status_code == 422, answer.get_data(as_text=True)[:400]
    assert answer.mimetype == "application/problem+json"
    assert answer.json["errors"] == {field: ["Send this as a file part of a multipart/form-data body."]}
    assert Asset.select().count() == 0 and ConsentDocument.select().count() == 0
