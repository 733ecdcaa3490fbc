"""slate catalogue and slate attributes: the review workflow and attribute changes from the
command line, through the same functions the API calls; never a traceback."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from governance.cli import cli
from tests.catalogue.conftest import STUDIO_CATALOGUE


def run(settings: Any, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"SLATE_HOME": str(settings.home)}, catch_exceptions=False)


def test_legal_drafts_the_admin_approves_and_attributes_follow_the_published_catalogue(settings: Any) -> None:
    for name, role in (("lee", "legal"), ("root", "admin"), ("pat", "producer")):
        assert run(settings, "user", "add", name, "--role", role).exit_code == 0
    assert run(settings, "catalogue", "draft", str(STUDIO_CATALOGUE), "--by", "pat").exit_code == 5
    assert run(settings, "catalogue", "draft", str(STUDIO_CATALOGUE), "--by", "lee").exit_code == 0
    assert run(settings, "catalogue", "approve", "1", "--by", "lee").exit_code == 5  # four eyes
    assert run(settings, "catalogue", "approve", "1", "--by", "root").exit_code == 0
    assert run(settings, "catalogue", "publish", "1", "--by", "lee").exit_code == 0
    shown = run(settings, "catalogue", "show")
    assert "licence.projects: list  Productions the licence is limited to" in shown.output
    assert run(settings, "production", "add", "harbour-lights").exit_code == 0
    tier = run(settings, "attributes", "set", "production", "harbour-lights", "release_tier=theatrical", "--json")
    assert json.loads(tier.output)["attributes"] == {"release_tier": "theatrical"}
    wrong = run(settings, "attributes", "set", "production", "harbour-lights", "release_tier=cinema")
    assert wrong.exit_code == 2 and "attributes.release_tier" in wrong.output and "Traceback" not in wrong.output
    user = run(settings, "user", "set", "pat", "--department", "marketing", "--attr", "cost_centre=CC-204", "--json")
    assert json.loads(user.output)["department"] == "marketing"
    assert json.loads(user.output)["attributes"] == {"cost_centre": "CC-204"}
