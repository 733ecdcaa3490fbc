"""Faces in real photos (scikit-image's samples, LFW's subset): found where people are, not
elsewhere, and matched to the same face under mild changes but not to other people's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from governance.errors import ConfigurationError, InvalidInput
from governance.perception.faces import (
    DETECTOR_VERSION,
    FaceBox,
    FaceDescriptor,
    FaceMatcher,
    LbpFaceMatcher,
    OnnxFaceMatcher,
    detect_faces,
    load_face_matcher,
)
from tests.perception.conftest import NO_FACES, RGB, encode, jpeg, photo
from tests.perception.onnx_model import write_embedding_model

#: Where the astronaut's face is in astronaut.png (x, y, width, height), read off the photo.
ASTRONAUT_FACE = FaceBox(178, 68, 95, 95, "frontal")


def blurred_noise(seed: int, size: int = 512) -> RGB:
    """A soft, smooth colour field: the kind of background a diffusion model paints."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size, size, 3)).astype(np.uint8)
    smooth = cv2.GaussianBlur(noise, (0, 0), 12)
    return cv2.normalize(smooth, None, 40, 200, cv2.NORM_MINMAX).astype(np.uint8)


def lfw_on_canvas(patch: npt.NDArray[np.float64], size: int, background: RGB) -> RGB:
    grey = cv2.resize((patch * 255).astype(np.uint8), (size, size), interpolation=cv2.INTER_CUBIC)
    canvas = background.copy()
    top = (canvas.shape[0] - size) // 2
    canvas[top:top + size, top:top + size] = grey[..., None]
    return canvas


def test_the_astronaut_has_exactly_one_face_boxed_on_her_face(astronaut: RGB) -> None:
    faces = detect_faces(astronaut)
    assert len(faces) == 1
    assert faces[0].pose == "frontal"
    assert faces[0].overlap(ASTRONAUT_FACE) > 0.9
    assert 0.8 < faces[0].area / ASTRONAUT_FACE.area < 1.25


def test_the_cameraman_is_found_in_profile() -> None:
    faces = detect_faces(photo("camera"))
    assert len(faces) == 1
    assert faces[0].pose == "profile"
    # his head, turned to the camera at the left of the photo
    assert 150 < faces[0].x + faces[0].width / 2 < 260 and 100 < faces[0].y + faces[0].height / 2 < 190


@pytest.mark.parametrize("name", NO_FACES)
def test_photos_without_people_have_no_faces(name: str) -> None:
    assert detect_faces(photo(name)) == ()


def test_lfw_faces_on_a_generated_looking_canvas_are_found_and_non_faces_are_not(
        lfw: npt.NDArray[np.float64]) -> None:
    background = blurred_noise(seed=0)
    found = [len(detect_faces(lfw_on_canvas(patch, 128, background))) > 0 for patch in lfw]
    recall, false_positives = np.mean(found[:100]), int(np.sum(found[100:]))
    # measured: recall 0.98, no false positive (module docstring)
    assert recall >= 0.93
    assert false_positives <= 1


def test_a_face_pasted_into_a_generated_looking_background_is_found_where_it_was_pasted(astronaut: RGB) -> None:
    scene = blurred_noise(seed=7)
    head = astronaut[30:210, 140:310]
    scene[250:430, 60:230] = head
    faces = detect_faces(scene)
    assert len(faces) == 1
    pasted_face = FaceBox(ASTRONAUT_FACE.x - 140 + 60, ASTRONAUT_FACE.y - 30 + 250, 95, 95, "frontal")
    assert faces[0].overlap(pasted_face) > 0.8


def test_two_people_in_one_frame_are_two_faces_and_a_blank_frame_none(astronaut: RGB) -> None:
    scene = blurred_noise(seed=3)
    head = astronaut[30:210, 140:310]
    scene[40:220, 20:190] = head
    scene[290:470, 320:490] = head[:, ::-1]
    faces = detect_faces(scene)
    assert len(faces) == 2
    assert {(face.x < 256, face.y < 256) for face in faces} == {(True, True), (False, False)}
    assert detect_faces(np.full((512, 512, 3), 128, dtype=np.uint8)) == ()


