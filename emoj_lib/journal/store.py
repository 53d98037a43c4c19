"""The journal store: one append-only CSV file per journal, safe under crashes and concurrent writers.

A journal is a folder (default :func:`emoj_lib.config.journal_dir`) holding ``journal.csv`` and, for the
entries whose photo the caller chose to keep, ``photos/<entry id>.jpg`` (or ``.png``). Everything in it is
owner-only whatever the umask, symbolic links are never followed, and a folder or file of another user
is refused (:mod:`emoj_lib.journal.files`); nothing is ever sent over the network.

:class:`Journal` appends :class:`~emoj_lib.journal.entry.Entry` rows and amendments, keeps photos, deletes
entries for good and repairs a row cut short by a crash. Creating is explicit: ``Journal(folder)`` touches
nothing until its first write, :meth:`Journal.open` opens an existing journal (or raises
:class:`~emoj_lib.errors.JournalNotFoundError`), :meth:`Journal.create` creates one. The file format, and
the locks and repair marker that make it safe, are described in :mod:`emoj_lib.journal.fileformat`;
reading is :func:`~emoj_lib.journal.reader.read_journal`.
"""

from __future__ import annotations

import logging
import mmap
import os
import threading
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from emoj_lib import config
from emoj_lib.data.fer import FerData
from emoj_lib.errors import DuplicateEntryError, JournalNotFoundError, UnknownEntryError, UnsafeFileError
from emoj_lib.journal.deletion import without_entry
from emoj_lib.journal.entry import (
    Entry,
    aware_timestamp,
    canonical_label,
    check_entry_id,
    check_text,
    normalise_tags,
)
from emoj_lib.journal.fileformat import (
    COLUMNS,
    FILE_NAME,
    PREAMBLE,
    REPAIR_LINE,
    check_head,
    encode_record,
    escape_tags,
    escape_text,
    file_lock,
    is_cut_preamble,
)
from emoj_lib.journal.files import (
    fsync_dir,
    os_errors,
    private_dir,
    secure_open,
    write_all,
    write_private,
)
from emoj_lib.journal.photos import PHOTOS, clean_photo, photo_files, remove_orphans
from emoj_lib.journal.reader import JournalData, read_journal
from emoj_lib.journal.rows import head_end
from emoj_lib.journal.tail import Tail

log = logging.getLogger(__name__)

_UNSET: Any = object()
_REOPENS = 100  # a delete or repair replaces the file; a writer that waited for the old one opens it again


class LeftoverNotice(UserWarning):
    """Files left by a crash (a photo without its row, a partial temporary file) were removed."""


