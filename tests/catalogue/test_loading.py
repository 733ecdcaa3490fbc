"""Reading a catalogue file: every type, and every problem reported with its line."""

from __future__ import annotations

import pytest

from governance.catalogue import EMPTY, load_catalogue
from governance.catalogue.model import KINDS, TYPES, CatalogueFileError, CatalogueTooLarge
from tests.catalogue.conftest import catalogue_text


def _problems(data: bytes) -> list[str]:
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(data, "test.yaml")
    assert caught.value.status == 422 or isinstance(caught.value, CatalogueTooLarge)
    return caught.value.problems


def test_the_studio_catalogue_declares_an_attribute_on_every_kind_of_record(studio):
    assert set(studio.attributes) == set(KINDS)
    projects = studio.attribute("licence", "projects")
    assert projects is not None and projects.type == "list"
    assert projects.title == "Productions the licence is limited to"
    assert studio.attribute("consent", "union_rider").values == ("sag-aftra-2023", "equity-uk-2024")
    assert studio.version == 1 and len(studio.sha256) == 64


def test_every_type_can_be_declared():
    declared = "\n".join(f"    a_{t.lower()}: {{type: {t}" + (", values: [x, y]" if t.startswith("enum") else "") + "}"
                         for t in TYPES)
    catalogue = load_catalogue(catalogue_text(attributes=f"  asset:\n{declared}"), "t")
    assert {a.type for a in catalogue.declared("asset").values()} == set(TYPES)


def test_an_unknown_type_is_refused_with_its_line_and_the_types_allowed():
    [problem] = _problems(catalogue_text(attributes="  licence:\n    projects: {type: lst}"))
    assert problem.startswith("line 6: attributes.licence.projects.type: 'lst' is not a type; use one of: string")


def test_an_unknown_kind_of_record_is_refused():
    [problem] = _problems(catalogue_text(attributes="  contract:\n    projects: {type: list}"))
    assert "line 5: attributes.contract: 'contract' is not a kind of record; use one of: licence" in problem


@pytest.mark.parametrize("name", ["Projects", "1st", "with-dash", "x" * 41, "ünicode"])
def test_an_attribute_name_outside_lower_snake_case_is_refused(name):
    [problem] = _problems(catalogue_text(attributes=f"  licence:\n    '{name}': {{type: string}}"))
    assert "an attribute name is lower case letters, digits and _" in problem


def test_an_enum_without_values_and_a_string_with_values_are_both_refused():
    problems = _problems(catalogue_text(attributes="  licence:\n    rider: {type: enum}\n"
                                                   "    note: {type: string, values: [a]}"))
    assert problems == ["line 6: attributes.licence.rider.values: needs a list of 1 to 200 values",
                        "line 7: attributes.licence.note.values: only an enum or enumList lists its values"]


@pytest.mark.parametrize("yaml_text, refused", [
    ("uid: x\nversion: 1\nattributes: &terms\n  licence: {p: {type: string}}\n", "anchors (&name)"),
    ("uid: x\nversion: 1\nbase: {type: string}\nattributes:\n  licence: {p: *base}\n", "aliases (*name)"),
    ("uid: x\nversion: 1\nattributes:\n  licence:\n    p:\n      <<: {type: string}\n", "merge keys (<<)"),
])
def test_anchors_aliases_and_merge_keys_are_refused_before_anything_expands(yaml_text, refused):
    [problem] = _problems(yaml_text.encode())
    assert problem.startswith("line ") and f"{refused} are not allowed in a catalogue" in problem


def test_a_file_over_the_size_limit_is_refused_unread():
    with pytest.raises(CatalogueTooLarge) as caught:
        load_catalogue(b"#" * (128 * 1024 + 1), "big.yaml")
    assert caught.value.status == 413


def test_nesting_past_the_limit_is_refused():
    [problem] = _problems(b"uid: x\nversion: 1\nattributes: " + b"[" * 40 + b"]" * 40)
    assert "nested deeper than 32 levels" in problem


def test_a_missing_uid_and_a_version_below_one_are_both_reported():
    problems = _problems(b"version: 0\nattributes: {}\n")
    assert [p.split(":")[1].strip() for p in problems] == ["uid", "version"]


def test_a_vocabulary_slate_does_not_have_is_refused():
    [problem] = _problems(catalogue_text(vocabularies="  model.statuses: [archived]"))
    assert "'model.statuses' is not a list a catalogue extends" in problem


def test_the_empty_catalogue_declares_nothing_and_extends_nothing():
    assert EMPTY.declared("licence") == {} and EMPTY.vocabulary("licence.grants", ("previs",)) == ("previs",)
