r"""The journal store: one append-only CSV file per journal, safe under crashes and concurrent writers.

A journal is a folder (default :func:`emoj_lib.config.journal_dir`) holding ``journal.csv`` and, for the
entries whose photo the caller chose to keep, ``photos/<entry id>.jpg`` (or ``.png``). The folder is
created ``0o700`` and every file ``0o600`` whatever the umask; nothing is ever sent over the network.

File format (schema version 1)
------------------------------
Line 1 is the version line ``# emoj-journal v1``; line 2 the header; then one CSV record per row
(UTF-8, ``,`` separator, ``"`` quoting with doubled quotes, ``\n`` line ends)::

    kind,entry_id,timestamp,source,x,y,w,h,emotion,confidence,p_angry,p_disgust,p_fear,p_happy,p_sad,
    p_surprise,p_neutral,model,model_version,user_label,note,tags,amended,photo,pixels

``kind``
    ``entry`` (a face and its prediction) or ``amend`` (a later change to an entry; see below).
``entry_id``
    32 hex digits (``uuid4().hex``); of an ``amend`` row, the entry it changes.
``timestamp``
    ISO 8601 with the UTC offset of the place and time of writing (``2025-03-01T08:15:02.123456+01:00``).
``source``
    ``webcam``, ``upload``, ``file`` or ``camera``.
``x, y, w, h``
    The face box in the original photo, in pixels.
``emotion``, ``confidence``, ``p_angry`` ... ``p_neutral``
    The predicted emotion, its probability, and all 7 probabilities in :data:`~emoj_lib.labels.EMOTIONS`
    order (written with ``repr``, so they read back exactly).
``model``, ``model_version``
    The model that made the prediction.
``user_label``, ``note``, ``tags``
    The user's label (empty until confirmed or corrected), a free-text note (any text), and tags joined
    with ``;``.
``amended``
    Empty on ``entry`` rows; on ``amend`` rows, the ``;``-joined names of the fields the row sets
    (among ``user_label``, ``note``, ``tags``), so that an empty value can mean "cleared".
``photo``
    The photo kept beside the journal (``photos/<entry_id>.jpg``), or empty.
``pixels``
    The 48x48 face the model saw, as 2304 space-separated integers (the FER2013 convention), so the
    journal alone is enough to retrain. Always the last column: the reader splits it off with one
    ``rfind`` instead of running 9 KB per row through the CSV parser.

Why a version line rather than a ``schema`` column: the version belongs to the file, not to a row; it is
checked once, costs nothing per row, and ``pandas.read_csv(path, skiprows=1)`` still reads the file.

Why append-only amendments rather than rewriting the file: a correction, note or tag added later is an
``amend`` row that names the entry and the fields it sets; reading folds them in, in file order (the
order the writers took the lock). History is kept (:meth:`JournalData.history`), amending reuses the
crash-safe, lock-protected append path (two kernels correcting different entries never lose each
other's work, which a read-modify-replace cycle would), and a 900 MB journal is never rewritten.

Crash safety
------------
Every row is encoded whole and written by one ``os.write`` on an ``O_APPEND`` descriptor, then
``fsync``-ed, under an exclusive ``fcntl.flock``; concurrent writers therefore interleave whole rows
only. A crash (or a full disk) can still leave the last row cut short. The reader skips such a row and
reports it (a :class:`JournalWarning` and :attr:`JournalData.problems`). The next writer notices it
under the lock (the file does not end with a newline, or ends inside a quoted field: it tracks the
quote parity of the file, scanning it once per :class:`Journal` object and then only what others
appended), closes the open quote if any, ends the line and writes the marker line
``# emoj-journal: the row above was cut short and is ignored``, so readers skip that row without
mistaking it for corruption. Readers take the shared lock only to read the file size: the bytes before
it never change.
"""

from __future__ import annotations

import csv
import io
import logging
import mmap
import os
import re
import stat
import threading
import uuid
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from emoj_lib import config
from emoj_lib.data.fer import FerData
from emoj_lib.errors import DataFormatError
from emoj_lib.labels import EMOTIONS, emotion_index

try:
    import fcntl
