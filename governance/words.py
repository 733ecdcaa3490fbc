"""Words of free text as Slate compares them: runs of letters and digits (an apostrophe or a
hyphen inside one keeps it whole: "O'Neill", "Jean-Luc"), casefolded, so "MAYA OKAFOR,"
reads as ``["maya", "okafor"]``. One definition for the prompt's words a policy reads
(``policy.facts``), the names found in a prompt, and the key the person registry finds
those names by (``registry.tables.Person.name_first``): if they disagreed, a name could be
in a prompt and never looked up.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*", re.UNICODE)


def folded_words(text: str) -> list[str]:
    """The words of ``text``, casefolded, in order."""
    return [w.casefold() for w in WORD.findall(text)]


def first_word(text: str) -> str:
    """The first folded word of ``text`` ("" for text without one): a person's lookup key."""
    found = WORD.search(text)
    return found.group().casefold() if found else ""
