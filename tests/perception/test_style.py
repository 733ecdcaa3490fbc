"""The production's look on real photos (scikit-image's samples): a mildly re-graded, cropped
copy stays within the look; different photos fall off it; a look of several references
measures an output against the nearest."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from governance.errors import InvalidInput
from governance.perception.style import (
    LOOK_THRESHOLD,
    PALETTE_WEIGHT,
    STYLE_VERSION,
    TEXTURE_WEIGHT,
    LookProfile,
    StyleFeatures,
    feature_distance,
    style_distance,
    style_features,
)
from tests.perception.conftest import RGB, encode, jpeg, photo

PHOTOS = ("coffee", "astronaut", "rocket", "chelsea", "coins", "camera", "brick", "moon",
          "immunohistochemistry", "hubble_deep_field", "grass")
#: Photos with nothing in common: a cup, a person, a rocket, a cat, coins, a cameraman.
UNLIKE = ("coffee", "astronaut", "rocket", "chelsea", "camera", "coins")


def regraded(pixels: RGB) -> RGB:
    """Cropped 10% (5% each side), 4% brighter, warmer (red +4, blue -4), JPEG q=80."""
    height, width = pixels.shape[:2]
    cropped = pixels[height // 20:height - height // 20, width // 20:width - width // 20].astype(np.float32) * 1.04
    cropped[..., 0] += 4
    cropped[..., 2] -= 4
    return jpeg(np.clip(cropped, 0, 255).astype(np.uint8), quality=80)


@pytest.fixture(scope="module")
def features() -> dict[str, StyleFeatures]:
    return {name: style_features(photo(name)) for name in PHOTOS}


def test_an_image_is_at_distance_zero_from_itself(features: dict[str, StyleFeatures]) -> None:
    distance = feature_distance(features["astronaut"], features["astronaut"])
    assert distance.value == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("name", PHOTOS)
def test_a_mildly_regraded_cropped_copy_stays_within_the_look(name: str, features: dict[str, StyleFeatures]) -> None:
    distance = LookProfile((features[name],)).distance(regraded(photo(name)))
    # measured: at most 0.117 (coffee)
    assert distance.value <= 0.13
    assert not distance.off_look


def test_different_photos_are_off_each_others_look(features: dict[str, StyleFeatures]) -> None:
    for a, b in itertools.combinations(PHOTOS, 2):
        distance = feature_distance(features[a], features[b])
        # measured: at least 0.197 (brick and moon)
        assert distance.value >= 0.18 and distance.off_look, (a, b, distance)


def test_coffee_astronaut_rocket_and_other_unlike_photos_are_far_apart(features: dict[str, StyleFeatures]) -> None:
    for a, b in itertools.combinations(UNLIKE, 2):
        # measured: at least 0.318 (coins and camera)
        assert feature_distance(features[a], features[b]).value >= 0.28, (a, b)


def test_a_look_of_several_references_measures_an_output_against_the_nearest() -> None:
    look = LookProfile.from_images([photo("coffee"), encode(photo("rocket")), photo("chelsea")])
    near_rocket = look.distance(regraded(photo("rocket")))
    assert near_rocket.nearest_reference == 1 and not near_rocket.off_look
    near_cat = style_distance(regraded(photo("chelsea")), look)
    assert near_cat.nearest_reference == 2 and not near_cat.off_look
    assert look.distance(photo("astronaut")).off_look


def test_precomputed_features_give_the_same_distance_as_the_image(features: dict[str, StyleFeatures]) -> None:
    look = LookProfile((features["coffee"], features["rocket"]))
    assert look.distance(features["astronaut"]) == look.distance(photo("astronaut"))


def test_the_distance_is_its_documented_weighted_sum_and_names_its_version(
        features: dict[str, StyleFeatures]) -> None:
    distance = feature_distance(features["coffee"], features["moon"])
    assert distance.value == pytest.approx(PALETTE_WEIGHT * distance.palette + TEXTURE_WEIGHT * distance.texture)
    assert 0.0 <= distance.palette <= 1.0 and 0.0 <= distance.texture <= 1.0
    assert distance.to_dict()["version"] == STYLE_VERSION
    assert 0.1 < LOOK_THRESHOLD < 0.2


def test_a_flat_image_has_a_finite_distance(features: dict[str, StyleFeatures]) -> None:
    grey = np.full((512, 512, 3), 128, dtype=np.uint8)
    distance = LookProfile((features["coffee"],)).distance(grey)
    assert np.isfinite(distance.value) and distance.off_look
    assert LookProfile((style_features(grey),)).distance(grey).value == pytest.approx(0.0, abs=1e-6)


def test_a_look_without_references_is_refused() -> None:
    with pytest.raises(InvalidInput, match="at least one reference"):
        LookProfile(())


def test_an_undecodable_reference_or_output_is_refused(features: dict[str, StyleFeatures]) -> None:
    with pytest.raises(InvalidInput, match="cannot be decoded"):
        LookProfile.from_images([b"GIF89a but not really"])
    with pytest.raises(InvalidInput, match="more than the limit"):
        LookProfile((features["coffee"],)).distance(encode(photo("astronaut")), max_pixels=10_000)


def test_features_of_another_style_version_are_refused(features: dict[str, StyleFeatures]) -> None:
    old = StyleFeatures(features["coffee"].palette, features["coffee"].texture, version="lab-palette/v0")
    with pytest.raises(InvalidInput, match="lab-palette/v0"):
        LookProfile((old,))
    with pytest.raises(InvalidInput, match="lab-palette/v0"):
        LookProfile((features["rocket"],)).distance(old)
