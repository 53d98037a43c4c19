"""Removing an entry's rows from a journal file's bytes, for :meth:`~emoj_lib.journal.store.Journal.delete`.

The rows of an entry are its ``entry`` row and its ``amend`` rows (notes and tags are its content too).
Recognised by their first two fields, which the writer never quotes, so a damaged row of the entry is
removed as well; a repair marker that followed a removed row goes with it.
"""

from __future__ import annotations

import mmap

from emoj_lib.journal.fileformat import REPAIR_LINE
from emoj_lib.journal.records import iter_records


def without_entry(raw: bytes | mmap.mmap, start: int, entry_id: str) -> tuple[bytes, int]:
    """Return ``raw[start:]`` without the rows of ``entry_id`` (and without a row cut short at the end).

    Returns
    -------
    (bytes, int)
        The bytes kept, and how many rows of the entry were removed (its entry row included).

    """
    prefixes = (f"entry,{entry_id},".encode(), f"amend,{entry_id},".encode())
    kept: list[bytes] = []
    removed = 0
    dropping = False
    for rec in iter_records(raw, start):
        chunk = raw[rec.start:rec.end]
        if chunk.rstrip(b"\r\n") == REPAIR_LINE and dropping:
            continue  # it marked a row just removed
        dropping = chunk.startswith(prefixes)
        if dropping:
            removed += 1
        elif rec.complete:
            kept.append(chunk)
    return b"".join(kept), removed
