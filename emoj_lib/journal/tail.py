"""What a writer knows about the end of a journal file: its quote parity and the entry ids it holds.

A writer appends under the exclusive lock. Before appending it must know whether the last row was cut
short by a crash (the file does not end with a line end, or ends inside a quoted field) and whether the
entry id it appends is already used. :class:`Tail` learns both by scanning the file once per
:class:`~emoj_lib.journal.store.Journal` object, then only what other writers appended since.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass, field

from emoj_lib.journal.fileformat import KINDS


@dataclass
class Tail:
    """The scanned part of one journal file (``dev``, ``ino``) up to ``size``."""

    dev: int
    ino: int
    size: int = 0
    odd: bool = False  # inside quotes at ``size``
    ids: set[str] = field(default_factory=set)  # ids of entry and delete rows

    def same_file(self, st: os.stat_result) -> bool:
        """Whether ``st`` is the file scanned, not shorter than what was scanned."""
        return (self.dev, self.ino) == (st.st_dev, st.st_ino) and self.size <= st.st_size

    def update(self, fd: int, size: int) -> None:
        """Scan ``fd`` from ``self.size`` to ``size``: quote parity and the ids of new rows."""
        if size <= self.size:
            return
        with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mm:
            pos = mm.find(b'"', self.size)
            while pos >= 0:  # memchr from quote to quote: quotes are rare (only in some notes)
                self.odd = not self.odd
                pos = mm.find(b'"', pos + 1)
            for prefix in (b"\nentry,", b"\ndelete,"):
                self._ids(mm, prefix, max(self.size - 1, 0))
        self.size = size

    def _ids(self, mm: mmap.mmap, prefix: bytes, start: int) -> None:
        pos = mm.find(prefix, start)
        while pos >= 0:
            begin = pos + len(prefix)
            end = mm.find(b",", begin, begin + 65)
            if end > begin:
                self.ids.add(mm[begin:end].decode("ascii", "replace"))
            pos = mm.find(prefix, begin)

    def cut_entry_id(self, fd: int, size: int) -> str | None:
        """Return the id of the entry row cut short at the end of the file (``size``), if the last row is one.

        Call it when the file does not end a row (a writer killed mid-row): that entry was never acknowledged
        and reading skips it, so its photo has no row. The last row starts at the last line that begins with a
        row kind outside quotes (a quoted note may hold such a line; quote parity tells them apart); it was cut
        if no line end outside quotes follows its start.
        """
        prefixes = [b"\n" + kind.encode() + b"," for kind in KINDS]
        with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mm:
            end = size
            while True:
                start = max(mm.rfind(prefix, 0, end) for prefix in prefixes)
                if start < 0:
                    return None
                row = mm[start + 1:size]
                if row.count(b'"') % 2 == self.odd:  # outside quotes: a real row start
                    break
                end = start
        newline = row.find(b"\n")
        while newline >= 0:
            if row.count(b'"', 0, newline) % 2 == 0:
                return None  # that row ended; the cut is in a later line that is not a row
            newline = row.find(b"\n", newline + 1)
        if not row.startswith(b"entry,"):
            return None
        comma = row.find(b",", 6, 6 + 65)
        return row[6:comma].decode("ascii", "replace") if comma > 6 else None

    def appended(self, size: int, payload: bytes, ids: list[str]) -> None:
        """Record a successful append of whole rows (``payload``) of entry ids ``ids`` at ``size``."""
        self.size = size + len(payload)
        self.odd = False
        self.ids.update(ids)
