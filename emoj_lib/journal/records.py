"""Splitting a journal's bytes into CSV records with the csv module, keeping byte offsets and line numbers.

:func:`iter_records` is the one tokenizer of the journal: the reader, :meth:`Journal.delete
<emoj_lib.journal.store.Journal.delete>` and :func:`~emoj_lib.journal.repair.repair_journal` use it. The
csv module does the parsing (quotes, doubled quotes, quoted line breaks); this module adds what the format
needs: where each record starts and ends in the file, its first physical line, whether it is complete
(a crash can cut the last one short), and no field size limit for our own files.

Speed: a row's last field (the 9 KB pixel string of an entry) is the text after the last comma of its
last line, which holds no quote. So each physical line is handed to the csv parser without the text after
its last comma (when that text holds no quote, removing it changes no quote state, so the records are
split exactly as on the whole line), and the text is put back as the record's last field. A record of
several lines, whose earlier lines lost such a text, is parsed again whole.
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
    """Physical lines of ``raw[pos:]`` as text, without the quote-free text after their last comma.

    That text is kept in ``tails``; ``count`` counts lines, ``ended`` says whether the last one had a line end.
    """

    def __init__(self, raw: bytes | mmap.mmap, pos: int) -> None:
        self.raw, self.pos, self.count, self.ended = raw, pos, 0, True
        self.tails: list[str | None] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw, pos = self.raw, self.pos
        if pos >= len(raw):
            raise StopIteration
        nl = raw.find(b"\n", pos)
        end = len(raw) if nl < 0 else nl + 1
        self.pos, self.count, self.ended = end, self.count + 1, nl >= 0
        comma = raw.rfind(b",", pos, end)
        if comma < 0 or raw.find(b'"', comma, end) >= 0:
            self.tails.append(None)
            return raw[pos:end].decode("utf-8", "surrogateescape")
        stop = end - (nl >= 0)
        if stop > comma + 1 and raw[stop - 1] == 13:  # keep a \r before the \n with the line end
            stop -= 1
        self.tails.append(raw[comma + 1:stop].decode("utf-8", "surrogateescape"))
        return (raw[pos:comma + 1] + raw[stop:end]).decode("utf-8", "surrogateescape")


def _put_back(src: _Lines, fields: list[str], start: int) -> list[str]:
    """Return the fields of the record just parsed with the text cut from its lines put back."""
    tails = src.tails
    if len(tails) > 1 and any(t is not None for t in tails[:-1]):
        text = src.raw[start:src.pos].decode("utf-8", "surrogateescape")
        return next(csv.reader([text], strict=True))
    if tails and tails[-1] is not None and fields:
        fields[-1] += tails[-1]
    return fields


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
            src.tails = []
            try:
                fields = _put_back(src, next(reader), start)
            except StopIteration:
                return
            except csv.Error as exc:
                at_end = src.pos >= len(raw)
                complete = not (at_end and "unexpected end of data" in str(exc))
                yield Record(first, start, src.pos, None, complete, f"not a valid CSV row: {exc}")
                continue
            yield Record(first, start, src.pos, fields, src.ended)
