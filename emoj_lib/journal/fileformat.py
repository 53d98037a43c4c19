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
    ``entry`` (a face and its prediction), ``amend`` (a later change to an entry; see below) or
    ``delete`` (the record that an entry was deleted: its id and time, nothing else).
``entry_id``
    32 hex digits (``uuid4().hex``); of an ``amend`` or ``delete`` row, the entry it concerns.
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
    with ``;``. Free text (``model``, ``model_version``, ``note`` and each tag) is stored spreadsheet-safe
    (see *Spreadsheets* below).
``amended``
    Empty on ``entry`` rows; on ``amend`` rows, the ``;``-joined names of the fields the row sets
    (among ``user_label``, ``note``, ``tags``), so that an empty value can mean "cleared".
``photo``
    The photo kept beside the journal (``photos/<entry_id>.jpg``), or empty.
``pixels``
    The 48x48 face the model saw, as 2304 space-separated integers (the FER2013 convention), so the
    journal alone is enough to retrain. Always the last column: the reader splits it off with one
    ``rfind`` instead of running 9 KB per row through the CSV parser.

Spreadsheets
------------
Opening ``journal.csv`` (or an export, :func:`~emoj_lib.journal.export.export_csv`) in a spreadsheet must
never run a formula. A text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, once
any leading apostrophes are set aside, is stored with one more apostrophe in front (``=1+1`` is stored
``'=1+1``, ``'=x`` is stored ``''=x``); a spreadsheet shows such a cell as text. Reading removes that one
apostrophe, so the text read back is exactly the text written; a text stored with a leading apostrophe
that is not followed (after the apostrophes) by one of those characters is read as it is. One function
holds the rule: :func:`escape_text` (and its inverse :func:`unescape_text`).

Deleting an entry
-----------------
:meth:`~emoj_lib.journal.store.Journal.delete` is the one operation that rewrites the file (atomically,
under the exclusive lock: a temporary file in the folder, fsync, rename, fsync of the folder): the entry's
row and its amendments are left out, so its face pixels, note and tags are gone from the folder, and a
``delete`` row (id and time only) is appended so that readers and the history know it happened. Writers
that waited for the lock notice that the file was replaced and append to the new one.

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
from collections.abc import Iterator, Sequence
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
"""The journal file in a journal folder."""

PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{e}" for e in EMOTIONS)
COLUMNS: tuple[str, ...] = (
    "kind", "entry_id", "timestamp", "source", "x", "y", "w", "h", "emotion", "confidence", *PROB_COLUMNS,
    "model", "model_version", "user_label", "note", "tags", "amended", "photo", "pixels",
)
"""The columns of ``journal.csv`` (schema v1), in file order."""

KINDS: tuple[str, ...] = ("entry", "amend", "delete")
"""The kinds of rows."""

AMENDABLE: tuple[str, ...] = ("user_label", "note", "tags")
"""The fields an ``amend`` row can set."""

TEXT_COLUMNS: tuple[str, ...] = ("model", "model_version", "note")
"""Free-text columns stored spreadsheet-safe (:func:`escape_text`); each tag is too."""

VERSION_LINE = f"# emoj-journal v{SCHEMA_VERSION}".encode()
HEADER_LINE = ",".join(COLUMNS).encode()
PREAMBLE = VERSION_LINE + b"\n" + HEADER_LINE + b"\n"
"""The first two lines of every journal file."""
REPAIR_LINE = b"# emoj-journal: the row above was cut short and is ignored"
"""The marker line a writer appends after a row cut short by a crash."""
_VERSION_RE = re.compile(rb"^# emoj-journal v(\d+)[\s,]*$")  # trailing commas: a spreadsheet re-save
_QUOTE_RE = re.compile(r'[,"\r\n]')
_FORMULA_START = frozenset("=+-@\t\r")


def escape_text(text: str) -> str:
    """Return ``text`` as stored in a CSV cell that a spreadsheet must never run as a formula.

    A text that begins, after any leading apostrophes, with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return gets one more apostrophe in front; any other text is unchanged. :func:`unescape_text` undoes it.
    """
    return "'" + text if text.lstrip("'")[:1] in _FORMULA_START else text


