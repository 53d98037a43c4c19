"""The journal store: one append-only CSV file per journal, safe under crashes and concurrent writers.

A journal is a folder (default :func:`emoj_lib.config.journal_dir`) holding ``journal.csv`` and, for the
entries whose photo the caller chose to keep, ``photos/<entry id>.jpg`` (or ``.png``). The folder is
created ``0o700`` and every file ``0o600`` whatever the umask; nothing is ever sent over the network.

:class:`Journal` appends :class:`~emoj_lib.journal.entry.Entry` rows and amendments, keeps photos and
repairs a row cut short by a crash. The file format, and the locks and repair marker that make it safe
under crashes and concurrent writers, are described in :mod:`emoj_lib.journal.fileformat`; reading is
:func:`~emoj_lib.journal.reader.read_journal`.
"""

from __future__ import annotations

import io
import logging
import mmap
import os
import stat
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from emoj_lib import config
from emoj_lib.data.fer import FerData
from emoj_lib.journal.entry import _ID_RE, SOURCES, Entry, _check_text, _label, _quote, _tags, _timestamp
from emoj_lib.journal.fileformat import (
    _PREAMBLE,
    _REPAIR_LINE,
    AMENDABLE,
    COLUMNS,
    FILE_NAME,
    PROB_COLUMNS,
    SCHEMA_VERSION,
    _check_head,
    _flock,
)
from emoj_lib.journal.reader import JournalData, JournalWarning, read_journal

__all__ = [  # Journal, and the names this module held before the journal was split into modules
    "AMENDABLE",
    "COLUMNS",
    "FILE_NAME",
    "PHOTOS",
    "PROB_COLUMNS",
    "SCHEMA_VERSION",
    "SOURCES",
    "Entry",
    "Journal",
    "JournalData",
    "JournalWarning",
    "read_journal",
]

log = logging.getLogger(__name__)

PHOTOS = "photos"


# ------------------------------------------------------------------------------------ files & permissions

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


# ------------------------------------------------------------------------------------------------ journal

_UNSET: Any = object()


class Journal:
    """An emotional journal: a folder with ``journal.csv`` (format: :mod:`emoj_lib.journal.fileformat`).

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

