"""Splitting a journal's bytes into CSV records with the csv module, keeping byte offsets and line numbers.

:func:`iter_records` is the one tokenizer of the journal: the reader, :meth:`Journal.delete
<emoj_lib.journal.store.Journal.delete>` and :func:`~emoj_lib.journal.repair.repair_journal` use it. The
csv module does the parsing (quotes, doubled quotes, quoted line breaks); this module adds what the format
needs: where each record starts and ends in the file, its first physical line, whether it is complete
(a crash can cut the last one short), and no field size limit for our own files.
"""

from __future__ import annotations

import csv
import mmap
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """One CSV record of a journal file.

    Attributes
    ----------
    line : int
        Its first physical line (1-based).
    start, end : int
        Its bytes: ``raw[start:end]`` (the final line end included when there is one).
    fields : list of str or None
        The parsed fields (``None`` when it could not be parsed; ``error`` says why). Bytes that are not
        UTF-8 come out as lone surrogates (``surrogateescape``), which the reader reports.
    complete : bool
        False for a record cut short by the end of the file (no final line end, or inside quotes).
    error : str
        Why it could not be parsed, or ``""``.

    """

    line: int
    start: int
    end: int
    fields: list[str] | None
    complete: bool
    error: str = ""


class _Lines:
    """Physical lines of ``raw[pos:]`` as text, counting lines and remembering where the last one ended."""

    def __init__(self, raw: bytes | mmap.mmap, pos: int) -> None:
        self.raw, self.pos, self.count, self.ended = raw, pos, 0, True

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.raw
        if self.pos >= len(raw):
            raise StopIteration
        nl = raw.find(b"\n", self.pos)
        end = len(raw) if nl < 0 else nl + 1
        chunk = raw[self.pos:end]
        self.pos, self.count, self.ended = end, self.count + 1, nl >= 0
        return chunk.decode("utf-8", "surrogateescape")


@contextmanager
def no_field_limit() -> Iterator[None]:
    """Lift the csv module's field size limit (131,072 characters) while reading our own files."""
    old = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def iter_records(raw: bytes | mmap.mmap, pos: int = 0, line: int = 1) -> Iterator[Record]:
    """Yield every CSV record of ``raw[pos:]`` (``line`` is the physical line at ``pos``).

    A record continues over line breaks inside quotes. A record that cannot be parsed ends at the end
    of the physical line where the parser gave up, and the next record starts after it.
    """
    src = _Lines(raw, pos)
    reader = csv.reader(src, strict=True)
    with no_field_limit():
        while src.pos < len(raw):
            start, first = src.pos, line + src.count
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                at_end = src.pos >= len(raw)
                complete = not (at_end and "unexpected end of data" in str(exc))
                yield Record(first, start, src.pos, None, complete, f"not a valid CSV row: {exc}")
                continue
            yield Record(first, start, src.pos, fields, src.ended)
