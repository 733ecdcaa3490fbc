"""What every Slate process logs: never a prompt, never untrusted text as a traceback.

Called by the app factory and by the CLI once it opens the database.
"""

from __future__ import annotations

import logging


def quiet_query_logging() -> None:
    """peewee logs every query with its parameters at DEBUG, and parameters include prompts.
    Pin its logger above DEBUG so a root logger turned to DEBUG cannot write them out."""
    logging.getLogger("peewee").setLevel(logging.INFO)
    logging.getLogger("slate").setLevel(logging.INFO)
    # pyhanko warns with tracebacks quoting certificate names taken from uploaded documents;
    # a refused document is already explained to the caller in Slate's own words
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.ERROR)
