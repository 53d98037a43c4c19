"""Reading a journal: :func:`read_journal` parses ``journal.csv`` into a :class:`JournalData`.

The file format is described in :mod:`emoj_lib.journal.fileformat`. The rows are split by the csv module
(:mod:`~emoj_lib.journal.rows`), checked column by column (:mod:`~emoj_lib.journal.checks`), then the
amendments are folded into the entries here. Damaged rows are skipped and reported by default (a
:class:`JournalWarning` saying how many and on which lines, and :attr:`JournalData.problems`), or raise
:class:`~emoj_lib.errors.DataFormatError` with ``on_error="raise"``; rows cut short by a crash are always
skipped and reported, never raised.
"""

from __future__ import annotations

import mmap
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib import config
from emoj_lib.data.fer import FerData
from emoj_lib.data.pixels import N_PIXELS, parse_pixels
from emoj_lib.errors import DataFormatError, JournalNotFoundError
from emoj_lib.journal.checks import check_amendments, check_deletions, check_entries
from emoj_lib.journal.entry import SOURCES
from emoj_lib.journal.fileformat import (
    AMENDABLE,
    COLUMNS,
    FILE_NAME,
    PROB_COLUMNS,
    TEXT_COLUMNS,
    file_lock,
    split_tags,
    unescape_text,
)
from emoj_lib.journal.files import os_errors, private_dir, secure_open
from emoj_lib.journal.problems import JournalWarning, ProblemLog
from emoj_lib.journal.rows import Rows, scan_rows
from emoj_lib.labels import EMOTIONS

ON_ERROR: tuple[str, ...] = ("skip", "raise")
"""What :func:`read_journal` does with a damaged row; the first is the default."""
_DELETED_COLUMNS = {"line": "int64", "entry_id": "str", "timestamp": "datetime64[us, UTC]"}


@dataclass
class JournalData:
    """What :meth:`Journal.read` returns.

    Attributes
    ----------
    entries : pandas.DataFrame
        One row per entry, amendments applied, indexed by ``entry_id`` in file order. Columns:
        ``timestamp`` (datetime64, UTC), ``local_time`` (naive datetime64: the wall-clock time where the
        entry was written, used by the mood analytics), ``source`` (categorical), ``x, y, w, h``
        (int64), ``emotion`` (categorical over EMOTIONS), ``confidence`` and ``p_angry`` ...
        ``p_neutral`` (float64), ``model``, ``model_version`` (str), ``user_label`` (categorical,
        NaN until the user labels it), ``note`` (str), ``tags`` (tuples of str), ``photo`` (str,
        empty if none), ``pixels`` (str, the FER pixel string; absent when read with ``pixels=False``),
        ``line`` (int64, where the entry starts in the file), ``amended_at`` (datetime64 UTC, NaT if never).
    changes : pandas.DataFrame
        The history of the user's fields: for every entry its original ``user_label``, ``note`` and
        ``tags`` (``kind`` ``entry``), and every amendment (``kind`` ``amend``), in file order; columns
        ``line``, ``kind``, ``entry_id``, ``timestamp`` (UTC), ``amended`` (tuple of the field names set),
        ``user_label``, ``note``, ``tags``. Amendments that were not applied (see ``problems``) are left
        out.
        A deletion is a row of ``kind`` ``delete`` (its time; no content: the entry's rows are gone).
    problems : pandas.DataFrame
        Rows skipped or not applied: ``line``, ``kind`` (``truncated``, ``malformed``, ``duplicate``,
        ``orphan``), ``entry_id``, ``field``, ``problem``.
    path : Path
        The file read.
    deleted : pandas.DataFrame
        The deletions recorded: ``line``, ``entry_id``, ``timestamp`` (UTC).

    """

    entries: pd.DataFrame
    changes: pd.DataFrame
    problems: pd.DataFrame
    path: Path
    deleted: pd.DataFrame = field(default_factory=lambda: _empty_deleted())

    def __len__(self) -> int:
        return len(self.entries)

    def history(self, entry_id: str) -> pd.DataFrame:
        """Return the life of one entry: its original label, note and tags, then each amendment.

        Rows of :attr:`changes` for that entry, in file order (the last values set win).
        """
        if entry_id not in self.entries.index and entry_id not in set(self.deleted["entry_id"]):
            raise KeyError(f"no entry {entry_id!r} in {self.path}")
        return self.changes[self.changes["entry_id"] == entry_id].reset_index(drop=True)

    def labelled_faces(self, *, on_error: str = "raise") -> FerData:
        """Return the faces the user labelled, for training (stage-3 personalisation).

        Parameters
        ----------
        on_error : {"raise", "skip"}
            On a pixel string that is not 2304 integers in 0..255: raise
            :class:`~emoj_lib.errors.DataFormatError` naming the line, or leave the face out and record it
            in ``FerData.skipped``.

        Returns
        -------
        FerData
            Images from the pixel strings, labels from ``user_label``, usage ``"Journal"``; ``rows`` are
            the positions of the faces in :attr:`entries`.

        """
        if on_error not in ON_ERROR:
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if "pixels" not in self.entries:
            raise ValueError("these entries were read with pixels=False; read them with pixels=True")
        e = self.entries
        positions = np.flatnonzero(e["user_label"].notna().to_numpy())
        images = np.empty((len(positions), N_PIXELS), np.uint8)
        keep = np.ones(len(positions), bool)
        skipped = []
        pixels = e["pixels"].to_numpy()
        lines = e["line"].to_numpy()
        for k, pos in enumerate(positions):
            px, problem = parse_pixels(pixels[pos])
            if px is not None:
                images[k] = px
            elif on_error == "raise":
                raise DataFormatError(self.path, str(problem), line=int(lines[pos]), field="pixels")
            else:
                keep[k] = False
                skipped.append((int(lines[pos]), int(pos), f"pixels: {problem}"))
        labels = e["user_label"].cat.codes.to_numpy()[positions].astype(np.int64)
        return FerData(images[keep].reshape(-1, config.FACE_SIZE, config.FACE_SIZE), labels[keep], "Journal",
                       positions[keep], source=str(self.path),
                       skipped=pd.DataFrame(skipped, columns=["line", "row", "problem"]))


