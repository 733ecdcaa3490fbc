"""Perceptual fingerprints of images and the nearest-neighbour index that holds them.

Plain values and helpers: nothing here knows the registry, the database or HTTP. The
registry computes an asset's fingerprints with ``fingerprints`` and keeps them in an
``index.AssetIndex`` in the data folder; output review asks that index for the works an
image is nearest to.
"""