def unescape_text(text: str) -> str:
    """Return the text :func:`escape_text` was given (the inverse)."""
    return text[1:] if text[:1] == "'" and text.lstrip("'")[:1] in _FORMULA_START else text


def escape_tags(tags: Sequence[str]) -> str:
    """Join tags with ``;``, each escaped by :func:`escape_text`."""
    return ";".join(escape_text(t) for t in tags)


def split_tags(text: str) -> tuple[str, ...]:
    """Split a stored ``tags`` field into tags (the inverse of :func:`escape_tags`)."""
    return tuple(unescape_text(t) for t in text.split(";") if t) if text else ()


def quote_field(text: str) -> str:
    r"""CSV-quote a field when it holds a separator, a quote or a line break (RFC 4180).

    Python 3.11's ``csv.writer`` does not quote a lone ``\r`` when the line terminator is ``\n``,
    which would break such a row on reading; this quoting is read back exactly by ``csv.reader``.
    """
    return '"' + text.replace('"', '""') + '"' if _QUOTE_RE.search(text) else text


def encode_record(fields: Sequence[str]) -> bytes:
    """Encode one row (all :data:`COLUMNS`, pixels last and never quoted) as UTF-8 bytes ending with a newline."""
    if len(fields) != len(COLUMNS):
        raise ValueError(f"a journal row has {len(COLUMNS)} fields, got {len(fields)}")
    return (",".join(map(quote_field, fields[:-1])) + "," + fields[-1] + "\n").encode("utf-8")


@contextmanager
def file_lock(fd: int, how: str) -> Iterator[None]:
    """Hold ``fcntl.flock`` on ``fd``: ``"exclusive"`` (writers) or ``"shared"`` (readers)."""
    if fcntl is None:
        raise OSError("the journal needs POSIX file locks (fcntl.flock): Linux or macOS")
    fcntl.flock(fd, fcntl.LOCK_EX if how == "exclusive" else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def is_cut_preamble(head: bytes) -> bool:
    """Whether ``head`` (the whole file) is the beginning of the preamble only: a journal cut while being created."""
    return len(head) < len(PREAMBLE) and PREAMBLE.startswith(head)


def check_version(path: Path, first: bytes) -> None:
    """Raise DataFormatError unless ``first`` (line 1) is a version line this library reads."""
    m = _VERSION_RE.match(first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r"))  # tolerate a BOM (spreadsheets)
    if m is None:
        raise DataFormatError(path, f"not an emoJ journal: the first line is {first[:60]!r}, expected "
                              f"{VERSION_LINE.decode()!r}", line=1)
    version = int(m.group(1))
    if version > SCHEMA_VERSION:
        raise DataFormatError(path, f"journal schema v{version} was written by a newer emoj_lib; this one reads "
                              f"up to v{SCHEMA_VERSION} (upgrade emoj_lib)", line=1)
    if version != SCHEMA_VERSION:
        raise DataFormatError(path, f"unknown journal schema v{version}", line=1)


def check_header(path: Path, header: bytes) -> None:
    """Raise DataFormatError unless ``header`` (line 2) names :data:`COLUMNS` in order."""
    names = header.rstrip(b"\r").decode("utf-8", errors="replace").split(",")
    if names != list(COLUMNS):
        missing = [c for c in COLUMNS if c not in names]
        extra = [c for c in names if c not in COLUMNS]
        raise DataFormatError(path, f"wrong header for schema v{SCHEMA_VERSION}: missing {missing}, unexpected "
                              f"{extra}" + ("" if missing or extra else ", columns out of order"), line=2)


def check_head(path: Path, head: bytes, complete: bool) -> None:
    """Raise DataFormatError unless ``head`` starts with this library's version line and header.

    ``complete``: ``head`` is the whole file (else the header may be cut by the end of ``head``).
    """
    first, _, rest = head.partition(b"\n")
    check_version(path, first)
    header, nl, _ = rest.partition(b"\n")
    if nl or complete:
        check_header(path, header)