def test_encoded_images_give_the_same_faces_as_their_pixels(astronaut: RGB) -> None:
    assert detect_faces(encode(astronaut)) == detect_faces(astronaut)
    assert len(detect_faces(encode(astronaut, "JPEG", quality=80))) == 1


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "no image data"),
    (b"this is not an image at all", "format is not one Pillow recognises"),
])
def test_undecodable_bytes_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        detect_faces(data)


def test_a_truncated_image_is_refused_as_corrupt(astronaut: RGB) -> None:
    data = encode(astronaut)
    with pytest.raises(InvalidInput, match="truncated or corrupt"):
        detect_faces(data[: len(data) // 2])


def test_an_image_over_the_pixel_limit_is_refused_undecoded(astronaut: RGB) -> None:
    with pytest.raises(InvalidInput, match="more than the limit of 100,000 pixels"):
        detect_faces(encode(astronaut), max_pixels=100_000)
    with pytest.raises(InvalidInput, match="more than the limit"):
        detect_faces(astronaut, max_pixels=100_000)


def test_pixels_that_are_not_rgb_are_refused(astronaut: RGB) -> None:
    with pytest.raises(InvalidInput, match="not an RGB image"):
        detect_faces(astronaut[..., 0])
    with pytest.raises(InvalidInput, match="not an RGB image"):
        detect_faces(astronaut.astype(np.float32))


def test_the_detector_version_names_opencv_and_its_cascades() -> None:
    assert DETECTOR_VERSION.startswith(f"opencv-{cv2.__version__}/")
    assert "frontalface_alt2" in DETECTOR_VERSION and "profileface" in DETECTOR_VERSION


# -- matching ---------------------------------------------------------------------------------


def mildly_changed(face: RGB) -> RGB:
    """Scaled to 80% and back, 20 levels brighter, shifted 2 pixels, saved as JPEG q=70."""
    height, width = face.shape[:2]
    smaller = cv2.resize(face, (width * 4 // 5, height * 4 // 5), interpolation=cv2.INTER_AREA)
    changed = cv2.resize(smaller, (width, height), interpolation=cv2.INTER_LINEAR)
    brighter = np.clip(changed.astype(np.int16) + 20, 0, 255).astype(np.uint8)
    return jpeg(np.roll(brighter, (2, 2), axis=(0, 1)))


def lfw_faces(lfw: npt.NDArray[np.float64]) -> list[RGB]:
    return [np.stack([cv2.resize((patch * 255).astype(np.uint8), (100, 100),
                                 interpolation=cv2.INTER_CUBIC)] * 3, axis=-1) for patch in lfw[:100]]


def test_the_default_matcher_is_a_face_matcher() -> None:
    assert isinstance(LbpFaceMatcher(), FaceMatcher)


def test_each_face_after_a_mild_change_is_nearest_to_itself_and_within_the_threshold(
        lfw: npt.NDArray[np.float64]) -> None:
    matcher, whole = LbpFaceMatcher(), FaceBox(0, 0, 100, 100, "frontal")
    faces = lfw_faces(lfw)
    references = [matcher.describe(face, whole) for face in faces]
    probes = [matcher.describe(mildly_changed(face), whole) for face in faces]
    distances = np.array([[matcher.distance(probe, reference) for reference in references] for probe in probes])
    same = np.diag(distances)
    others = distances[~np.eye(len(faces), dtype=bool)]
    assert (distances.argmin(axis=1) == np.arange(len(faces))).all()
    # measured: same face at most 0.143, two people at least 0.220 apart
    assert same.max() < LbpFaceMatcher.MATCH_THRESHOLD < others.min()


def test_the_astronaut_found_again_in_a_changed_copy_matches_her_and_nobody_else(
        astronaut: RGB, lfw: npt.NDArray[np.float64]) -> None:
    matcher = LbpFaceMatcher()
    reference = matcher.describe(astronaut, detect_faces(astronaut)[0])
    smaller = cv2.resize(astronaut, (440, 440), interpolation=cv2.INTER_AREA)
    copy = jpeg(np.roll(np.clip(smaller.astype(np.int16) - 15, 0, 255).astype(np.uint8), (3, -2), axis=(0, 1)))
    (found,) = detect_faces(copy)
    probe = matcher.describe(copy, found)
    whole = FaceBox(0, 0, 100, 100, "frontal")
    strangers = [matcher.distance(probe, matcher.describe(face, whole)) for face in lfw_faces(lfw)]
    assert matcher.distance(probe, reference) <= LbpFaceMatcher.MATCH_THRESHOLD < min(strangers)


def test_a_descriptor_never_shows_its_values(astronaut: RGB) -> None:
    matcher = LbpFaceMatcher()
    descriptor = matcher.describe(astronaut, detect_faces(astronaut)[0])
    shown = [repr(descriptor), str(descriptor), f"{descriptor}", repr((descriptor,)), repr({"face": descriptor})]
    values = {f"{v:.3f}" for v in descriptor.values[descriptor.values > 0][:20]} | {"0.0", "array("}
    for text in shown:
        assert "withheld" in text
        assert not any(value in text for value in values), text


def test_descriptors_of_another_matcher_are_refused_without_showing_values(astronaut: RGB) -> None:
    matcher = LbpFaceMatcher()
    ours = matcher.describe(astronaut, detect_faces(astronaut)[0])
    theirs = FaceDescriptor("someone-elses-model/v3", ours.values.copy())
    with pytest.raises(InvalidInput, match="someone-elses-model/v3") as raised:
        matcher.distance(ours, theirs)
    assert "0." not in raised.value.diagnostics()


def test_a_box_outside_the_image_is_refused(astronaut: RGB) -> None:
    with pytest.raises(InvalidInput, match="outside the 512x512 image"):
        LbpFaceMatcher().describe(astronaut, FaceBox(600, 10, 50, 50, "frontal"))


# -- the studio's own model -------------------------------------------------------------------


def tiny_model(tmp_path: Path, seed: int, input_size: int = 32) -> tuple[Path, npt.NDArray[np.float32]]:
    weights = np.random.default_rng(seed).standard_normal((16, 3 * input_size * input_size)).astype(np.float32)
    return write_embedding_model(tmp_path / f"face-model-{seed}.onnx", weights, input_size), weights


def test_a_studio_onnx_model_is_loaded_by_opencv_and_gives_its_own_embedding(
        tmp_path: Path, astronaut: RGB) -> None:
    path, weights = tiny_model(tmp_path, seed=1)
    matcher = load_face_matcher(path, input_size=32)
    assert isinstance(matcher, OnnxFaceMatcher) and isinstance(matcher, FaceMatcher)
    (box,) = detect_faces(astronaut)
    descriptor = matcher.describe(astronaut, box)
    # the same arithmetic by hand: the face box, 32x32, (v - 127.5) / 128, channels first, x @ W.T
    crop = cv2.resize(astronaut[box.y:box.y + box.height, box.x:box.x + box.width], (32, 32),
                      interpolation=cv2.INTER_AREA)
    expected = ((crop.astype(np.float32) - 127.5) / 128).transpose(2, 0, 1).reshape(-1) @ weights.T
    assert np.allclose(descriptor.values, expected / np.linalg.norm(expected), atol=1e-4)
    assert matcher.distance(descriptor, descriptor) == pytest.approx(0.0, abs=1e-6)
    stranger = matcher.describe(photo("camera"), detect_faces(photo("camera"))[0])
    assert 0.0 < matcher.distance(descriptor, stranger) <= 1.0


def test_the_studio_model_version_names_the_file_so_two_models_never_compare(
        tmp_path: Path, astronaut: RGB) -> None:
    first, second = (OnnxFaceMatcher(tiny_model(tmp_path, seed)[0], input_size=32) for seed in (1, 2))
    assert first.VERSION != second.VERSION and first.VERSION.startswith("onnx-sha256:")
    (box,) = detect_faces(astronaut)
    with pytest.raises(InvalidInput, match="cannot be compared"):
        first.distance(first.describe(astronaut, box), second.describe(astronaut, box))


def test_a_missing_or_damaged_model_file_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_face_matcher(tmp_path / "absent.onnx")
    damaged = tmp_path / "damaged.onnx"
    damaged.write_bytes(tiny_model(tmp_path, seed=1)[0].read_bytes()[:100])
    with pytest.raises(ConfigurationError, match=r"damaged\.onnx is not an ONNX model"):
        load_face_matcher(damaged)


def test_without_a_studio_model_the_offline_default_matches() -> None:
    assert isinstance(load_face_matcher(None), LbpFaceMatcher)
