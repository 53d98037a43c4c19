"""Reading a journal: :func:`read_journal` parses ``journal.csv`` into a :class:`JournalData`.

The file format is described in :mod:`emoj_lib.journal.fileformat`. Malformed rows raise
:class:`~emoj_lib.errors.DataFormatError` or are skipped and reported (``on_error``); rows cut short by a
crash are always skipped, reported in :attr:`JournalData.problems` and with a :class:`JournalWarning`.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib import config
from emoj_lib.data.fer import FerData
from emoj_lib.errors import DataFormatError
from emoj_lib.journal.entry import _ID_RE, SOURCES
from emoj_lib.journal.fileformat import _REPAIR_LINE, AMENDABLE, COLUMNS, FILE_NAME, PROB_COLUMNS, _check_head, _flock
from emoj_lib.labels import EMOTIONS

_N_PIXELS = config.FACE_SIZE * config.FACE_SIZE
_MIN_PIXEL_CHARS, _MAX_PIXEL_CHARS = 2 * _N_PIXELS - 1, 4 * _N_PIXELS - 1
_ON_ERROR = ("raise", "skip")


class JournalWarning(UserWarning):
    """Rows of a journal were skipped (cut short by a crash, or malformed and ``on_error="skip"``)."""


_EMPTY_PROBLEMS = {"line": "int64", "kind": "str", "entry_id": "str", "field": "str", "problem": "str"}


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in columns.items()})


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
    problems : pandas.DataFrame
        Rows skipped or not applied: ``line``, ``kind`` (``truncated``, ``malformed``, ``duplicate``,
        ``orphan``), ``entry_id``, ``field``, ``problem``.
    path : Path
        The file read.

    """

    entries: pd.DataFrame
    changes: pd.DataFrame
    problems: pd.DataFrame
    path: Path

    def __len__(self) -> int:
        return len(self.entries)

    def history(self, entry_id: str) -> pd.DataFrame:
        """Return the life of one entry: its original label, note and tags, then each amendment.

        Rows of :attr:`changes` for that entry, in file order (the last values set win).
        """
        if entry_id not in self.entries.index:
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
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if "pixels" not in self.entries:
            raise ValueError("these entries were read with pixels=False; read them with pixels=True")
        e = self.entries
        positions = np.flatnonzero(e["user_label"].notna().to_numpy())
        images = np.empty((len(positions), _N_PIXELS), np.uint8)
        keep = np.ones(len(positions), bool)
        skipped = []
        pixels = e["pixels"].to_numpy()
        lines = e["line"].to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # np.fromstring: text it could not parse
            for k, pos in enumerate(positions):
                problem = None
                try:
                    px = np.fromstring(pixels[pos], dtype=np.int16, sep=" ")
                except (ValueError, DeprecationWarning):
                    problem = "pixels are not space-separated integers"
                else:
                    if len(px) != _N_PIXELS:
                        problem = f"pixels has {len(px)} values, expected {_N_PIXELS}"
                    elif px.min() < 0 or px.max() > 255:
                        problem = "a pixel is out of range 0..255"
                if problem is None:
                    images[k] = px
                elif on_error == "raise":
                    raise DataFormatError(self.path, problem, line=int(lines[pos]), field="pixels")
                else:
                    keep[k] = False
                    skipped.append((int(lines[pos]), int(pos), f"pixels: {problem}"))
        labels = e["user_label"].cat.codes.to_numpy()[positions].astype(np.int64)
        return FerData(images[keep].reshape(-1, config.FACE_SIZE, config.FACE_SIZE), labels[keep], "Journal",
                       positions[keep], source=str(self.path),
                       skipped=pd.DataFrame(skipped, columns=["line", "row", "problem"]))