def _empty_deleted() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in _DELETED_COLUMNS.items()})


def journal_file(path: str | Path) -> Path:
    """Return the ``journal.csv`` of a journal folder (or ``path`` itself if it names a file)."""
    path = Path(path).expanduser()
    return path / FILE_NAME if path.name != FILE_NAME and (path.is_dir() or not path.suffix) else path


def read_journal(path: str | Path, *, on_error: str = "skip", pixels: bool = True) -> JournalData:
    """Read a journal file (or the ``journal.csv`` of a journal folder); never creates anything.

    Parameters
    ----------
    path : str or Path
        ``journal.csv`` or the folder holding it.
    on_error : {"skip", "raise"}
        On a damaged row (malformed, or an entry id used twice): skip it and report it (default: a
        :class:`JournalWarning` with the count and line numbers, and ``problems``), or raise
        :class:`~emoj_lib.errors.DataFormatError` naming the file, the line and the field. A row cut short
        at the end of the file (what a crash leaves) or marked cut short by a later writer is always
        skipped and reported, never raised.
    pixels : bool
        Keep the pixel strings (column ``pixels``, parsed by :meth:`JournalData.labelled_faces`); pass
        False for analytics only: much smaller. Pixel strings are checked either way.

    Returns
    -------
    JournalData
        ``entries`` (one row per entry, amendments applied), ``changes`` (history), ``problems``, ``deleted``.

    Raises
    ------
    JournalNotFoundError
        There is no journal at ``path``.
    DataFormatError
        On a wrong version line or header (``emoj journal repair`` rebuilds it), a newer schema version,
        or a damaged row with ``on_error="raise"``.
    UnsafeFileError, StorageError
        The file is not the user's, is a link, or the system refused to read it.

    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'skip' or 'raise', got {on_error!r}")
    if Path(path).expanduser().is_dir() and Path(path).name != FILE_NAME:
        private_dir(path, create=False, follow=True)  # a journal folder: the user's own
    path = journal_file(path)
    problems = ProblemLog()
    rows = _read_rows(path, problems, pixels)
    data = assemble(path, rows, problems, on_error, pixels)
    if len(data.problems):
        warnings.warn(f"{path}: {problems.summary()} (see .problems; `emoj journal repair` rewrites the file "
                      f"without them)", JournalWarning, stacklevel=2)
    return data


def _read_rows(path: Path, problems: ProblemLog, pixels: bool) -> Rows:
    try:
        fd = secure_open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise JournalNotFoundError(path.parent if path.name == FILE_NAME else path) from None
    try:
        with os_errors(path, "read"):
            with file_lock(fd, "shared"):  # whole rows only: the bytes before this size never change
                size = os.fstat(fd).st_size
            if size == 0:  # a crash right after creating the file: an empty journal
                return Rows()
            # a read-only map: no copy of a file that may hold a gigabyte of pixel strings
            with mmap.mmap(fd, size, prot=mmap.PROT_READ) as raw:
                return scan_rows(path, raw, problems, pixels)
    finally:
        os.close(fd)


def _frame(rows: Rows, pixels: bool) -> pd.DataFrame:
    meta = pd.DataFrame(rows.fields, columns=list(COLUMNS[:-1]), dtype=object)
    if meta.empty:
        meta = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS[:-1]})
    meta["line"] = np.asarray(rows.lines, dtype=np.int64)
    if pixels:
        meta["pixels"] = pd.Series(rows.pixels, dtype=object)
    for c in TEXT_COLUMNS:
        meta[c] = [unescape_text(v) for v in meta[c]]
    return meta


def assemble(path: Path, rows: Rows, problems: ProblemLog, on_error: str, pixels: bool) -> JournalData:
    """Check scanned rows column by column, fold amendments and deletions, build the :class:`JournalData`.

    ``rows`` come from :func:`~emoj_lib.journal.rows.scan_rows`; ``problems`` gets the rows left out.
    """
    meta = _frame(rows, pixels)
    kinds = np.asarray(rows.kinds, dtype=object)
    ent, amd, dele = (meta[kinds == k].reset_index(drop=True) for k in ("entry", "amend", "delete"))
    bad, parsed = check_entries(ent, problems)
    a_bad, a_utc = check_amendments(amd, problems)
    d_bad, d_utc = check_deletions(dele, problems)
    if on_error == "raise" and (first := problems.first_error()) is not None:
        line, fld, problem = first
        raise DataFormatError(path, problem, line=line, field=fld or None)
    deleted = pd.DataFrame({"line": dele["line"], "entry_id": dele["entry_id"], "timestamp": d_utc})[~d_bad]
    deleted = deleted.reset_index(drop=True).astype(_DELETED_COLUMNS)
    keep = ~bad & ~ent["entry_id"].isin(set(deleted["entry_id"])).to_numpy()
    ent = ent[keep].reset_index(drop=True)
    parsed = {c: (v[keep] if isinstance(v, np.ndarray) else v[keep].reset_index(drop=True)) for c, v in parsed.items()}
    amd = amd[~a_bad].reset_index(drop=True)
    folded = _Folded(ent, parsed["timestamp"])
    applied = folded.apply(amd, a_utc[~a_bad].reset_index(drop=True), problems, set(deleted["entry_id"]))
    entries = _entries(ent, parsed, folded, pixels)
    changes = _changes(folded.history, amd, a_utc[~a_bad].reset_index(drop=True), applied, deleted)
    return JournalData(entries, changes, problems.frame(), path, deleted)


class _Folded:
    """The user's fields of each entry, amendments folded in file order, and the entry rows of the history."""

    def __init__(self, ent: pd.DataFrame, utc: pd.Series) -> None:
        self.position = {eid: i for i, eid in enumerate(ent["entry_id"])}
        self.labels = ent["user_label"].tolist()
        self.notes = ent["note"].tolist()
        self.tags = [split_tags(t) for t in ent["tags"]]
        self.amended_at = np.full(len(ent), np.datetime64("NaT"), dtype="datetime64[us]")
        self.history = pd.DataFrame({"line": ent["line"], "kind": "entry", "entry_id": ent["entry_id"],
                                     "timestamp": utc, "amended": [AMENDABLE] * len(ent),
                                     "user_label": list(self.labels), "note": list(self.notes),
                                     "tags": list(self.tags)})

    def apply(self, amd: pd.DataFrame, utc: pd.Series, problems: ProblemLog, deleted: set[str]) -> np.ndarray:
        """Fold the amendments in; return the mask of those applied (the others are reported as orphans)."""
        applied = np.ones(len(amd), bool)
        when = utc.dt.tz_localize(None).to_numpy()
        for j, (eid, fields, label, note, tags, line) in enumerate(zip(
                amd["entry_id"], amd["amended"], amd["user_label"], amd["note"], amd["tags"], amd["line"],
                strict=True)):
            i = self.position.get(eid)
            if i is None:
                applied[j] = False
                if eid not in deleted:
                    problems.add(int(line), "orphan", "amendment of an entry not in the journal "
                                 "(skipped or cut short?); not applied", entry_id=eid)
                continue
            changed = fields.split(";")
            if "user_label" in changed:
                self.labels[i] = label
            if "note" in changed:
                self.notes[i] = note
            if "tags" in changed:
                self.tags[i] = split_tags(tags)
            self.amended_at[i] = when[j]
        return applied


