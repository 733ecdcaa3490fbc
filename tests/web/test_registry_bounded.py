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


# ---------------------------------------------------------------- people and their consents, a page at a time

def _register(count: int) -> list[str]:
    from governance.registry.people import add_person
    names = [f"Zed Extra {i:03d}" for i in range(count)]
    for name in names:
        add_person(name, productions=["harbour-lights"])
    return names


def _queries(app, client, path: str) -> int:
    """How many SQL statements one GET of ``path`` runs."""
    from governance.db import database
    counted = []
    real = database.obj.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        counted.append(sql)
        return real(sql, params, *args, **kwargs)
    database.obj.execute_sql = counting
    try:
        assert client.get(path).status_code == 200
    finally:
        database.obj.execute_sql = real
    return len(counted)


def test_the_registry_lists_a_page_of_people_says_how_many_and_links_the_next_page(browser, monkeypatch):
    from governance.registry import people
    from governance.registry.tables import Person
    monkeypatch.setattr(people.page_people, "__kwdefaults__", {"find": "", "after": "", "limit": 3})
    _register(4)
    everyone = [p.name for p in Person.select().order_by(Person.name)]
    lee = browser("lee-legal")
    first = lee.get("/registry").get_data(as_text=True)
    assert f"{len(everyone)} people; 3 shown, by name" in first
    assert all(f">{name}" in first for name in everyone[:3]) and f">{everyone[3]}<" not in first
    assert f"after={everyone[2].replace(' ', '+')}" in first
    second = lee.get(f"/registry?after={everyone[2]}").get_data(as_text=True)
    assert all(f">{name}" in second for name in everyone[3:6]) and f">{everyone[0]}<" not in second


def test_a_person_beyond_the_first_page_is_found_by_name_with_their_consents(app, browser, monkeypatch):
    from datetime import date

    from governance.registry import people
    from tests.rights import grant_consent
    monkeypatch.setattr(people.page_people, "__kwdefaults__", {"find": "", "after": "", "limit": 2})
    names = _register(5)
    granted = grant_consent(app.config["SLATE_SETTINGS"], names[-1], uses=["likeness"],
                            productions=["harbour-lights"], territories=["GB"],
                            valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    page = browser("lee-legal").get(f"/registry?find={names[-1][-7:]}").get_data(as_text=True)
    assert f"1 person whose name holds “{names[-1][-7:]}”" in page
    assert names[-1] in page and f"#{granted['id']} v" in page and names[0] not in page


def test_the_registry_page_runs_as_many_queries_with_many_more_people_and_consents(app, browser):
    """Each person's productions and consents are read for the whole page at once: a hundred
    more people and consents add no query (they took ~2 queries a row and a nested loop)."""
    from datetime import date

    from tests.rights import grant_consent
    lee = browser("lee-legal")
    before = _queries(app, lee, "/registry")
    for name in _register(60):
        grant_consent(app.config["SLATE_SETTINGS"], name, uses=["voice"], productions=["harbour-lights"],
                      territories=["GB"], valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    assert _queries(app, lee, "/registry") == before


def test_the_next_assets_link_shows_the_assets_after_the_first_page(browser, monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY_ASSETS", 1)
    first, second = list(Asset.select().order_by(Asset.id).limit(2))
    lee = browser("lee-legal")
    page = lee.get("/registry").get_data(as_text=True)
    assert f"assets_after={first.id}" in page
    later = lee.get(f"/registry?assets_after={first.id}").get_data(as_text=True)
    assert f"<tr><td>{second.title}</td>" in later and f"<tr><td>{first.title}</td>" not in later
    assert lee.get("/registry?assets_after=x%27;--").status_code == 200  # not a number: the first page


def test_the_registry_page_runs_as_many_queries_for_many_assets_as_for_one(app, browser, monkeypatch):
    """The page's assets, their licences, productions and people are read in two queries for
    the whole page (``asset_dict`` costs several per asset)."""
    from governance.clock import utcnow
    template = Asset.select().order_by(Asset.id).get()
    for i in range(5):  # stand-ins shaped like a registered asset, with its licence and production
        Asset.create(sha256=f"{i:064x}", media_type="image/png", title=f"Extra asset {i}", size_bytes=1,
                     licence=template.licence_id, production=template.production_id, library=False,
                     created_at=utcnow(), attributes={}, credential_state="none")
    lee = browser("lee-legal")
    monkeypatch.setattr(registry, "REGISTRY_ASSETS", 1)
    one = _queries(app, lee, "/registry")
    monkeypatch.setattr(registry, "REGISTRY_ASSETS", 50)
    assert _queries(app, lee, "/registry") == one


def test_the_registry_lists_a_page_of_licences_says_how_many_and_links_the_next(browser, monkeypatch):
    from datetime import date

    from governance.registry import vocabulary as vocab
    from governance.registry.licences import add_licence
    from governance.registry.tables import Licence
    add_licence("LIC-ZZ-EXTRA", "Extra Pictures", grants=[vocab.licence_grants()[0]], territories=["GB"],
                starts_on=date(2026, 1, 1))
    monkeypatch.setattr(registry, "REGISTRY_LICENCES", 1)
    first, second = [lic.ref for lic in Licence.select().order_by(Licence.ref).limit(2)]
    lee = browser("lee-legal")
    page = lee.get("/registry").get_data(as_text=True)
    assert f"1 of {Licence.select().count()} licences, by reference" in page
    assert f"<tr><td>{first}</td>" in page and f"<tr><td>{second}</td>" not in page
    later = lee.get(f"/registry?licences_after={first}").get_data(as_text=True)
    assert f"<tr><td>{second}</td>" in later and f"<tr><td>{first}</td>" not in later


def test_listing_models_reads_each_models_base_and_training_set_in_the_same_query(studio):
    """``list_models`` (the registry page lists every model) costs one query, not three a model."""
    from governance.db import database
    from governance.registry import models_registry
    from governance.registry.tables import Model
    assert Model.select().where(Model.training_set.is_null(False)).count() >= 1
    attested = Model.select().where(Model.attested == True).count()  # noqa: E712 -- an attested model reads its run
    counted = []
    real = database.obj.execute_sql
    database.obj.execute_sql = lambda sql, params=None, *a, **k: counted.append(sql) or real(sql, params, *a, **k)
    try:
        listed = models_registry.list_models()
    finally:
        database.obj.execute_sql = real
    assert listed and len(counted) == 1 + attested


def test_a_producer_cannot_reach_another_productions_people_by_searching_or_paging(app, browser):
    """The people search and its cursor narrow what the producer may see; they never widen it."""
    from governance.auth.users import add_user, issue_token
    from governance.registry.people import add_production
    add_production("northern-line")
    add_user("nia-producer", ["producer"], ["northern-line"])
    nia = browser()
    nia.sign_in(issue_token("nia-producer")["token"])
    for path in ("/registry?find=Kit", "/registry?find=Young", "/registry?after=A", "/registry?find=%25"):
        page = nia.get(path).get_data(as_text=True)
        assert "Kit Young" not in page and "Mara Quinn" not in page and "Sam Young" not in page
    picker = nia.get("/requests/new?who=Young").get_data(as_text=True)
    assert "Kit Young" not in picker and "Sam Young" not in picker