class _Problems:
    """Problems found while reading, with the file order kept."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str, str]] = []

    def add(self, line: int, kind: str, problem: str, *, entry_id: str = "", fld: str = "") -> None:
        self.rows.append((line, kind, entry_id, fld, problem))

    def frame(self) -> pd.DataFrame:
        if not self.rows:
            return _empty(_EMPTY_PROBLEMS)
        df = pd.DataFrame(sorted(self.rows, key=lambda r: r[0]), columns=list(_EMPTY_PROBLEMS))
        return df.astype(_EMPTY_PROBLEMS)


def _records(raw: bytes | mmap.mmap, pos: int, line: int) -> Iterator[tuple[int, int, int, bool]]:
    r"""Yield ``(first_line, start, end, complete)`` for every CSV record of ``raw[pos:]``.

    A record ends at a newline outside quotes (quote parity: a quoted field holds an even number of
    quotes), so a quoted newline continues it and line numbers count physical lines. ``end`` excludes
    the newline (and a ``\r`` before it). A record still open at the end of the file (no final newline,
    or inside quotes) is yielded with ``complete=False``.
    """
    n = len(raw)
    find = raw.find
    while pos < n:
        nl = find(b"\n", pos)
        if nl < 0:
            yield line, pos, n, False
            return
        lines = 1
        if find(b'"', pos, nl) >= 0 and raw[pos:nl].count(b'"') & 1:
            odd = True
            while odd:
                nxt = find(b"\n", nl + 1)
                if nxt < 0:
                    yield line, pos, n, False
                    return
                odd ^= bool(raw[nl + 1:nxt].count(b'"') & 1)
                nl = nxt
                lines += 1
        end = nl - 1 if nl > pos and raw[nl - 1] == 13 else nl
        yield line, pos, end, True
        pos = nl + 1
        line += lines


def read_journal(path: str | Path, *, on_error: str = "raise", pixels: bool = True) -> JournalData:
    """Read a journal file (or the ``journal.csv`` of a journal folder).

    Parameters
    ----------
    path : str or Path
        ``journal.csv`` or the folder holding it.
    on_error : {"raise", "skip"}
        On a malformed row: raise :class:`~emoj_lib.errors.DataFormatError` naming the file, the line
        and the field (default), or skip it and report it in ``problems``. A row cut short at the end of
        the file (what a crash leaves) or marked cut short by a later writer is always skipped and
        reported, never raised.
    pixels : bool
        Keep the pixel strings (column ``pixels``, parsed by :meth:`JournalData.labelled_faces`); pass
        False for analytics only: faster and much smaller.

    Returns
    -------
    JournalData
        ``entries`` (one row per entry, amendments applied), ``changes`` (history), ``problems``.

    Raises
    ------
    DataFormatError
        On a wrong version line or header, a newer schema version, or a malformed row (with
        ``on_error="raise"``).

    """
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    if not path.is_file():
        raise FileNotFoundError(f"journal not found: {path}")
    problems = _Problems()
    with open(path, "rb") as fh:
        with _flock(fh.fileno(), "shared"):  # whole rows only: the bytes before this size never change
            size = os.fstat(fh.fileno()).st_size
        if size == 0:  # a crash right after creating the file: an empty journal
            return _frames(path, [], [], [], None, problems, on_error, pixels)
        # a read-only map: no copy of a file that may hold a gigabyte of pixel strings
        with mmap.mmap(fh.fileno(), size, prot=mmap.PROT_READ) as raw:
            metas, lines, kinds, pix = _scan(path, raw, problems, pixels)
    return _frames(path, metas, lines, kinds, pix, problems, on_error, pixels)


def _scan(path: Path, raw: bytes | mmap.mmap, problems: _Problems,
          pixels: bool) -> tuple[list[list[str]], list[int], list[bool], list[str] | None]:
    """Split a journal's bytes into rows; return the fields, lines, kinds and pixel strings of the good ones."""
    head_end = raw.find(b"\n", raw.find(b"\n") + 1)
    _check_head(path, raw[:] if head_end < 0 else raw[:head_end + 1], True)
    if head_end < 0:
        return [], [], [], None
    n_meta = len(COLUMNS) - 1
    metas: list[list[str]] = []  # fields of the accepted rows (pixels excluded)
    lines: list[int] = []
    spans: list[tuple[int, int]] = []  # where each accepted row's pixel string is
    kinds: list[bool] = []  # True: entry, False: amendment
    last_ok = -1  # index in metas of the row just before a repair marker, if it was accepted
    for line, start, end, complete in _records(raw, head_end + 1, 3):
        if not complete:
            problems.add(line, "truncated", "the last row is cut short (no final line end: a crash?); skipped")
            continue
        if raw[start:start + 1] == b"#":
            if raw[start:end] == _REPAIR_LINE:
                prev = problems.rows[-1] if problems.rows else None
                if last_ok >= 0:
                    ok_line = lines[last_ok]
                    problems.add(ok_line, "truncated", "row cut short (a crash?); a later writer marked it")
                    for lst in (metas, lines, spans, kinds):
                        del lst[last_ok]
                elif prev is not None and prev[1] == "malformed":
                    problems.rows[-1] = (prev[0], "truncated", prev[2], prev[3],
                                         f"row cut short (a crash?); a later writer marked it ({prev[4]})")
                last_ok = -1
                continue
            problems.add(line, "malformed", "unexpected comment line")
            last_ok = -1
            continue
        last_ok = -1
        if start == end:
            continue  # a blank line
        comma = raw.rfind(b",", start, end)
        try:
            text = raw[start:max(comma, start)].decode("utf-8")
            if '"' not in text and "\r" not in text:
                fields = text.split(",") if comma >= 0 else []
            else:
                fields = next(csv.reader(io.StringIO(text, newline=""), strict=True), [])
        except (UnicodeDecodeError, csv.Error) as exc:
            problems.add(line, "malformed", f"not a valid UTF-8 CSV row: {exc}")
            continue
        if len(fields) != n_meta:
            got = len(fields) + (comma >= 0)
            problems.add(line, "malformed", f"{got} field(s), expected {len(COLUMNS)}")
            continue
        kind = fields[0]
        if kind == "entry":
            # a cheap check of the pixel string's length (2304 values of 1-3 digits); the values
            # themselves are parsed by labelled_faces
            size = end - comma - 1
            if not _MIN_PIXEL_CHARS <= size <= _MAX_PIXEL_CHARS:
                problems.add(line, "malformed", f"pixels has {size} characters, too "
                             f"{'few' if size < _MIN_PIXEL_CHARS else 'many'} for {_N_PIXELS} values",
                             entry_id=fields[1], fld="pixels")
                continue
        elif kind != "amend":
            problems.add(line, "malformed", f"kind is {kind[:20]!r}, expected 'entry' or 'amend'", fld="kind")
            continue
        last_ok = len(metas)
        metas.append(fields)
        lines.append(line)
        spans.append((comma + 1, end))
        kinds.append(kind == "entry")
    pix = None
    if pixels:
        with memoryview(raw) as view:
            pix = [str(view[a:b], "ascii", "replace") if k else "" for (a, b), k in zip(spans, kinds, strict=True)]
    return metas, lines, kinds, pix


