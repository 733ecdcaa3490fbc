"""Facts about an image's pixels for the output review: who is in the picture, how far it is
from the production's look, what registered work it resembles.

Plain functions over decoded pixels: no database, no HTTP, nothing downloaded at run time
(every detector and model ships inside an installed package or is a file the studio provides).
"""
