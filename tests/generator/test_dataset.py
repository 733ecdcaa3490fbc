import numpy as np

from generator.dataset import PALETTE, SHAPES, studio_dataset


def test_same_seed_gives_same_png_bytes():
    assert [i.png for i in studio_dataset(6, size=64)] == [i.png for i in studio_dataset(6, size=64)]
    assert [i.png for i in studio_dataset(6, size=64, seed=1)] != [i.png for i in studio_dataset(6, size=64)]


def test_images_use_only_the_studio_palette_and_captions_name_what_is_drawn():
    palette = {tuple(c) for c in PALETTE.values()}
    for image in studio_dataset(len(SHAPES), size=64):
        pixels = np.asarray(image.image()).reshape(-1, 3)
        assert {tuple(p) for p in np.unique(pixels, axis=0)} <= palette
        assert image.shape in image.caption and image.colour in image.caption
        assert image.caption.endswith("slate studio style")
