"""Owner-only files and folders for everything written under a journal folder.

The rules, in one place:

- a folder is created ``0o700`` and a file ``0o600`` whatever the umask;
- an existing folder or file that is not the user's, or that other users may write (``o+w``), is refused
  (:class:`~emoj_lib.errors.UnsafeFileError`); looser modes on the user's own ones (say ``0o644`` after a
  restore from a backup) are tightened to ``0o700`` / ``0o600`` with a :class:`PermissionNotice`;
- symbolic links are never followed when a file is opened or created (``O_NOFOLLOW``), nor when a folder
  below the journal folder is used; a file must be a regular file (not a FIFO, a device or a folder);
- errors of the operating system (full disk, read-only file system, a folder where a file should be)
  become one-line :class:`~emoj_lib.errors.StorageError` messages naming the path and what to do.

The personal models and run folders under a journal folder use the same functions: :func:`private_dir`,
:func:`secure_open`, :func:`write_private` (atomic) and :func:`make_private` (for trees written by other
libraries, e.g. a Keras model folder).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

from emoj_lib.errors import StorageError, UnsafeFileError

DIR_MODE = 0o700
"""Mode of every folder under a journal folder."""
FILE_MODE = 0o600
"""Mode of every file under a journal folder."""

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_ADVICE = {
    errno.ENOSPC: "the disk is full: free some space and try again",
    errno.EDQUOT: "the disk quota is exceeded: free some space and try again",
    errno.EROFS: "the file system is read-only: use a writable journal folder",
    errno.EACCES: "permission denied: check the owner and mode of the path",
    errno.EPERM: "operation not permitted: check the owner and mode of the path",
    errno.EISDIR: "a folder is where a file should be: move it away",
    errno.ENOTDIR: "a file is where a folder should be: move it away",
    errno.ELOOP: "it is a symbolic link, which the journal never follows: replace it by the real file",
    errno.EIO: "input/output error: the disk may be failing; copy the journal folder elsewhere",
}


class PermissionNotice(UserWarning):
    """A journal file or folder of the user's had a looser mode; it was tightened to owner-only."""


def storage_error(exc: OSError, path: str | Path, doing: str) -> StorageError:
    """Turn an ``OSError`` into a one-line :class:`~emoj_lib.errors.StorageError` naming the path and a remedy.

    Parameters
    ----------
    exc : OSError
        What the operating system said.
    path : str or Path
        The file or folder concerned.
    doing : str
        What was being done (``"write"``, ``"read"``, ``"create"``...).

    Returns
    -------
    StorageError
        With ``errno`` and ``filename`` set; raise it ``from exc``.

    """
    advice = _ADVICE.get(exc.errno or 0, exc.strerror or str(exc))
    err = StorageError(exc.errno or 0, f"cannot {doing} {path}: {advice}")
    err.filename = str(path)
    return err


@contextlib.contextmanager
def os_errors(path: str | Path, doing: str) -> Iterator[None]:
    """Re-raise an ``OSError`` that is not already an emoJ error as a :class:`StorageError` (:func:`storage_error`)."""
    try:
        yield
    except (StorageError, UnsafeFileError):
        raise
    except OSError as exc:
        raise storage_error(exc, path, doing) from exc


def check_owner(path: str | Path, st: os.stat_result, *, folder: bool, fd: int | None = None) -> None:
    """Apply the ownership and mode rules (module docstring) to a folder or file just ``stat``-ed.

    Parameters
    ----------
    path : str or Path
        Its path (for messages, and ``chmod`` when ``fd`` is None).
    st : os.stat_result
        Its status (``lstat`` or ``fstat``).
    folder : bool
        Whether it must be a folder (else a regular file).
    fd : int, optional
        An open descriptor of it, used to tighten the mode without following a path.

    Raises
    ------
    UnsafeFileError
        Not the user's, writable by others, a symbolic link, or not of the expected type.

    """
    what = "folder" if folder else "file"
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFileError(f"{path} is a symbolic link; the journal never follows links: replace it by a "
                              f"real {what}")
    if (stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)) is False:
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise UnsafeFileError(f"{path} is {kind}; expected a journal {what}: move it away")
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise UnsafeFileError(f"{path} belongs to another user (uid {st.st_uid}); refusing to use it: a journal "
                              f"must be your own (use a folder of yours)")
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IWOTH:
        raise UnsafeFileError(f"{path} is writable by every user (mode {mode:o}); someone may have changed it. "
                              f"If you trust it, run: chmod {'700' if folder else '600'} {path}")
    wanted = DIR_MODE if folder else FILE_MODE
    if mode & 0o077:
        try:
            os.fchmod(fd, wanted) if fd is not None else _chmod_nofollow(path, wanted)
        except OSError as exc:
            warnings.warn(f"{path} is readable by other users (mode {mode:o}) and could not be made owner-only: "
                          f"{exc.strerror}", PermissionNotice, stacklevel=3)
            return
        warnings.warn(f"{path} was readable by other users (mode {mode:o}); made owner-only ({wanted:o})",
                      PermissionNotice, stacklevel=3)


