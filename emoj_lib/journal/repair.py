"""Repairing a damaged journal: :func:`repair_journal` rewrites it with every readable row, after a backup.

Damage a journal can hold (all reported by :func:`~emoj_lib.journal.reader.read_journal`): rows cut short by
crashes, lines of garbage, rows edited by hand into a wrong shape, an entry id used twice (an entry appended
twice before such appends were refused), a version line padded with commas by a spreadsheet, a header
damaged or cut short. Repair keeps every row the reader accepts, in file order, byte for byte; writes a
fresh version line and header; and keeps the original as ``journal.csv.backup-<UTC time>`` (owner-only).
"""

from __future__ import annotations

import mmap
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from emoj_lib.errors import DataFormatError, JournalNotFoundError
from emoj_lib.journal.fileformat import (
    FILE_NAME,
    HEADER_LINE,
    PREAMBLE,
    SCHEMA_VERSION,
    VERSION_LINE,
    check_version,
    file_lock,
)
from emoj_lib.journal.files import os_errors, secure_open, write_private
from emoj_lib.journal.problems import ERROR_KINDS, JournalWarning, ProblemLog
from emoj_lib.journal.reader import assemble, journal_file
from emoj_lib.journal.records import iter_records
from emoj_lib.journal.rows import scan_rows

_ROW_STARTS = (b"entry,", b"amend,", b"delete,")


@dataclass
class RepairReport:
    """What :func:`repair_journal` did.

    Attributes
    ----------
    path : Path
        The journal file.
    rows_kept : int
        Rows written back (entries, amendments, deletions).
    problems : pandas.DataFrame
        The rows left out or not applied, as :attr:`JournalData.problems` (lines of the original file).
    header_repaired : bool
        Whether the version line or header was rewritten.
    backup : Path or None
        The copy of the original, or None when the journal needed no repair (nothing was written).

    """

    path: Path
    rows_kept: int
    problems: pd.DataFrame
    header_repaired: bool
    backup: Path | None

    @property
    def changed(self) -> bool:
        """Whether the journal was rewritten."""
        return self.backup is not None

    def __str__(self) -> str:
        if not self.changed:
            return f"{self.path}: nothing to repair ({self.rows_kept} rows read)"
        lines = ", ".join(map(str, self.problems["line"].iloc[:10]))
        dropped = f"; left out {len(self.problems)} row(s) at line(s) {lines}" if len(self.problems) else ""
        head = "; rewrote the version line and header" if self.header_repaired else ""
        return f"{self.path}: kept {self.rows_kept} row(s){dropped}{head}; the original is in {self.backup}"


def _is_head_line(line: bytes) -> bool:
    """Whether a line is what is left of a version line (any comment) or of the header (cut or padded)."""
    line = line.rstrip(b"\r")
    return line.startswith(b"#") or (bool(line) and HEADER_LINE.startswith(line.rstrip(b","))) \
        or line.rstrip(b",") == HEADER_LINE


def _body_start(path: Path, raw: bytes) -> int:
    """Return where the rows start: after what is left of the version line and header.

    Raises DataFormatError for a journal of a newer schema version (never rewritten by an older library) and
    for a file that does not look like a journal at all.
    """
    first = raw.split(b"\n", 1)[0]
    if first.startswith(b"# emoj-journal v"):
        check_version(path, first)  # a newer version: upgrade emoj_lib instead
    elif not (_is_head_line(first) or VERSION_LINE.startswith(first) or first.startswith(_ROW_STARTS)):
        raise DataFormatError(path, f"not an emoJ journal (line 1 is {first[:60]!r}); nothing was changed", line=1)
    pos = 0
    for _ in range(2):
        end = raw.find(b"\n", pos)
        line = raw[pos:end if end >= 0 else len(raw)]
        if not _is_head_line(line) and not (pos == 0 and VERSION_LINE.startswith(line)):
            break
        pos = len(raw) if end < 0 else end + 1
    return pos


def _good_lines(path: Path, raw: bytes, problems: ProblemLog) -> set[int]:
    rows = scan_rows(path, raw, problems)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JournalWarning)
        assemble(path, rows, problems, "skip", False)
    bad = {line for line, kind, *_ in problems.rows if kind in ERROR_KINDS}
    return set(rows.lines) - bad


def repair_journal(folder: str | Path) -> RepairReport:
    """Rebuild a damaged journal keeping every readable row; back up the original first.

    Parameters
    ----------
    folder : str or Path
        The journal folder (or its ``journal.csv``).

    Returns
    -------
    RepairReport
        Rows kept, rows left out (with their lines), the backup. A journal that needs no repair is left
        untouched.

    Raises
    ------
    JournalNotFoundError
        No journal there.
    DataFormatError
        The file is not a journal, or is of a newer schema version (upgrade emoj_lib instead).

    """
    path = journal_file(folder)
    try:
        fd = secure_open(path, os.O_RDWR)
    except FileNotFoundError:
        raise JournalNotFoundError(path.parent) from None
    try:
        with os_errors(path, "repair"), file_lock(fd, "exclusive"):
            size = os.fstat(fd).st_size
            raw = bytes(mmap.mmap(fd, size, prot=mmap.PROT_READ)) if size else b""
            return _repair(path, raw)
    finally:
        os.close(fd)


def _repair(path: Path, raw: bytes) -> RepairReport:
    start, header_bad = _body_start(path, raw), not raw.startswith(PREAMBLE)
    fresh = PREAMBLE + raw[start:]
    problems = ProblemLog()
    good = _good_lines(path, fresh, problems)
    line_shift = fresh.count(b"\n", 0, len(PREAMBLE)) - raw.count(b"\n", 0, start)
    table = problems.frame()
    table["line"] = table["line"] - line_shift
    if not header_bad and not len(table):
        return RepairReport(path, len(good), table, False, None)
    kept = [fresh[r.start:r.end] for r in iter_records(fresh, len(PREAMBLE), 3) if r.line in good and r.complete]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    backup = write_private(path.with_name(f"{FILE_NAME}.backup-{stamp}"), raw)
    write_private(path, PREAMBLE + b"".join(kept))
    return RepairReport(path, len(kept), table, header_bad, backup)


__all__ = ["SCHEMA_VERSION", "RepairReport", "repair_journal"]
