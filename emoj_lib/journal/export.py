"""Exporting a journal for spreadsheets: a CSV of the entries without their face pixels.

Text cells are made spreadsheet-safe by the one rule of the journal format
(:func:`~emoj_lib.journal.fileformat.escape_text`): a note or tag beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return never becomes a live formula.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from emoj_lib.journal.fileformat import PROB_COLUMNS, escape_tags, escape_text
from emoj_lib.journal.files import FILE_MODE, os_errors, write_all
from emoj_lib.journal.reader import JournalData, read_journal

if TYPE_CHECKING:
    from emoj_lib.journal.store import Journal

EXPORT_COLUMNS: tuple[str, ...] = (
    "entry_id", "local_time", "timestamp", "source", "emotion", "confidence", *PROB_COLUMNS, "user_label",
    "note", "tags", "model", "model_version", "photo", "x", "y", "w", "h", "amended_at",
)
"""The columns of :func:`export_csv`, in order (no pixels)."""
_TEXT = ("note", "model", "model_version")


def exports_dir(journal_folder: str | os.PathLike[str]) -> Path:
    """Return the folder the journal app exports to by default (``<journal>/exports``).

    Exports are the user's own copies: deleting an entry leaves them as they are, and says so when there are
    any (:func:`earlier_exports`).
    """
    return Path(journal_folder) / "exports"


def earlier_exports(journal_folder: str | os.PathLike[str]) -> list[Path]:
    """Return the files in :func:`exports_dir` (none if it does not exist)."""
    folder = exports_dir(journal_folder)
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def export_table(data: JournalData) -> pd.DataFrame:
    """Return the entries as the text table :func:`export_csv` writes (spreadsheet-safe, no pixels)."""
    e = data.entries
    out = pd.DataFrame({"entry_id": e.index.astype(str)})
    out["local_time"] = e["local_time"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy()
    out["timestamp"] = e["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").to_numpy()
    for c in ("source", "emotion", "user_label"):
        out[c] = e[c].astype(object).where(e[c].notna(), "").to_numpy()
    for c in ("confidence", *PROB_COLUMNS):
        out[c] = [f"{v:.6f}" for v in e[c]]
    for c in _TEXT:
        out[c] = [escape_text(v) for v in e[c]]
    out["tags"] = [escape_tags(t) for t in e["tags"]]
    out["photo"] = e["photo"].to_numpy()
    for c in ("x", "y", "w", "h"):
        out[c] = e[c].astype(str).to_numpy()
    out["amended_at"] = e["amended_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("").to_numpy()
    return out[list(EXPORT_COLUMNS)]


def export_csv(journal: Journal | JournalData | str | Path, path: str | Path) -> Path:
    """Write a journal's entries to a CSV for spreadsheets: no face pixels, no live formulas, owner-only.

    Parameters
    ----------
    journal : Journal, JournalData, str or Path
        The journal (a :class:`~emoj_lib.journal.store.Journal`, what it read, or its folder or file).
    path : str or Path
        The CSV to write (``0o600``; replaced if it exists). Columns: :data:`EXPORT_COLUMNS`; times in
        local wall-clock time and in UTC; tags joined with ``;``.

    Returns
    -------
    Path
        ``path``.

    """
    if isinstance(journal, JournalData):
        data = journal
    elif hasattr(journal, "read"):
        data = journal.read(pixels=False)
    else:
        data = read_journal(journal, pixels=False)
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    table = export_table(data)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(table.itertuples(index=False, name=None))
    path = Path(path)
    with os_errors(path, "write"):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0),
                     FILE_MODE)
        try:
            os.fchmod(fd, FILE_MODE)
            write_all(fd, ("\ufeff" + buf.getvalue()).encode("utf-8"))  # a BOM: spreadsheets read UTF-8
        finally:
            os.close(fd)
    return path