def _entries(ent: pd.DataFrame, parsed: dict, folded: _Folded, pixels: bool) -> pd.DataFrame:
    out = pd.DataFrame({"timestamp": parsed["timestamp"], "local_time": parsed["local_time"],
                        "source": pd.Categorical(ent["source"], categories=SOURCES)})
    for c in ("x", "y", "w", "h"):
        out[c] = parsed[c]
    out["emotion"] = pd.Categorical(ent["emotion"], categories=EMOTIONS)
    for c in ("confidence", *PROB_COLUMNS):
        out[c] = parsed[c]
    out["model"] = ent["model"].astype("str")
    out["model_version"] = ent["model_version"].astype("str")
    out["user_label"] = pd.Categorical([lab or None for lab in folded.labels], categories=EMOTIONS)
    out["note"] = pd.Series(folded.notes, dtype="str")
    out["tags"] = pd.Series(folded.tags, dtype=object)
    out["photo"] = ent["photo"].astype("str")
    if pixels:
        out["pixels"] = ent["pixels"].astype("str")
    out["line"] = ent["line"].astype(np.int64)
    out["amended_at"] = pd.Series(folded.amended_at).dt.tz_localize("UTC")
    out.index = pd.Index(ent["entry_id"].astype("str"), name="entry_id")
    return out