def _chmod_nofollow(path: str | Path, mode: int) -> None:
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def private_dir(path: str | Path, *, create: bool = True, follow: bool = False) -> Path:
    """Return a folder checked (and created if needed) under the journal rules: owner-only, the user's own.

    Parameters
    ----------
    path : str or Path
        The folder. Missing parents are created too (``0o700``).
    create : bool
        Create it if missing (default); if False a missing folder raises ``FileNotFoundError``.
    follow : bool
        Accept ``path`` itself being a symbolic link to a folder of the user's (a journal folder the user
        moved elsewhere); folders below a journal folder are never links (default False).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UnsafeFileError
        See :func:`check_owner`.
    StorageError
        The folder could not be created.

    """
    path = Path(path)
    with os_errors(path, "create the folder"):
        try:
            st = os.stat(path) if follow else os.lstat(path)
        except FileNotFoundError:
            if not create:
                raise
            _make_dirs(path)
            return path
        check_owner(path, st, folder=True)
    return path


def _make_dirs(path: Path) -> None:
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for p in reversed(missing):
        try:
            os.mkdir(p, DIR_MODE)
        except FileExistsError:
            check_owner(p, os.lstat(p), folder=True)
            continue
        os.chmod(p, DIR_MODE)  # whatever the umask
        fsync_dir(p.parent)


def secure_open(path: str | Path, flags: int = os.O_RDONLY) -> int:
    """Open a file under the journal rules and return its descriptor.

    Never follows a symbolic link (``O_NOFOLLOW``), never blocks on a FIFO, refuses what is not a regular
    file of the user's or is writable by others, and creates files ``0o600`` whatever the umask.

    Parameters
    ----------
    path : str or Path
        The file.
    flags : int
        ``os.open`` flags (e.g. ``os.O_RDWR | os.O_APPEND | os.O_CREAT``).

    Returns
    -------
    int
        The descriptor (close-on-exec); close it with ``os.close``.

    Raises
    ------
    UnsafeFileError, FileNotFoundError, StorageError

    """
    try:
        fd = os.open(path, flags | _NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, FILE_MODE)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and _NOFOLLOW):
            raise UnsafeFileError(f"{path} is a symbolic link; the journal never follows links: replace it by "
                                  f"the real file") from None
        if isinstance(exc, FileNotFoundError):
            raise
        raise storage_error(exc, path, "open") from exc
    try:
        st = os.fstat(fd)
        if flags & os.O_CREAT and st.st_size == 0 and stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)  # just created under a loose umask (or an empty file of ours)
            st = os.fstat(fd)
        check_owner(path, st, folder=False, fd=fd)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def fsync_dir(path: str | Path) -> None:
    """``fsync`` a folder so that a file created, renamed or removed in it survives a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: str | Path) -> None:
    """``fsync`` a file written by another library (a Keras model, say) so that its content survives a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(final: Path) -> Path:
    """Return a fresh temporary name beside ``final`` (``.<name>.<random>.tmp``), cleaned up after a crash."""
    return final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}.tmp")


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to ``fd`` (``os.write`` may write less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_private(path: str | Path, data: bytes, *, fsync: bool = True) -> Path:
    """Write a file atomically and owner-only: a temporary file in the same folder, fsync, rename, fsync folder.

    Parameters
    ----------
    path : str or Path
        The file to (re)place; its folder must exist (see :func:`private_dir`). An existing symbolic link
        at ``path`` is replaced, never followed.
    data : bytes
        Its content.
    fsync : bool
        Flush to disk (default).

    Returns
    -------
    Path
        ``path``.

    """
    path = Path(path)
    tmp = temp_name(path)
    with os_errors(path, "write"):
        fd = secure_open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            write_all(fd, data)
            if fsync:
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if fsync:
            fsync_dir(path.parent)
    return path


def make_private(path: str | Path) -> Path:
    """Make a file or a whole tree written by another library owner-only (folders 0o700, files 0o600).

    For what cannot be opened through :func:`secure_open` (e.g. a Keras model saved by path into a
    temporary folder before it is renamed into place). Symbolic links inside are refused.

    Parameters
    ----------
    path : str or Path
        A file or folder.

    Returns
    -------
    Path
        ``path``.

    """
    path = Path(path)
    with os_errors(path, "protect"):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise UnsafeFileError(f"{path} is a symbolic link; refusing to protect what it points to")
        _chmod_nofollow(path, DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE)
        if stat.S_ISDIR(st.st_mode):
            for child in path.iterdir():
                make_private(child)
    return path
