"""A model's card as a page: the same card as the API's, plain HTML, for the registry's readers."""

from __future__ import annotations

from typing import Any


def test_a_producer_reads_the_model_card_page(browser: Any, studio: dict[str, Any]) -> None:
    pat = browser("pat-producer")
    response = pat.get(f"/models/{studio['model']}/card")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Model card: <code>studio:1</code>" in page
    assert "studio-frames" in page and "LIC-STUDIO-OWN" in page
    assert "Clearance: clear" in page
    assert "Intended: concept, previs, final_frame, marketing" in page
    assert "<script" not in page


def test_a_user_without_a_registry_role_gets_no_model_card_page(browser: Any, studio: dict[str, Any]) -> None:
    response = browser("gen-only").get(f"/models/{studio['model']}/card")
    assert response.status_code == 403
    assert "LIC-STUDIO-OWN" not in response.get_data(as_text=True)