def _num(values: pd.Series, integer: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Parse a text column: return the values, a mask of the bad ones and what is wrong with them."""
    try:
        x = values.to_numpy().astype(np.float64)  # fast path: every value is a number
    except (ValueError, TypeError):
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if integer:
        bad = ~np.isfinite(x) | (x < 0) | (x != np.round(x))
        return np.where(bad, 0, x).astype(np.int64), bad, "not a non-negative integer"
    bad = ~np.isfinite(x) | (x < 0) | (x > 1)
    return x, bad, "not a probability in [0, 1]"


def _split_tags(text: str, memo: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if not text:
        return ()
    tags = memo.get(text)
    if tags is None:
        tags = memo[text] = tuple(filter(None, text.split(";")))
    return tags


_TZ_RE = re.compile(r"(?:(Z)|([+-])(\d\d):?(\d\d))$")


def _offset_minutes(text: str) -> float:
    """Return the UTC offset of an ISO 8601 time in minutes (NaN if it has none)."""
    if len(text) > 6 and text[-6] in "+-" and text[-3] == ":":  # the form written by Entry.to_row
        try:
            minutes = int(text[-5:-3]) * 60 + int(text[-2:])
        except ValueError:
            return np.nan
        return -minutes if text[-6] == "-" else minutes
    m = _TZ_RE.search(text)
    if m is None:
        return np.nan
    if m.group(1):
        return 0
    minutes = int(m.group(3)) * 60 + int(m.group(4))
    return -minutes if m.group(2) == "-" else minutes


def _times(values: pd.Series) -> tuple[pd.Series, pd.Series, np.ndarray]:
    """Parse ISO 8601 timestamps: return UTC instants, wall-clock local times and a mask of bad ones."""
    if values.empty:
        utc = pd.Series(pd.DatetimeIndex([], tz="UTC"), index=values.index, dtype="datetime64[us, UTC]")
        return utc, pd.Series([], index=values.index, dtype="datetime64[us]"), np.zeros(0, bool)
    utc = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce").astype("datetime64[us, UTC]")
    minutes = np.array([_offset_minutes(t) for t in values], dtype=np.float64)
    bad = utc.isna().to_numpy() | np.isnan(minutes)
    local = (utc + pd.to_timedelta(np.nan_to_num(minutes), unit="min")).dt.tz_localize(None)
    return utc, local, bad


def _frames(path: Path, metas: list[list[str]], lines: list[int], kinds: list[bool], pix: list[str] | None,
            problems: _Problems, on_error: str, pixels: bool) -> JournalData:
    """Validate the accepted rows column by column, fold the amendments, build the frames."""
    meta = pd.DataFrame(metas, columns=list(COLUMNS[:-1]), dtype=object)
    meta["line"] = np.asarray(lines, dtype=np.int64)
    is_entry = np.asarray(kinds, dtype=bool)
    if pixels:
        meta["pixels"] = pd.Series(pix, dtype=object)
    ent = meta[is_entry].reset_index(drop=True)
    amd = meta[~is_entry].reset_index(drop=True)

    # --- entries
    bad = np.zeros(len(ent), bool)

    def flag(mask: np.ndarray, fld: str, what: str, frame: pd.DataFrame = ent, into: np.ndarray = bad) -> None:
        for i in np.flatnonzero(mask & ~into):
            value = str(frame.at[i, fld])[:40]
            problems.add(int(frame.at[i, "line"]), "malformed", f"{fld} is {value!r}: {what}",
                         entry_id=str(frame.at[i, "entry_id"]), fld=fld)
        into |= mask

    flag(np.array([_ID_RE.fullmatch(v) is None for v in ent["entry_id"]], bool), "entry_id", "not an entry id")
    utc, local, bad_t = _times(ent["timestamp"])
    flag(bad_t, "timestamp", "not an ISO 8601 time with a UTC offset")
    flag(~ent["source"].isin(SOURCES).to_numpy(), "source", f"expected one of {SOURCES}")
    numbers = {}
    for c in ("x", "y", "w", "h"):
        numbers[c], m, what = _num(ent[c], True)
        flag(m, c, what)
    for c in ("confidence", *PROB_COLUMNS):
        numbers[c], m, what = _num(ent[c], False)
        flag(m, c, what)
    flag(~ent["emotion"].isin(EMOTIONS).to_numpy(), "emotion", f"expected one of {EMOTIONS}")
    flag(~ent["user_label"].isin(("", *EMOTIONS)).to_numpy(), "user_label", f"expected empty or one of {EMOTIONS}")
    dup = ent["entry_id"].duplicated().to_numpy() & ~bad
    if dup.any():
        first = dict(zip(ent["entry_id"][::-1], ent["line"][::-1], strict=True))
        for i in np.flatnonzero(dup):
            eid = ent.at[i, "entry_id"]
            problems.add(int(ent.at[i, "line"]), "duplicate", f"entry id already used at line {first[eid]}",
                         entry_id=eid, fld="entry_id")
        bad |= dup

    # --- amendments
    abad = np.zeros(len(amd), bool)
    a_utc, _, a_bad_t = _times(amd["timestamp"])
    flag(a_bad_t, "timestamp", "not an ISO 8601 time with a UTC offset", amd, abad)
    flag(~amd["user_label"].isin(("", *EMOTIONS)).to_numpy(), "user_label", f"expected empty or one of {EMOTIONS}",
         amd, abad)
    amended = amd["amended"].str.split(";")
    flag(~amended.map(lambda f: bool(f) and set(f) <= set(AMENDABLE)).to_numpy(bool), "amended",
         f"expected ';'-joined names among {AMENDABLE}", amd, abad)

    if on_error == "raise":
        errors = [r for r in problems.rows if r[1] in ("malformed", "duplicate")]
        if errors:
            line, _, _, fld, problem = min(errors, key=lambda r: r[0])
            raise DataFormatError(path, problem, line=line, field=fld or None)

    keep = ~bad
    ent, utc, local = ent[keep].reset_index(drop=True), utc[keep].reset_index(drop=True), \
        local[keep].reset_index(drop=True)
    out = pd.DataFrame({"timestamp": utc, "local_time": local,
                        "source": pd.Categorical(ent["source"], categories=SOURCES)})
    for c in ("x", "y", "w", "h"):
        out[c] = numbers[c][keep]
    out["emotion"] = pd.Categorical(ent["emotion"], categories=EMOTIONS)
    for c in ("confidence", *PROB_COLUMNS):
        out[c] = numbers[c][keep]
    out["model"] = ent["model"].astype("str")
    out["model_version"] = ent["model_version"].astype("str")
    memo: dict[str, tuple[str, ...]] = {}
    labels = ent["user_label"].tolist()
    notes = ent["note"].tolist()
    tags = [_split_tags(t, memo) for t in ent["tags"]]
    amended_at = np.full(len(ent), np.datetime64("NaT"), dtype="datetime64[us]")
    history = pd.DataFrame({"line": ent["line"], "kind": "entry", "entry_id": ent["entry_id"], "timestamp": utc,
                            "amended": [AMENDABLE] * len(ent), "user_label": labels, "note": notes, "tags": tags})

    # --- fold amendments in file order
    position = {eid: i for i, eid in enumerate(ent["entry_id"])}
    amd = amd[~abad].reset_index(drop=True)
    a_utc = a_utc[~abad].reset_index(drop=True)
    a_fields = [tuple(s.split(";")) for s in amd["amended"]]
    a_tags = [_split_tags(t, memo) for t in amd["tags"]]
    a_labels, a_notes, a_lines = amd["user_label"].tolist(), amd["note"].tolist(), amd["line"].tolist()
    a_when = a_utc.dt.tz_localize(None).to_numpy()
    applied = np.ones(len(amd), bool)
    for j, eid in enumerate(amd["entry_id"].tolist()):
        i = position.get(eid)
        if i is None:
            applied[j] = False
            problems.add(a_lines[j], "orphan", "amendment of an entry not in the journal "
                         "(skipped or cut short?); not applied", entry_id=eid)
            continue
        changed = a_fields[j]
        if "user_label" in changed:
            labels[i] = a_labels[j]
        if "note" in changed:
            notes[i] = a_notes[j]
        if "tags" in changed:
            tags[i] = a_tags[j]
        amended_at[i] = a_when[j]
    out["user_label"] = pd.Categorical([lab or None for lab in labels], categories=EMOTIONS)
    out["note"] = pd.Series(notes, dtype="str")
    out["tags"] = pd.Series(tags, dtype=object)
    out["photo"] = ent["photo"].astype("str")
    if pixels:
        out["pixels"] = ent["pixels"].astype("str")
    out["line"] = ent["line"].astype(np.int64)
    out["amended_at"] = pd.Series(amended_at).dt.tz_localize("UTC")
    out.index = pd.Index(ent["entry_id"].astype("str"), name="entry_id")

    amends = pd.DataFrame({"line": amd["line"], "kind": "amend", "entry_id": amd["entry_id"], "timestamp": a_utc,
                           "amended": a_fields, "user_label": amd["user_label"], "note": amd["note"],
                           "tags": a_tags})[applied]
    changes = pd.concat([history, amends], ignore_index=True).sort_values("line", kind="stable", ignore_index=True)
    changes = changes.astype({"line": np.int64, "kind": "str", "entry_id": "str", "timestamp": "datetime64[us, UTC]",
                              "amended": object, "note": "str", "tags": object})
    changes["user_label"] = pd.Categorical([v or None for v in changes["user_label"]], categories=EMOTIONS)
    table = problems.frame()
    if len(table):
        kinds_seen = ", ".join(f"{n} {k}" for k, n in table["kind"].value_counts().items())
        warnings.warn(f"{path}: {len(table)} row(s) skipped or not applied ({kinds_seen}); first at line "
                      f"{table['line'].iloc[0]}: {table['problem'].iloc[0]} (see .problems)", JournalWarning,
                      stacklevel=3)
    return JournalData(out, changes, table, path)
