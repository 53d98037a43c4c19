"""Scanning a journal file: its rows split into fields, with the format's own checks per row.

:func:`scan_rows` walks the records of :func:`~emoj_lib.journal.records.iter_records` after the version
line and header, and keeps the rows that have the right number of fields, a known kind and (for entries)
a valid pixel string; the others go to the :class:`~emoj_lib.journal.problems.ProblemLog`. Columns are
checked afterwards, all rows at once (:mod:`emoj_lib.journal.checks`).
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path

from emoj_lib.data.pixels import pixel_problem
from emoj_lib.journal.fileformat import COLUMNS, KINDS, REPAIR_LINE, check_head, is_cut_preamble
from emoj_lib.journal.problems import ProblemLog
from emoj_lib.journal.records import Record, iter_records


@dataclass
class Rows:
    """The rows kept by :func:`scan_rows`: fields but the pixels, first lines, kinds and pixel strings."""

    fields: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    pixels: list[str] = field(default_factory=list)

    def drop_last(self) -> int:
        """Drop the last row kept; return its line."""
        for lst in (self.fields, self.kinds, self.pixels):
            del lst[-1]
        return self.lines.pop()


def _row_problem(fields: list[str]) -> tuple[str, str]:
    """Return ``(problem, field)`` of a parsed record, or ``("", "")`` if it is a well-formed row."""
    if len(fields) != len(COLUMNS):
        return f"{len(fields)} field(s), expected {len(COLUMNS)}", ""
    try:
        "\x1f".join(fields[:-1]).encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8", ""
    kind = fields[0]
    if kind not in KINDS:
        return f"kind is {kind[:20]!r}, expected one of {KINDS}", "kind"
    if kind == "entry":
        problem = pixel_problem(fields[-1])
        if problem:
            return problem, "pixels"
    elif fields[-1]:
        return f"a {kind} row has pixels", "pixels"
    return "", ""


class _Scan:
    """The state of one scan: the rows kept, the problems, and whether the last record was kept."""

    def __init__(self, raw: bytes | mmap.mmap, problems: ProblemLog, keep_pixels: bool) -> None:
        self.raw, self.problems, self.keep_pixels = raw, problems, keep_pixels
        self.rows = Rows()
        self.last = ""  # what happened to the previous record: "kept", "problem" or ""

    def take(self, rec: Record) -> None:
        raw = self.raw
        if not rec.complete:
            self._problem(rec.line, "truncated", "the last row is cut short (no final line end: a crash?); skipped")
        elif raw[rec.start:rec.start + 1] == b"#":
            self._comment(rec)
        elif rec.fields is None:
            self._problem(rec.line, "malformed", rec.error)
        elif rec.fields:  # not a blank line
            self._row(rec.line, rec.fields)

    def _problem(self, line: int, kind: str, problem: str, *, entry_id: str = "", fld: str = "") -> None:
        self.problems.add(line, kind, problem, entry_id=entry_id, fld=fld)
        self.last = "problem"

    def _comment(self, rec: Record) -> None:
        if self.raw[rec.start:rec.end].rstrip(b"\r\n") != REPAIR_LINE:
            self._problem(rec.line, "malformed", "unexpected comment line")
            return
        if self.last == "kept":
            self.problems.add(self.rows.drop_last(), "truncated", "row cut short (a crash?); a later writer marked it")
        elif self.last == "problem" and self.problems.rows[-1][1] == "malformed":
            self.problems.mark_truncated(len(self.problems.rows) - 1)
        self.last = ""

    def _row(self, line: int, fields: list[str]) -> None:
        problem, fld = _row_problem(fields)
        if problem:
            entry_id = fields[1] if len(fields) > 1 and fld else ""
            self._problem(line, "malformed", problem, entry_id=entry_id, fld=fld)
            return
        rows = self.rows
        rows.fields.append(fields[:-1])
        rows.lines.append(line)
        rows.kinds.append(fields[0])
        rows.pixels.append(fields[-1] if self.keep_pixels else "")
        self.last = "kept"


def head_end(raw: bytes | mmap.mmap) -> int:
    """Return the offset just after the header line (line 2), or -1 if the file has fewer than 2 lines."""
    end = raw.find(b"\n", raw.find(b"\n") + 1)
    return end + 1 if end >= 0 else -1


def scan_rows(path: Path, raw: bytes | mmap.mmap, problems: ProblemLog, keep_pixels: bool = True) -> Rows:
    """Check the version line and header of a journal's bytes, and return its well-formed rows.

    A file cut inside its first two lines (a crash while it was being created) is an empty journal, with
    the problem reported.

    Raises
    ------
    DataFormatError
        On a wrong version line or header, or a newer schema version.

    """
    end = head_end(raw)
    if end < 0:
        if is_cut_preamble(raw[:]):
            problems.add(1, "truncated", "the journal was cut short while being created; it holds no rows")
            return Rows()
        check_head(path, raw[:], True)  # raises: not a journal, or a wrong header
    check_head(path, raw[:end], True)
    scan = _Scan(raw, problems, keep_pixels)
    for rec in iter_records(raw, end, 3):
        scan.take(rec)
    return scan.rows
