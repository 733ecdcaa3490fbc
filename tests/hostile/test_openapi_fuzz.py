"""schemathesis against Slate's own OpenAPI document: every operation, generated inputs,
a caller holding every role. Every case must end in a 2xx or a 4xx problem document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings

from governance.auth.users import ROLES, add_user, issue_token

EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def everything_token(app) -> str:
    add_user("fuzz-all-roles", list(ROLES))
    return issue_token("fuzz-all-roles")["token"]


def test_every_operation_answers_2xx_or_a_4xx_problem(app, everything_token, capsys):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    headers = {"Authorization": f"Bearer {everything_token}"}
    tried, failures = 0, []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        @hyp_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def run(case):  # type: ignore[no-untyped-def]
            nonlocal tried
            tried += 1
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} query={case.query}: {response.status_code}")
            elif response.status_code >= 400:
                found = {k.lower(): v for k, v in response.headers.items()}.get("content-type", "")
                content_type = found[0] if isinstance(found, list) else found
                if not content_type.startswith("application/problem+json"):
                    failures.append(f"{case.method} {case.formatted_path}: {response.status_code} "
                                    f"not a problem ({content_type!r})")
        run()
    with capsys.disabled():
        print(f"\nschemathesis: {tried} cases over {len(operations)} operations, {len(failures)} failures")
    assert failures == [], sorted(set(failures))[:40]
