"""Editorial timelines (provenance.timelines): a cut read with OpenTimelineIO from CMX 3600,
FCP 7 XML or .otio, its clips mapped to the production's signed outputs; hostile files are
refused as InvalidInput."""

from __future__ import annotations

import opentimelineio as otio
import pytest

from governance.errors import InvalidInput, NotFound
from governance.ledger.tables import Output
from governance.principal import Principal
from governance.provenance import timelines
from governance.provenance.timelines import match_clips, read_timeline

PRODUCTION = "harbour-lights"


def edl(*events: tuple[str, str]) -> bytes:
    """A CMX 3600 EDL: one two-second video event per (comment kind, value)."""
    lines = ["TITLE: HARBOUR CUT V3", "FCM: NON-DROP FRAME", ""]
    for n, (kind, value) in enumerate(events, start=1):
        record_in, record_out = f"01:00:{2 * (n - 1):02d}:00", f"01:00:{2 * n:02d}:00"
        lines += [f"{n:03d}  AX       V     C        00:00:00:00 00:00:02:00 {record_in} {record_out}",
                  f"* FROM {kind}: {value}", ""]
    return "\n".join(lines).encode()


def test_a_cmx_3600_edl_of_three_clips_maps_to_their_outputs(signed):
    plain, plate, mara = (signed.outputs[k] for k in ("plain", "plate", "mara"))
    mara_job = Output.get(Output.sha256 == mara).job_id
    data = edl(("FILE", f"/renders/harbour/{plain}.png"),   # full SHA-256 in the media reference
               ("CLIP NAME", f"plate_{plate[:14]}_v2"),     # 14-hex prefix in the clip name
               ("FILE", f"/downloads/{mara_job}.png"))      # the name Slate downloads the output as
    timeline = read_timeline(data, "harbour_v3.edl")
    assert (timeline.name, timeline.format, len(timeline.clips)) == ("HARBOUR CUT V3", "cmx_3600", 3)
    scope = match_clips(timeline, PRODUCTION, None)
    assert scope.outputs == (plain, plate, mara)
    assert [m.by for m in scope.matched] == ["media_reference", "clip_name", "file_name"]
    assert scope.unmatched == ()
    assert scope.to_dict() == {"name": "HARBOUR CUT V3", "format": "cmx_3600", "clips": 3, "matched": 3,
                               "unmatched": []}


def test_clips_that_map_to_no_output_are_listed_with_the_reason(signed):
    other_production_sha = "d" * 64
    data = edl(("CLIP NAME", "slate_black"), ("FILE", f"/renders/{other_production_sha}.exr"),
               ("CLIP NAME", signed.outputs["plain"][:8] + "_short"), ("CLIP NAME", signed.outputs["other"]))
    scope = match_clips(read_timeline(data, "cut.EDL"), PRODUCTION, None)
    assert scope.outputs == (signed.outputs["other"],)
    reasons = {u.clip: u.reason for u in scope.unmatched}
    assert set(reasons) == {"001 slate_black", f"002 {other_production_sha}",
                            f"003 {signed.outputs['plain'][:8]}_short"}
    assert "holds no output hash" in reasons["001 slate_black"]
    assert "is not an output of production 'harbour-lights'" in reasons[f"002 {other_production_sha}"]
    assert "holds no output hash" in reasons[f"003 {signed.outputs['plain'][:8]}_short"]  # 8 digits are too few


def test_an_output_of_another_production_does_not_match(signed):
    from governance.registry import people
    people.add_production("salt-road")
    scope = match_clips(read_timeline(edl(("FILE", f"/r/{signed.outputs['plain']}.png")), "c.edl"), "salt-road", None)
    assert scope.outputs == ()
    assert "not an output of production 'salt-road'" in scope.unmatched[0].reason


def test_a_producer_of_another_production_learns_nothing(signed):
    outsider = Principal(user_id=99, name="pat-other", roles=frozenset({"producer"}),
                         productions=frozenset({"northern-line"}))
    timeline = read_timeline(edl(("FILE", f"/r/{signed.outputs['plain']}.png")), "c.edl")
    with pytest.raises(NotFound) as hidden:
        match_clips(timeline, PRODUCTION, outsider)
    with pytest.raises(NotFound) as missing:
        match_clips(timeline, "no-such-production", outsider)
    assert str(hidden.value).replace(PRODUCTION, "X") == str(missing.value).replace("no-such-production", "X")


