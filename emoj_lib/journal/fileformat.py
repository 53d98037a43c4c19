r"""The journal file format: its columns, version line and header, and the locks readers and writers take.

A journal folder (``journal.csv``, ``photos/``, permissions) is described in :mod:`emoj_lib.journal.store`;
:class:`~emoj_lib.journal.store.Journal` writes the format and :func:`~emoj_lib.journal.reader.read_journal`
reads it.

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
order the writers took the lock). History is kept (:meth:`~emoj_lib.journal.reader.JournalData.history`),
amending reuses the crash-safe, lock-protected append path (two kernels correcting different entries
never lose each other's work, which a read-modify-replace cycle would), and a 900 MB journal is never
rewritten.

Crash safety
------------
Every row is encoded whole and written by one ``os.write`` on an ``O_APPEND`` descriptor, then
``fsync``-ed, under an exclusive ``fcntl.flock``; concurrent writers therefore interleave whole rows
only. A crash (or a full disk) can still leave the last row cut short. The reader skips such a row and
reports it (a :class:`~emoj_lib.journal.reader.JournalWarning` and
:attr:`~emoj_lib.journal.reader.JournalData.problems`). The next writer notices it under the lock (the
file does not end with a newline, or ends inside a quoted field: it tracks the quote parity of the file,
scanning it once per :class:`~emoj_lib.journal.store.Journal` object and then only what others
appended), closes the open quote if any, ends the line and writes the marker line
``# emoj-journal: the row above was cut short and is ignored``, so readers skip that row without
mistaking it for corruption. Readers take the shared lock only to read the file size: the bytes before
it never change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from emoj_lib.errors import DataFormatError
from emoj_lib.labels import EMOTIONS

try:
    import fcntl
except ImportError:  # Windows: the store needs POSIX advisory locks
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 1
"""The journal schema version this library writes and reads."""

FILE_NAME = "journal.csv"

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
