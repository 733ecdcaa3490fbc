"""Facts about an image's pixels for output review: what registered work it resembles, who is
in the picture, how far it is from the production's look.

Plain values and helpers: nothing here knows the registry, the database or HTTP, and nothing
is downloaded at run time (every detector ships inside an installed package or is a file the
studio provides). The registry computes an asset's fingerprints with ``fingerprints`` and
keeps them in an ``index.AssetIndex`` in the data folder; output review asks that index for
the works an image is nearest to, ``faces`` for the people in it and ``style`` for its
distance to the production's look.
"""
