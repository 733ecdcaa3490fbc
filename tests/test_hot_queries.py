"""``db.HotSelect``: a select whose SQL peewee writes once per database gives the rows peewee
gives, and runs through peewee whenever its SQL would depend on the values. (That no plan
outlives its database is ``tests/test_db.py``'s.)"""

from __future__ import annotations

import peewee

from governance.auth.tables import ApiToken, User
from governance.auth.users import add_user, issue_token
from governance.db import HotSelect
from governance.registry.people import add_production
from governance.registry.tables import Production


def _tokens_of(name: str) -> peewee.ModelSelect:
    return ApiToken.select(ApiToken, User).join(User).where(User.name == name).order_by(ApiToken.id)


def test_a_hot_select_gives_the_rows_and_joined_records_peewee_gives(any_db):
    add_user("ada", ["approver"])
    issue_token("ada", label="one")
    issue_token("ada", label="two")
    hot = HotSelect(_tokens_of, User.name)
    for _ in range(2):  # the plan, then the kept SQL
        rows = hot.all("ada")
        assert [(t.label, t.user.name) for t in rows] == [(t.label, t.user.name) for t in _tokens_of("ada")]
    assert hot.all("nobody") == [] and hot.first("nobody") is None


def test_constants_after_the_values_are_kept_with_the_sql(any_db):
    add_production("harbour-lights")
    add_production("northern-line")
    hot = HotSelect(lambda name: Production.select().where(Production.name == name).limit(1), Production.name)
    assert hot.first("harbour-lights").name == "harbour-lights"
    assert hot.first("northern-line").name == "northern-line"


def test_a_query_whose_sql_depends_on_its_values_runs_through_peewee_every_time(any_db):
    for name in ("a", "b", "c"):
        add_user(name, ["producer"])
    hot = HotSelect(lambda names: User.select().where(User.name.in_(names)).order_by(User.name), User.name)
    assert [u.name for u in hot.all(["a"])] == ["a"]
    assert [u.name for u in hot.all(["a", "c"])] == ["a", "c"]  # a kept plan would bind one value


def test_a_first_call_with_none_leaves_the_plan_to_the_next_call(any_db):
    from governance.db import database
    add_user("ada", ["approver"])
    hot = HotSelect(lambda name: User.select().where(User.name == name).limit(1), User.name)
    assert hot.first(None) is None  # peewee writes `IS NULL`, no parameter to bind
    assert database.obj not in hot._plans
    assert hot.first("ada").name == "ada"
    assert hot._plans[database.obj] is not None
    assert hot.first("ada").name == "ada" and hot.first(None) is None


def test_a_none_asks_what_peewee_asks_even_with_a_kept_plan(any_db):
    from governance.auth.tables import ApiToken
    add_user("ada", ["approver"])
    issue_token("ada", label="kept")
    hot = HotSelect(lambda at: ApiToken.select().where(ApiToken.revoked_at == at), ApiToken.revoked_at)
    assert hot.all(None)  # ... IS NULL: the unrevoked token
    from governance.clock import utcnow
    assert hot.all(utcnow()) == []  # the plan, bound
    assert [t.label for t in hot.all(None)] == ["kept"] == [t.label for t in ApiToken.select().where(
        ApiToken.revoked_at.is_null())]
