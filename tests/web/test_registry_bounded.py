"""The registry page lists a bounded number of assets and says how many there are: a studio
holds tens of thousands, and listing them all took 28 s (pages_bench)."""

from __future__ import annotations

from governance.registry.tables import Asset
from governance.web import registry


def test_the_registry_page_lists_the_first_assets_only_and_says_how_many_there_are(browser, monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY_ASSETS", 1)
    total = Asset.select().count()
    assert total >= 2
    page = browser("lee-legal").get("/registry").get_data(as_text=True)
    first = Asset.select().order_by(Asset.id).get()
    assert f"The first 1 of {total} assets" in page and first.title in page
    later = [a.title for a in Asset.select().order_by(Asset.id).offset(1) if a.title != first.title]
    assert later and not any(f"<tr><td>{title}</td>" in page for title in later)