except ImportError:  # Windows: the store needs POSIX advisory locks
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from emoj_lib.recognizer import FaceReading

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""The journal schema version this library writes and reads."""

FILE_NAME = "journal.csv"
PHOTOS = "photos"
SOURCES: tuple[str, ...] = ("webcam", "upload", "file", "camera")
"""Where an entry's photo came from."""

PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{e}" for e in EMOTIONS)
COLUMNS: tuple[str, ...] = (
    "kind", "entry_id", "timestamp", "source", "x", "y", "w", "h", "emotion", "confidence", *PROB_COLUMNS,
    "model", "model_version", "user_label", "note", "tags", "amended", "photo", "pixels",
)
"""The columns of ``journal.csv`` (schema v1), in file order."""

AMENDABLE: tuple[str, ...] = ("user_label", "note", "tags")
"""The fields an ``amend`` row can set."""

_VERSION_LINE = f"# emoj-journal v{SCHEMA_VERSION}".encode()
_PREAMBLE = _VERSION_LINE + b"\n" + ",".join(COLUMNS).encode() + b"\n"
_REPAIR_LINE = b"# emoj-journal: the row above was cut short and is ignored"
_VERSION_RE = re.compile(rb"^# emoj-journal v(\d+)\s*$")
_ID_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")
_QUOTE_RE = re.compile(r'[,"\r\n]')
_N_PIXELS = config.FACE_SIZE * config.FACE_SIZE
_MIN_PIXEL_CHARS, _MAX_PIXEL_CHARS = 2 * _N_PIXELS - 1, 4 * _N_PIXELS - 1
_PIXEL_TEXT = np.array([str(i) for i in range(256)], dtype=object)
_ON_ERROR = ("raise", "skip")


class JournalWarning(UserWarning):
    """Rows of a journal were skipped (cut short by a crash, or malformed and ``on_error="skip"``)."""


# ------------------------------------------------------------------------------------------------ entries

def _now() -> datetime:
    return datetime.now(UTC).astimezone()