def _otio_timeline(references: list[tuple[str, str | None]]) -> otio.schema.Timeline:
    timeline = otio.schema.Timeline(name="REEL 2")
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for name, url in references:
        media = otio.schema.ExternalReference(target_url=url) if url else otio.schema.MissingReference()
        rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(48, 24))
        media.available_range = rng
        track.append(otio.schema.Clip(name=name, media_reference=media, source_range=rng))
    return timeline


def test_an_fcp_7_xml_cut_maps_by_media_reference_and_by_name(signed):
    plain, mara = signed.outputs["plain"], signed.outputs["mara"]
    xml = otio.adapters.write_to_string(_otio_timeline([("shot 1", f"file:///renders/{plain}.png"),
                                                        (f"mara_{mara[:12]}", None)]), "fcp_xml")
    timeline = read_timeline(xml.encode(), "reel2.xml")
    assert timeline.format == "fcp_xml"
    assert match_clips(timeline, PRODUCTION, None).outputs == (plain, mara)


def test_an_otio_cut_maps_to_its_outputs(signed):
    plate = signed.outputs["plate"]
    text = otio.adapters.write_to_string(_otio_timeline([("a", f"/renders/{plate}.png"), ("b", None)]), "otio_json")
    scope = match_clips(read_timeline(text.encode(), "reel2.otio"), PRODUCTION, None)
    assert scope.outputs == (plate,)
    assert [u.clip for u in scope.unmatched] == ["002 b"]


@pytest.mark.parametrize(("data", "filename", "words"), [
    (b"001  AX V C 00:00:00:00 garbage\n* FROM CLIP NAME: x\n", "bad.edl", "could not be read"),
    (b"TITLE: T\n\n001  AX  V  C  00:00:00:00 00:00:02:00 99:99:99:99 XX:00:02:00\n", "bad.edl", "could not be read"),
    (b"\xff\xfe\x00garbage", "bad.edl", "not UTF-8"),
    (b"TITLE: T\x00\n", "nul.edl", "NUL"),
    (b"TITLE: T\n", "empty.edl", "no clips"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xmeml>&b;</xmeml>',
     "laughs.xml", "DOCTYPE"),
    (b"<xmeml version='4'><sequence><unclosed>", "broken.xml", "could not be read"),
    (b"[" * 5000 + b"]" * 5000, "deep.otio", "nests deeper"),
    (b'{"OTIO_SCHEMA": "Timeline.1", "tracks": ' + b'{"a": ' * 100 + b"1" + b"}" * 101, "deep2.otio",
     "nests deeper"),
    (b'{"OTIO_SCHEMA": "Clip.2", "name": "x"}', "clip.otio", "does not hold a timeline"),
    (b'{"OTIO_SCHEMA": "Timeline.1", "tracks": 7}', "wrong.otio", "could not be read"),
    (b"{not json", "bad.otio", "not valid JSON"),
    (b"TITLE: T\n", "cut.aaf", "not a timeline Slate reads"),
])
def test_a_hostile_or_garbled_timeline_is_refused_as_invalid_input(data, filename, words):
    with pytest.raises(InvalidInput, match=words):
        read_timeline(data, filename)


def test_an_oversized_timeline_is_refused_before_it_is_parsed(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("parsed an oversized file")
    monkeypatch.setattr(timelines.otio.adapters, "read_from_string", parse)
    with pytest.raises(InvalidInput, match="at most"):
        read_timeline(b"TITLE: T\n" + b" " * timelines.MAX_BYTES, "huge.edl")


def test_a_timeline_with_more_clips_than_the_bound_is_refused(monkeypatch):
    monkeypatch.setattr(timelines, "MAX_CLIPS", 3)
    with pytest.raises(InvalidInput, match="more than 3 clips"):
        read_timeline(edl(*[("CLIP NAME", f"shot{n}") for n in range(4)]), "long.edl")
    assert len(read_timeline(edl(*[("CLIP NAME", f"shot{n}") for n in range(3)]), "ok.edl").clips) == 3


def test_control_characters_in_clip_names_do_not_reach_the_report():
    text = otio.adapters.write_to_string(_otio_timeline([("evil\x1b[2Jname", None)]), "otio_json")
    timeline = read_timeline(text.encode(), "c.otio")
    assert timeline.clips[0].name == "evil[2Jname"
