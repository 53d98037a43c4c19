"""Exceptions that name the file, row or field at fault."""

from __future__ import annotations

from pathlib import Path


class EmojError(Exception):
    """Base class of every error raised on purpose by emoj_lib."""


class DataFormatError(EmojError, ValueError):
    """A data file breaks its schema; the message names the file, the line and the problem.

    Parameters
    ----------
    path : str or Path or None
        The file at fault (``None`` for in-memory data).
    problem : str
        What is wrong.
    line : int, optional
        1-based line number in the file (the header is line 1).
    field : str, optional
        The column at fault.

    """

    def __init__(self, path: str | Path | None, problem: str, *, line: int | None = None,
                 field: str | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = str(self.path) if self.path is not None else "<data>"
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


class ImageReadError(EmojError, ValueError):
    """An image could not be read or decoded; the message names the file."""


class NoFaceError(EmojError):
    """No face was found in a photo."""


class MultipleFacesError(EmojError):
    """Several faces were found where exactly one was required."""


class JournalNotFoundError(EmojError, FileNotFoundError):
    """There is no journal where one was expected (read commands never create one); names the folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        super().__init__(f"no emoJ journal in {self.folder} (check the folder, or create one by adding an entry)")


class UnknownEntryError(EmojError, KeyError):
    """An entry id that is not in the journal."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DuplicateEntryError(EmojError, ValueError):
    """An entry id that is already in the journal (appending it again is refused before anything is written)."""


class UnsafeFileError(EmojError, PermissionError):
    """A journal file or folder that is not the user's, writable by others, a symbolic link or not a regular file."""


class StorageError(EmojError, OSError):
    """The operating system refused a journal read or write (full disk, read-only file, a folder in the way...).

    The message is one line naming the path, what went wrong and what to do.
    """


class RunFolderError(EmojError, ValueError):
    """A run folder that holds a run with other settings (the message lists the settings that differ)."""
