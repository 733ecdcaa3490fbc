"""Thumbnails on the pages: a registered asset's and a signed output's, only to those who may
see the record, small, and never a full-size file."""

from __future__ import annotations

import io

from PIL import Image

from governance.auth.users import add_user, issue_token
from governance.registry.assets import register_asset
from governance.registry.people import add_production
from tests.api.test_flow import png, sign, submit

WEIGHTS = "ab" * 32


def signed_output(app, studio) -> str:
    client = app.test_client()
    view = submit(client, studio["tokens"]["pat-producer"], model=studio["model"]).json
    assert view["decision"]["decision"] == "allow", view["decision"]
    signed = sign(client, studio["tokens"]["gpu-worker"], view["job"]["id"], image=png(4), identity=WEIGHTS)
    assert signed.status_code == 201, signed.json
    return str(signed.json["sha256"])


def other_producer(browser, studio):
    add_production("northern-line")
    add_user("nia-producer", ["producer"], ["northern-line"])
    studio["tokens"]["nia-producer"] = issue_token("nia-producer")["token"]
    return browser("nia-producer")


def test_a_signed_outputs_thumbnail_is_a_small_jpeg_made_once_and_kept(browser, studio, app):
    sha = signed_output(app, studio)
    pat = browser("pat-producer")
    answer = pat.get(f"/outputs/{sha}/thumbnail")
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    picture = Image.open(io.BytesIO(answer.data))
    assert max(picture.size) <= 160 and picture.format == "JPEG"
    kept = app.config["SLATE_SETTINGS"].thumbnails_dir / "outputs" / f"{sha}.jpg"
    assert kept.read_bytes() == answer.data
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    assert "private" in answer.headers["Cache-Control"]


def test_another_productions_producer_gets_the_same_404_as_for_a_missing_output(browser, studio, app):
    sha = signed_output(app, studio)
    nia = other_producer(browser, studio)
    hidden = nia.get(f"/outputs/{sha}/thumbnail")
    missing = nia.get(f"/outputs/{'0' * 64}/thumbnail")
    assert hidden.status_code == missing.status_code == 404
    assert not (app.config["SLATE_SETTINGS"].thumbnails_dir / "outputs" / f"{sha}.jpg").exists()


def test_a_registered_assets_thumbnail_is_the_kept_jpeg_and_hidden_from_other_productions(browser, studio):
    pat = browser("pat-producer")
    answer = pat.get(f"/assets/{studio['plate']}/thumbnail")
    assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(answer.data)).size) <= 160
    mine, _ = register_asset(png(9), media_type="image/png", title="Pat's own still", production="harbour-lights")
    nia = other_producer(browser, studio)
    assert nia.get(f"/assets/{mine['sha256']}/thumbnail").status_code == 404


def test_an_asset_with_no_kept_picture_answers_a_placeholder_not_an_error(browser, studio):
    text, _ = register_asset(b"not a picture at all", media_type="text/plain", title="Script pages")
    answer = browser("lee-legal").get(f"/assets/{text['sha256']}/thumbnail")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml"
    assert b"no picture" in answer.data


def test_signed_out_visitors_are_sent_to_sign_in(browser, studio):
    answer = browser().get(f"/assets/{studio['plate']}/thumbnail")
    assert answer.status_code == 302 and "/sign-in" in answer.headers["Location"]