class Journal:
    """An emotional journal: a folder with ``journal.csv`` (format: :mod:`emoj_lib.journal.fileformat`).

    Parameters
    ----------
    folder : str or Path, optional
        The journal folder (default :func:`emoj_lib.config.journal_dir`). Nothing is created or opened
        until the first write, which creates the folder (``0o700``) and the file (``0o600``). Use
        :meth:`open` for a journal that must exist, :meth:`create` to create one now.
    fsync : bool
        ``fsync`` every row (default). False only for tests or bulk imports: a power cut may then lose
        the last rows (never corrupt earlier ones).

    Examples
    --------
    >>> journal = Journal.create()  # ~/emoj-journal, or $EMOJ_JOURNAL_DIR  # doctest: +SKIP
    >>> [reading] = Recognizer().analyze("selfie.jpg", policy="largest")  # doctest: +SKIP
    >>> entry = journal.append(Entry.from_reading(reading, source="webcam", model="emoj_fer2013",
    ...                                           model_version="1"))  # doctest: +SKIP
    >>> journal.amend(entry.entry_id, label="sad", note="long day")  # doctest: +SKIP
    >>> journal.read(pixels=False).entries[["emotion", "user_label", "note"]]  # doctest: +SKIP
    >>> journal.delete(entry.entry_id)  # doctest: +SKIP

    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, *, fsync: bool = True) -> None:
        self.folder = Path(folder).expanduser() if folder is not None else config.journal_dir()
        if self.folder.exists() and not self.folder.is_dir():
            raise NotADirectoryError(f"{self.folder} is not a folder (give the journal folder, not its file)")
        self.path = self.folder / FILE_NAME
        self.fsync = bool(fsync)
        self._lock = threading.RLock()
        self._tail: Tail | None = None

    def __repr__(self) -> str:
        return f"Journal({str(self.folder)!r})"

    @classmethod
    def open(cls, folder: str | Path | None = None, *, fsync: bool = True) -> Journal:
        """Return the journal in ``folder``, which must exist (read commands use this; nothing is created).

        Raises
        ------
        JournalNotFoundError
            No ``journal.csv`` in ``folder``.
        DataFormatError
            The file is not a journal of a schema version this library reads.
        UnsafeFileError
            The folder or file is not the user's, is writable by others, or is a symbolic link.

        """
        journal = cls(folder, fsync=fsync)
        if not journal.path.exists() and not journal.path.is_symlink():
            raise JournalNotFoundError(journal.folder)
        private_dir(journal.folder, create=False, follow=True)
        fd = secure_open(journal.path, os.O_RDONLY)
        try:
            with os_errors(journal.path, "read"):
                head = os.pread(fd, 4096, 0)
                size = os.fstat(fd).st_size
            if size and not is_cut_preamble(head):
                check_head(journal.path, head, len(head) == size)
        finally:
            os.close(fd)
        return journal

    @classmethod
    def create(cls, folder: str | Path | None = None, *, fsync: bool = True) -> Journal:
        """Create the journal in ``folder`` now (or open it if it exists), clean crash leftovers, and return it."""
        journal = cls(folder, fsync=fsync)
        with journal._locked() as (fd, st):
            journal._prepare(fd, st)
        return journal

    @property
    def exists(self) -> bool:
        """Whether the journal file exists."""
        return self.path.is_file()

    # --- writing
    @contextmanager
    def _locked(self) -> Iterator[tuple[int, os.stat_result]]:
        """Open (creating if needed) the journal file and hold its exclusive lock; yield ``(fd, stat)``.

        If a :meth:`delete` replaced the file while this writer waited, the lock is taken again on the new file.
        """
        with self._lock, os_errors(self.path, "write"):
            private_dir(self.folder, follow=True)
            for _ in range(_REOPENS):
                fd = secure_open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
                try:
                    with file_lock(fd, "exclusive"):
                        st = os.fstat(fd)
                        if _is_current(self.path, st):
                            yield fd, st
                            return
                finally:
                    os.close(fd)
            raise UnsafeFileError(f"{self.path} was replaced {_REOPENS} times while waiting for its lock; "
                                  f"something else is rewriting the journal: stop it and try again")

    def _prepare(self, fd: int, st: os.stat_result) -> bytes:
        """Under the lock: write the preamble of a new file, clean leftovers once; return a repair prefix."""
        if st.st_size == 0 or is_cut_preamble(os.pread(fd, len(PREAMBLE), 0)):
            os.ftruncate(fd, 0)
            write_all(fd, PREAMBLE)
            self._flush(fd, new=True)
            st = os.fstat(fd)
        tail = self._tail if self._tail is not None and self._tail.same_file(st) else None
        fresh = tail is None
        if tail is None:
            head = os.pread(fd, 4096, 0)
            check_head(self.path, head, len(head) == st.st_size)
            tail = self._tail = Tail(st.st_dev, st.st_ino)
        tail.update(fd, st.st_size)
        whole = not tail.odd and os.pread(fd, 1, st.st_size - 1) == b"\n"
        if fresh:
            self._clean_leftovers(tail, None if whole else tail.cut_entry_id(fd, st.st_size))
        if whole:
            return b""
        log.warning("%s: the last row was cut short (a crash?); marking it and appending after it", self.path)
        return (b'"' if tail.odd else b"") + b"\n" + REPAIR_LINE + b"\n"

    def _clean_leftovers(self, tail: Tail, cut_id: str | None) -> None:
        """Remove photos without a readable row (``cut_id``: the entry whose row a crash cut short) and copies."""
        removed = remove_orphans(self.folder, tail.ids - {cut_id} if cut_id else tail.ids)
        for p in self.folder.glob(f".{FILE_NAME}.*.tmp"):
            p.unlink(missing_ok=True)
            removed.append(p)
        if removed:
            warnings.warn(f"{self.folder}: removed {len(removed)} file(s) left by a crash (a photo without its "
                          f"row or a partial copy): {', '.join(p.name for p in removed[:5])}", LeftoverNotice,
                          stacklevel=4)

    def _flush(self, fd: int, *, new: bool = False) -> None:
        if self.fsync:
            os.fsync(fd)
            if new:
                fsync_dir(self.folder)

    def _append(self, payload: bytes, *, ids: Iterable[str] = (), photo: tuple[str, bytes] | None = None) -> None:
        """Write ``payload`` (whole rows) at the end of the file, atomically with respect to other writers.

        ``ids``: entry ids of the rows, refused if already used; ``photo``: ``(name, bytes)`` kept first.
        """
        ids = list(ids)
        with self._locked() as (fd, st):
            prefix = self._prepare(fd, st)
            tail = self._tail
            if tail is None:  # _prepare always reads it
                raise RuntimeError(f"{self.path}: the end of the journal was not read")
            used = [i for i in ids if i in tail.ids]
            if used:
                raise DuplicateEntryError(f"{self.path}: entry id {used[0]} is already in the journal (appended "
                                          f"twice?); nothing was written")
            saved = self._save_photo(*photo) if photo else None
            size = os.fstat(fd).st_size
            data = prefix + payload
            try:
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")
                self._flush(fd)
            except BaseException:
                os.ftruncate(fd, size)  # leave no partial row behind
                self._tail = None
                if saved is not None:
                    saved.unlink(missing_ok=True)  # no photo without its row
                raise
            tail.appended(size, data, ids)

    def _save_photo(self, name: str, data: bytes) -> Path:
        folder = private_dir(self.folder / PHOTOS)
        return write_private(folder / name, data, fsync=self.fsync)

    def append(self, entry: Entry, *, photo: Any = None) -> Entry:
        """Append an entry (and keep its photo beside the journal if one is given).

        Parameters
        ----------
        entry : Entry
            The entry; see :meth:`Entry.from_reading`.
        photo : bytes, str, Path or np.ndarray, optional
            The original photo, kept as ``photos/<entry_id>.jpg|.png`` (``0o600``), with its orientation
            applied and its metadata (EXIF, GPS, XMP) removed: encoded JPEG or PNG bytes, the path of such a
            file, or an RGB/grayscale uint8 array (kept as PNG). None (default): no photo is kept.

        Returns
        -------
        Entry
            The entry appended.

        Raises
        ------
        DuplicateEntryError
            The entry id is already in the journal (nothing is written).
        ImageReadError
            The photo is not a JPEG or PNG (checked before anything is written).
        StorageError
            The system refused the write (full disk, read-only...): the message says what to do.

        """
        if not isinstance(entry, Entry):
            raise TypeError(f"expected an Entry, got {type(entry).__name__}")
        if photo is None:
            self._append(entry.to_row(), ids=[entry.entry_id])
            return entry
        data, ext = clean_photo(photo)
        name = f"{entry.entry_id}{ext}"
        self._append(entry.to_row(f"{PHOTOS}/{name}"), ids=[entry.entry_id], photo=(name, data))
        return entry

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
            Check that the entry is in the journal (a search of the file from its end;
            :class:`~emoj_lib.errors.UnknownEntryError`, a ``KeyError``, if not).

        """
        changes: dict[str, str] = {}
        if label is not _UNSET:
            changes["user_label"] = canonical_label(label) or ""
        if note is not _UNSET:
            changes["note"] = escape_text(check_text(note, "note"))
        if tags is not _UNSET:
            changes["tags"] = escape_tags(normalise_tags(tags))
        if not changes:
            raise ValueError("nothing to amend: give label, note and/or tags")
        check_entry_id(entry_id)
        if check and not self._has_entry(entry_id):
            raise UnknownEntryError(f"no entry {entry_id!r} in {self.path}")
        when = aware_timestamp(timestamp).isoformat(timespec="microseconds")
        row = dict.fromkeys(COLUMNS, "")
        row.update(kind="amend", entry_id=entry_id, timestamp=when, amended=";".join(changes), **changes)
        self._append(encode_record([row[c] for c in COLUMNS]))

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
            if emotion is not None and canonical_label(emotion) != entry.emotion:
                raise ValueError(f"emotion {emotion!r} is not the entry's prediction {entry.emotion!r}")
            self.amend(entry.entry_id, label=entry.emotion)
        elif emotion is None:
            raise ValueError("give the predicted emotion with an entry id (or pass the Entry)")
        else:
            self.amend(entry, label=emotion)

    def delete(self, entry_id: str, *, timestamp: datetime | None = None) -> list[Path]:
        """Delete an entry for good: its row, amendments, face pixels, note, tags and kept photo.

        The journal file is rewritten without the entry's rows (atomically, under the exclusive lock: a
        temporary file in the folder, fsync, rename, fsync of the folder), its photo is removed, and a
        ``delete`` row (the id and the time, nothing else) is appended so that readers and the history know
        it happened. Nothing of the entry remains in the journal folder: backups made by
        :func:`~emoj_lib.journal.repair.repair_journal` are cleaned too, and the personal models made from
        the entry are removed (:func:`~emoj_lib.personal.finetune.forget_entry`; the journal then uses
        its latest remaining version, or the shipped model). Exports the user made
        (:func:`~emoj_lib.journal.export.exports_dir`) are their copies and are left as they are.

        Parameters
        ----------
        entry_id : str
            The entry to delete.
        timestamp : datetime, optional
            When it was deleted (default now).

        Returns
        -------
        list of Path
            The personal models removed with the entry (empty for most entries).

        Raises
        ------
        UnknownEntryError
            No such entry in the journal (a ``KeyError``); nothing is changed.

        """
        from emoj_lib.personal.finetune import forget_entry

        check_entry_id(entry_id)
        if not self.exists:
            raise JournalNotFoundError(self.folder)
        row = dict.fromkeys(COLUMNS, "")
        row.update(kind="delete", entry_id=entry_id,
                   timestamp=aware_timestamp(timestamp).isoformat(timespec="microseconds"))
        with self._locked() as (fd, st):
            self._prepare(fd, st)
            size = os.fstat(fd).st_size
            with mmap.mmap(fd, size, prot=mmap.PROT_READ) as raw:
                start = head_end(raw)
                kept, removed = without_entry(raw, start, entry_id)
                head = raw[:start]
            if not removed:
                raise UnknownEntryError(f"no entry {entry_id!r} in {self.path}")
            models = forget_entry(self.folder, entry_id)  # first: a failure below leaves the entry to delete again
            write_private(self.path, head + kept + encode_record([row[c] for c in COLUMNS]), fsync=True)
            self._tail = None
            for photo in photo_files(self.folder, entry_id):
                photo.unlink()
            scrub_backups(self.folder, entry_id)
            fsync_dir(self.folder)
        return models

    def _has_entry(self, entry_id: str) -> bool:
        if not self.exists:
            raise JournalNotFoundError(self.folder)
        needle = b"\nentry," + entry_id.encode() + b","
        fd = secure_open(self.path, os.O_RDONLY)
        try:
            with os_errors(self.path, "read"):
                if os.fstat(fd).st_size == 0:
                    return False
                with mmap.mmap(fd, 0, prot=mmap.PROT_READ) as mm:
                    return mm.rfind(needle) >= 0
        finally:
            os.close(fd)

    # --- reading
    def read(self, *, on_error: str = "skip", pixels: bool = True) -> JournalData:
        """Read the journal: see :func:`read_journal` (``JournalNotFoundError`` if it does not exist)."""
        return read_journal(self.folder if self.folder.is_dir() else self.path, on_error=on_error, pixels=pixels)

    def labelled_faces(self, *, on_error: str = "raise") -> FerData:
        """Return the faces the user labelled as :class:`~emoj_lib.data.FerData` (usage ``"Journal"``).

        ``on_error`` applies to both the rows of the journal and the pixel strings; see
        :func:`read_journal` and :meth:`JournalData.labelled_faces`.
        """
        return self.read(on_error=on_error).labelled_faces(on_error=on_error)

    def photo_path(self, entry_id: str) -> Path | None:
        """Return the path of an entry's kept photo, or None if it has none."""
        found = photo_files(self.folder, entry_id)
        return found[0] if found else None


BACKUP_GLOB = f"{FILE_NAME}.backup-*"
"""Backups of a damaged journal made by :func:`~emoj_lib.journal.repair.repair_journal`."""


def scrub_backups(folder: Path, entry_id: str) -> None:
    """Remove an entry's rows from the backups of a journal (a deleted entry leaves no copy behind)."""
    for backup in sorted(folder.glob(BACKUP_GLOB)):
        raw = backup.read_bytes()
        if entry_id.encode() not in raw:
            continue
        kept, _ = without_entry(raw, 0, entry_id)
        write_private(backup, kept)


def _is_current(path: Path, st: os.stat_result) -> bool:
    """Whether the file open as ``st`` is still the one at ``path`` (a delete may have replaced it)."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


__all__ = ["BACKUP_GLOB", "Journal", "LeftoverNotice", "scrub_backups"]