def _check_text(value: str, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not encodable as UTF-8 (lone surrogate?): {exc}") from None
    return value


def _label(value: str | None, name: str = "user_label") -> str | None:
    """Return the canonical emotion name of a label (any common name), ``None`` for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an emotion name or None, got {value!r}")
    return EMOTIONS[emotion_index(value)]


def _tags(tags: str | Iterable[str]) -> tuple[str, ...]:
    """Normalise tags: a ``;``-joined str or an iterable of str; stripped, empty ones dropped, unique."""
    items = tags.split(";") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for t in items:
        _check_text(t, "tag")
        if any(c in t for c in ";\r\n"):
            raise ValueError(f"tag {t!r} contains ';' or a line break")
        t = t.strip()
        if t and t not in out:
            out.append(t)
    return tuple(out)


def _timestamp(value: datetime | pd.Timestamp | None) -> datetime:
    if value is None:
        return _now()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp must be a datetime, got {type(value).__name__}")
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("timestamp must be time-zone aware (e.g. datetime.now().astimezone())")
    if offset % timedelta(minutes=1):
        raise ValueError(f"timestamp UTC offset {offset} is not a whole number of minutes")
    return value


@dataclass(eq=False)
class Entry:
    """One face read by the model: what goes into a journal row.

    Parameters
    ----------
    face : np.ndarray
        The 48x48 uint8 grayscale face the model saw.
    box : tuple of 4 int
        ``(x, y, w, h)`` of the face in the original photo (a :class:`~emoj_lib.faces.Box` is accepted).
    probabilities : array-like
        The 7 probabilities in :data:`~emoj_lib.labels.EMOTIONS` order, each in ``[0, 1]``.
    source : {"webcam", "upload", "file", "camera"}
        Where the photo came from.
    model, model_version : str
        The model that made the prediction.
    emotion : str, optional
        The predicted emotion (default: the most probable one).
    timestamp : datetime, optional
        Time-zone aware (default: now, in the local time zone).
    entry_id : str, optional
        Default ``uuid4().hex``.
    user_label : str, optional
        The user's label, if already known (any common emotion name).
    note : str
        Free text (any Unicode, commas, quotes, line breaks).
    tags : str or iterable of str
        Tags (a str is split on ``;``); they may not contain ``;`` or line breaks.

    """

    face: np.ndarray
    box: tuple[int, int, int, int]
    probabilities: np.ndarray
    source: str
    model: str
    model_version: str
    emotion: str | None = None
    timestamp: datetime | None = None
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_label: str | None = None
    note: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        face = np.asarray(self.face)
        if face.shape != (config.FACE_SIZE, config.FACE_SIZE):
            raise ValueError(f"face must be {config.FACE_SIZE}x{config.FACE_SIZE}, got shape {face.shape}")
        if face.dtype != np.uint8:
            if not np.issubdtype(face.dtype, np.integer) or face.min() < 0 or face.max() > 255:
                raise ValueError(f"face must be uint8 (or integers in 0..255), got {face.dtype}")
        self.face = face.astype(np.uint8)
        box = self.box.as_tuple() if hasattr(self.box, "as_tuple") else tuple(self.box)
        if len(box) != 4 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in box):
            raise ValueError(f"box must be 4 integers (x, y, w, h), got {self.box!r}")
        box = tuple(int(v) for v in box)
        if min(box[:2]) < 0 or min(box[2:]) <= 0:
            raise ValueError(f"box must have x, y >= 0 and w, h > 0, got {box}")
        self.box = box  # type: ignore[assignment]
        p = np.asarray(self.probabilities, dtype=np.float64).ravel()
        if p.shape != (len(EMOTIONS),) or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
            raise ValueError(f"probabilities must be {len(EMOTIONS)} numbers in [0, 1] in EMOTIONS order, "
                             f"got {self.probabilities!r}")
        self.probabilities = p
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        self.model = _check_text(self.model, "model")
        self.model_version = _check_text(str(self.model_version), "model_version")
        self.emotion = EMOTIONS[int(p.argmax())] if self.emotion is None else _label(self.emotion, "emotion")
        if self.emotion is None:
            raise ValueError("emotion must be an emotion name")
        self.timestamp = _timestamp(self.timestamp)
        if not isinstance(self.entry_id, str) or not _ID_RE.fullmatch(self.entry_id):
            raise ValueError(f"entry_id must be 1-64 letters, digits, '_' or '-', got {self.entry_id!r}")
        self.user_label = _label(self.user_label)
        self.note = _check_text(self.note, "note")
        self.tags = _tags(self.tags)

    @property
    def confidence(self) -> float:
        """The probability of the predicted emotion."""
        return float(self.probabilities[EMOTIONS.index(self.emotion)])

    @classmethod
    def from_reading(cls, reading: FaceReading, *, source: str, model: str, model_version: str,
                     **options: Any) -> Entry:
        """Make an entry from a :class:`~emoj_lib.recognizer.FaceReading` (no TensorFlow needed).

        Parameters
        ----------
        reading : FaceReading
            A face found and read by :meth:`Recognizer.analyze <emoj_lib.recognizer.Recognizer.analyze>`.
        source : {"webcam", "upload", "file", "camera"}
            Where the photo came from.
        model, model_version : str
            The model that read it (e.g. ``recognizer.name`` and the version from its card).
        **options
            Any other :class:`Entry` field: ``timestamp``, ``entry_id``, ``user_label``, ``note``, ``tags``.

        Returns
        -------
        Entry
            The predicted emotion is the most probable one.

        """
        return cls(face=reading.crop, box=reading.box, probabilities=reading.probabilities, source=source,
                   model=model, model_version=model_version, **options)

    def to_row(self, photo: str = "") -> bytes:
        """Return the encoded CSV record of this entry (UTF-8, ending with a newline)."""
        fields = ["entry", self.entry_id, self.timestamp.isoformat(timespec="microseconds"), self.source,
                  *map(str, self.box), self.emotion, repr(self.confidence),
                  *(repr(float(v)) for v in self.probabilities), self.model, self.model_version,
                  self.user_label or "", self.note, ";".join(self.tags), "", photo]
        pixels = " ".join(_PIXEL_TEXT[self.face.ravel()])
        return (",".join(map(_quote, fields)) + "," + pixels + "\n").encode("utf-8")


def _quote(text: str) -> str:
    r"""CSV-quote a field when it holds a separator, a quote or a line break (RFC 4180).

    Python 3.11's ``csv.writer`` does not quote a lone ``\r`` when the line terminator is ``\n``,
    which would break such a row on reading; this quoting is read back exactly by ``csv.reader``.
    """
    return '"' + text.replace('"', '""') + '"' if _QUOTE_RE.search(text) else text


# ------------------------------------------------------------------------------------------ files & locks

def _private_dir(path: Path) -> None:
    """Create a folder readable by its owner only (0o700, whatever the umask); leave an existing one."""
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder (give the journal folder, not its file)")
    if path.is_dir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning("journal folder %s is accessible to other users (mode %o)", path, mode)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _flock(fd: int, how: str) -> Iterator[None]:
    if fcntl is None:
        raise OSError("the journal needs POSIX file locks (fcntl.flock): Linux or macOS")
    fcntl.flock(fd, fcntl.LOCK_EX if how == "exclusive" else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _check_head(path: Path, head: bytes, complete: bool) -> None:
    """Raise DataFormatError unless ``head`` starts with this library's version line and header."""
    first, _, rest = head.removeprefix(b"\xef\xbb\xbf").partition(b"\n")  # tolerate a BOM (spreadsheets)
    m = _VERSION_RE.match(first.rstrip(b"\r"))
    if m is None:
        raise DataFormatError(path, f"not an emoJ journal: the first line is {first[:60]!r}, expected "
                              f"{_VERSION_LINE.decode()!r}", line=1)
    version = int(m.group(1))
    if version > SCHEMA_VERSION:
        raise DataFormatError(path, f"journal schema v{version} was written by a newer emoj_lib; this one reads "
                              f"up to v{SCHEMA_VERSION} (upgrade emoj_lib)", line=1)
    if version != SCHEMA_VERSION:
        raise DataFormatError(path, f"unknown journal schema v{version}", line=1)
    header, nl, _ = rest.partition(b"\n")
    if not nl and not complete:
        return  # the caller read only the beginning of a long line
    names = header.rstrip(b"\r").decode("utf-8", errors="replace").split(",")
    if names != list(COLUMNS):
        missing = [c for c in COLUMNS if c not in names]
        extra = [c for c in names if c not in COLUMNS]
        raise DataFormatError(path, f"wrong header for schema v{SCHEMA_VERSION}: missing {missing}, unexpected "
                              f"{extra}" + ("" if missing or extra else ", columns out of order"), line=2)


# ------------------------------------------------------------------------------------------------ reading

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


# ------------------------------------------------------------------------------------------------ journal

_UNSET: Any = object()


class Journal:
    """An emotional journal: a folder with ``journal.csv`` (see the module docstring for the format).

    Parameters
    ----------
    folder : str or Path, optional
        The journal folder (default :func:`emoj_lib.config.journal_dir`). It is created if needed
        (``0o700``), with an empty journal file (``0o600``).
    fsync : bool
        ``fsync`` every row (default). False only for tests or bulk imports: a power cut may then lose
        the last rows (never corrupt earlier ones).

    Raises
    ------
    DataFormatError
        If the folder holds a ``journal.csv`` of another format or of a newer schema version.

    Examples
    --------
    >>> journal = Journal()  # ~/emoj-journal, or $EMOJ_JOURNAL_DIR  # doctest: +SKIP
    >>> [reading] = Recognizer().analyze("selfie.jpg", policy="largest")  # doctest: +SKIP
    >>> entry = journal.append(Entry.from_reading(reading, source="webcam", model="emoj_fer2013",
    ...                                           model_version="1"))  # doctest: +SKIP
    >>> journal.amend(entry.entry_id, label="sad", note="long day")  # doctest: +SKIP
    >>> journal.read(pixels=False).entries[["emotion", "user_label", "note"]]  # doctest: +SKIP

    """

    def __init__(self, folder: str | Path | None = None, *, fsync: bool = True) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else config.journal_dir()
        self.path = self.folder / FILE_NAME
        self.fsync = bool(fsync)
        self._lock = threading.Lock()
        self._tail: tuple[int, int, int, bool] | None = None  # (dev, ino, size scanned, inside quotes)
        _private_dir(self.folder)
        self._append(b"")

    def __repr__(self) -> str:
        return f"Journal({str(self.folder)!r})"

    # --- writing
    def _append(self, payload: bytes) -> None:
        """Write ``payload`` (whole rows) at the end of the file, atomically with respect to other writers."""
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                with _flock(fd, "exclusive"):
                    st = os.fstat(fd)
                    size = st.st_size
                    if size == 0:
                        os.fchmod(fd, 0o600)
                        prefix = _PREAMBLE
                    elif not payload:  # opening: check the head only
                        head = os.pread(fd, 4096, 0)
                        _check_head(self.path, head, len(head) == size)
                        return
                    else:
                        prefix = self._repair_prefix(fd, st)
                    data = prefix + payload
                    if not data:
                        return
                    try:
                        written = os.write(fd, data)
                        if written != len(data):
                            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
                        if self.fsync:
                            os.fsync(fd)
                    except BaseException:
                        os.ftruncate(fd, size)  # leave no partial row behind
                        self._tail = None
                        raise
                    self._tail = (st.st_dev, st.st_ino, size + len(data), False)
                    if size == 0 and self.fsync:
                        _fsync_dir(self.folder)
            finally:
                os.close(fd)

    def _repair_prefix(self, fd: int, st: os.stat_result) -> bytes:
        """Check the head of the file; return what to write first if its last row was cut short."""
        size = st.st_size
        tail = self._tail
        if tail is None or tail[:2] != (st.st_dev, st.st_ino) or tail[2] > size:
            head = os.pread(fd, 4096, 0)
            _check_head(self.path, head, len(head) == size)
            tail = (st.st_dev, st.st_ino, 0, False)
        odd = tail[3]
        if tail[2] < size:  # quote parity of what was appended since (all of it, the first time)
            with mmap.mmap(fd, size, prot=mmap.PROT_READ) as mm:
                pos = mm.find(b'"', tail[2])
                while pos >= 0:  # memchr from quote to quote: quotes are rare (only in some notes)
                    odd = not odd
                    pos = mm.find(b'"', pos + 1)
        self._tail = (st.st_dev, st.st_ino, size, odd)
        if not odd and os.pread(fd, 1, size - 1) == b"\n":
            return b""
        log.warning("%s: the last row was cut short (a crash?); marking it and appending after it", self.path)
        return (b'"' if odd else b"") + b"\n" + _REPAIR_LINE + b"\n"

    def append(self, entry: Entry, *, photo: Any = None) -> Entry:
        """Append an entry (and keep its photo beside the journal if one is given).

        Parameters
        ----------
        entry : Entry
            The entry; see :meth:`Entry.from_reading`.
        photo : bytes, str, Path or np.ndarray, optional
            The original photo, kept as ``photos/<entry_id>.jpg|.png`` (``0o600``): encoded JPEG or PNG
            bytes, the path of such a file, or an RGB/grayscale uint8 array (saved as PNG). None (default):
            no photo is kept.

        Returns
        -------
        Entry
            The entry appended.

        """
        if not isinstance(entry, Entry):
            raise TypeError(f"expected an Entry, got {type(entry).__name__}")
        if photo is None:
            self._append(entry.to_row())
            return entry
        saved = self._save_photo(entry.entry_id, photo)
        try:
            self._append(entry.to_row(f"{PHOTOS}/{saved.name}"))
        except BaseException:
            saved.unlink(missing_ok=True)  # no photo without its row
            raise
        return entry

    def _save_photo(self, entry_id: str, photo: Any) -> Path:
        if isinstance(photo, np.ndarray):
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(photo, dtype=np.uint8)).save(buf, format="PNG")
            data = buf.getvalue()
        elif isinstance(photo, bytes | bytearray | memoryview):
            data = bytes(photo)
        elif isinstance(photo, str | os.PathLike):
            data = Path(photo).read_bytes()
        else:
            raise TypeError(f"photo must be bytes, a path or an array, got {type(photo).__name__}")
        if data.startswith(b"\xff\xd8\xff"):
            ext = ".jpg"
        elif data.startswith(b"\x89PNG\r\n\x1a\n"):
            ext = ".png"
        else:
            raise ValueError("photo must be a JPEG or PNG file (or an image array)")
        folder = self.folder / PHOTOS
        _private_dir(folder)
        final = folder / f"{entry_id}{ext}"
        tmp = folder / f".{entry_id}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, final)
        if self.fsync:
            _fsync_dir(folder)
        return final

    def amend(self, entry_id: str, *, label: str | None = _UNSET, note: str = _UNSET,
              tags: str | Iterable[str] = _UNSET, timestamp: datetime | None = None, check: bool = True) -> None:
        """Record a correction, a note or tags for an entry (an append-only amendment row).

        Parameters
        ----------
        entry_id : str
            The entry to amend.
        label : str or None, optional
            The user's label (any common emotion name); ``None`` or ``""`` clears it. Omitted: unchanged.
        note : str, optional
            The new note (replaces the old one; ``""`` clears it). Omitted: unchanged.
        tags : str or iterable of str, optional
            The new tags (replace the old ones). Omitted: unchanged.
        timestamp : datetime, optional
            When the amendment was made (default now).
        check : bool
            Check that the entry is in the journal (a search of the file from its end; ``KeyError`` if not).

        """
        changes: dict[str, str] = {}
        if label is not _UNSET:
            changes["user_label"] = _label(label) or ""
        if note is not _UNSET:
            changes["note"] = _check_text(note, "note")
        if tags is not _UNSET:
            changes["tags"] = ";".join(_tags(tags))
        if not changes:
            raise ValueError("nothing to amend: give label, note and/or tags")
        if not isinstance(entry_id, str) or not _ID_RE.fullmatch(entry_id):
            raise ValueError(f"not an entry id: {entry_id!r}")
        if check and not self._has_entry(entry_id):
            raise KeyError(f"no entry {entry_id!r} in {self.path}")
        when = _timestamp(timestamp).isoformat(timespec="microseconds")
        row = dict.fromkeys(COLUMNS, "")
        row.update(kind="amend", entry_id=entry_id, timestamp=when, amended=";".join(changes), **changes)
        self._append((",".join(_quote(row[c]) for c in COLUMNS) + "\n").encode("utf-8"))

    def confirm(self, entry: Entry | str, emotion: str | None = None) -> None:
        """Record that the user agrees with the prediction (label = the predicted emotion).

        Parameters
        ----------
        entry : Entry or str
            The entry, or its id together with ``emotion``.
        emotion : str, optional
            The predicted emotion, required when ``entry`` is an id.

        """
        if isinstance(entry, Entry):
            if emotion is not None and _label(emotion) != entry.emotion:
                raise ValueError(f"emotion {emotion!r} is not the entry's prediction {entry.emotion!r}")
            self.amend(entry.entry_id, label=entry.emotion)
        elif emotion is None:
            raise ValueError("give the predicted emotion with an entry id (or pass the Entry)")
        else:
            self.amend(entry, label=emotion)

    def _has_entry(self, entry_id: str) -> bool:
        needle = b"\nentry," + entry_id.encode() + b","
        with open(self.path, "rb") as fh:
            if os.fstat(fh.fileno()).st_size == 0:
                return False
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return mm.rfind(needle) >= 0

    # --- reading
    def read(self, *, on_error: str = "raise", pixels: bool = True) -> JournalData:
        """Read the journal: see :func:`read_journal`."""
        return read_journal(self.path, on_error=on_error, pixels=pixels)

    def labelled_faces(self, *, on_error: str = "raise") -> FerData:
        """Return the faces the user labelled as :class:`~emoj_lib.data.FerData` (usage ``"Journal"``).

        ``on_error`` applies to both the rows of the journal and the pixel strings; see
        :func:`read_journal` and :meth:`JournalData.labelled_faces`.
        """
        return self.read(on_error=on_error).labelled_faces(on_error=on_error)

    def photo_path(self, entry_id: str) -> Path | None:
        """Return the path of an entry's kept photo, or None if it has none."""
        for ext in (".jpg", ".png"):
            p = self.folder / PHOTOS / f"{entry_id}{ext}"
            if p.is_file():
                return p
        return None