def _changes(history: pd.DataFrame, amd: pd.DataFrame, a_utc: pd.Series, applied: np.ndarray,
             deleted: pd.DataFrame) -> pd.DataFrame:
    amends = pd.DataFrame({"line": amd["line"], "kind": "amend", "entry_id": amd["entry_id"], "timestamp": a_utc,
                           "amended": [tuple(s.split(";")) for s in amd["amended"]], "user_label": amd["user_label"],
                           "note": amd["note"], "tags": [split_tags(t) for t in amd["tags"]]})[applied]
    deletions = pd.DataFrame({"line": deleted["line"], "kind": "delete", "entry_id": deleted["entry_id"],
                              "timestamp": deleted["timestamp"], "amended": [()] * len(deleted),
                              "user_label": "", "note": "", "tags": [()] * len(deleted)})
    parts = [p for p in (history, amends, deletions) if len(p)] or [history]
    changes = pd.concat(parts, ignore_index=True).sort_values("line", kind="stable", ignore_index=True)
    changes = changes.astype({"line": np.int64, "kind": "str", "entry_id": "str", "timestamp": "datetime64[us, UTC]",
                              "amended": object, "note": "str", "tags": object})
    changes["user_label"] = pd.Categorical([v or None for v in changes["user_label"]], categories=EMOTIONS)
    return changes
