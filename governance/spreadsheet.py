"""CSV that a spreadsheet opens safely: every export Slate offers (uses, credits owed, search
results, the audit log) is written here, so each neutralises formula cells and quotes the same.

A cell starting with = + - @ or a control character would run as a formula in a spreadsheet
(CSV injection, OWASP); it is prefixed with an apostrophe. Lines end in CRLF with RFC 4180
quoting. Long exports are streamed: the header first, then the rows in chunks.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Iterator, Sequence

#: rows are yielded once this many characters are waiting (the header always on its own)
CHUNK = 64_000


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ or a control
    character is prefixed with an apostrophe (OWASP's CSV-injection advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") else text


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The header, then the rows' neutralised cells, as text chunks to stream as they come."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    yield out.getvalue()
    out.seek(0)
    out.truncate()
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        if out.tell() > CHUNK:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue()


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole CSV as one string (small exports)."""
    return "".join(csv_lines(columns, rows))
