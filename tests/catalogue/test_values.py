"""Checking the values a record is given against the catalogue, and extending closed lists."""

from __future__ import annotations

import pytest

from governance.catalogue import EMPTY
from governance.errors import InvalidInput
from governance.registry.vocabulary import CONSENT_USES, LICENCE_GRANTS


def _refused(catalogue, kind, values) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        catalogue.check_values(kind, values)
    assert caught.value.status == 422
    return caught.value.fields


def test_declared_values_of_every_type_are_accepted_as_stored(studio):
    assert studio.check_values("licence", {"projects": ["harbour-lights", "harbour-lights"],
                                           "union_rider": "equity-uk-2024", "max_print_run": 5000}) == {
        "projects": ["harbour-lights"], "union_rider": "equity-uk-2024", "max_print_run": 5000}
    assert studio.check_values("consent", {"review_due": "2027-03-01", "rider_terms": "no dubbing"})["review_due"] \
        == "2027-03-01"
    assert studio.check_values("person", {"union_member": False}) == {"union_member": False}
    assert studio.check_values("asset", {"clearances": ["music", "location"]}) == {"clearances": ["music", "location"]}


def test_an_undeclared_name_is_refused_naming_the_field(studio):
    assert _refused(studio, "licence", {"territory_notes": "x"}) == {
        "attributes.territory_notes": "is not declared for a licence in the catalogue"}


@pytest.mark.parametrize("kind, name, value", [
    ("licence", "projects", "harbour-lights"),         # a list given as one text
    ("licence", "union_rider", "sag-aftra-1999"),      # not one of the enum's values
    ("licence", "max_print_run", "5000"),              # a number given as text
    ("licence", "max_print_run", True),                # a bool is not a number
    ("person", "union_member", "yes"),                 # a bool given as text
    ("consent", "review_due", "01/03/2027"),           # a date not written YYYY-MM-DD
    ("consent", "review_due", "2027-02-30"),           # no such day
    ("asset", "clearances", ["music", "weather"]),     # an enumList value outside its values
])
def test_a_value_of_the_wrong_type_is_refused_naming_the_field_and_the_type(studio, kind, name, value):
    refused = _refused(studio, kind, {name: value})
    assert list(refused) == [f"attributes.{name}"]
    assert refused[f"attributes.{name}"].startswith(studio.attribute(kind, name).type)


def test_every_bad_field_is_named_at_once(studio):
    assert set(_refused(studio, "licence", {"projects": 1, "nope": 2, "union_rider": None})) == {
        "attributes.projects", "attributes.nope"}


def test_none_unsets_and_values_from_an_older_catalogue_are_kept(studio):
    stored = {"projects": ["a"], "retired_term": "kept"}
    assert studio.updated("licence", stored, {"projects": None, "union_rider": "sag-aftra-2023"}) == {
        "retired_term": "kept", "union_rider": "sag-aftra-2023"}


def test_a_studio_without_a_catalogue_accepts_no_attribute():
    assert _refused(EMPTY, "licence", {"projects": ["a"]}) == {
        "attributes.projects": "is not declared for a licence in the catalogue"}


def test_an_unknown_kind_or_a_non_object_is_refused(studio):
    with pytest.raises(InvalidInput, match="not a kind of record"):
        studio.check_values("model", {})
    _refused(studio, "licence", ["projects"])


def test_vocabularies_are_extended_after_slates_own_values_and_never_shrunk(studio):
    grants = studio.vocabulary("licence.grants", LICENCE_GRANTS)
    assert grants[:len(LICENCE_GRANTS)] == LICENCE_GRANTS and grants[len(LICENCE_GRANTS):] == ("dubbing", "trailer")
    assert studio.vocabulary("consent.uses", CONSENT_USES)[-1] == "digital_double"
    assert studio.vocabulary("person.kinds", ("performer",)) == ("performer",)
