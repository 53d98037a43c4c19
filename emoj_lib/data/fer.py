"""FER2013 in its canonical CSV schema (``emotion,pixels,Usage``): read, write, hold.

The reader parses the ``pixels`` strings of a whole chunk of rows at once with numpy (no per-row
``split``), validates every row and, on a bad row, names the file, the line and the problem. Splits
come from the ``Usage`` column, never from row numbers.
"""

from __future__ import annotations

import csv
import gzip
import logging
import queue
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.data.pixels import N_PIXELS, encode_pixels, parse_pixels
from emoj_lib.errors import DataFormatError
from emoj_lib.labels import EMOTIONS

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
"""The three FER2013 splits, as spelt in its ``Usage`` column."""

COLUMNS: tuple[str, ...] = ("emotion", "pixels", "Usage")
UNLABELLED = -1
"""Label of a face without an emotion (an empty ``emotion`` field)."""


@dataclass(init=False)
class FerData:
    """Faces with their labels and splits, in the FER2013 convention.

    Attributes
    ----------
    images : np.ndarray
        uint8 array (N, 48, 48), grayscale, row-major as in the CSV.
    labels : np.ndarray
        int64 array (N,), indices into :data:`emoj_lib.labels.EMOTIONS`, ``-1`` when unlabelled.
    usage : np.ndarray
        object array (N,) of split names (``Training``, ``PublicTest``, ``PrivateTest`` or any other
        name a user data set uses).
    rows : np.ndarray
        int64 array (N,), the row index of each face in its source file (0-based, header excluded), so
        that subsets can be joined back to the file (e.g. with FER+ votes).
    source : str
        Where the data came from (a path or a description).
    skipped : pandas.DataFrame
        Rows left out while reading (``line``, ``row``, ``problem``); empty unless asked to skip.
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    rows: np.ndarray
    source: str
    skipped: pd.DataFrame

    def __init__(self, images: np.ndarray, labels: np.ndarray, usage: np.ndarray | str,
                 rows: np.ndarray | None = None, source: str = "<memory>", skipped: pd.DataFrame | None = None) -> None:
        # written out (not generated) because it takes one split name for all faces and no rows (0..N-1)
        self.images = np.asarray(images, dtype=np.uint8)
        self.labels = np.asarray(labels, dtype=np.int64)
        if isinstance(usage, str):
            usage = np.full(len(self.images), usage, dtype=object)
        self.usage = np.asarray(usage, dtype=object)
        if rows is None:
            rows = np.arange(len(self.images), dtype=np.int64)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.source = source
        self.skipped = pd.DataFrame(columns=["line", "row", "problem"]) if skipped is None else skipped
        n = len(self.images)
        if self.images.ndim != 3 or self.images.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"images must have shape (N, {FACE_SIZE}, {FACE_SIZE}), got {self.images.shape}")
        for name in ("labels", "usage", "rows"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def concat(cls, parts: list[FerData]) -> FerData:
        """Return the faces of several data sets, one after the other."""
        if not parts:
            raise ValueError("nothing to concatenate")
        return cls(np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts]),
                   np.concatenate([p.usage for p in parts]), np.concatenate([p.rows for p in parts]),
                   source=" + ".join(dict.fromkeys(p.source for p in parts)))

    def subset(self, mask: np.ndarray) -> FerData:
        """Return the faces selected by a boolean mask or an index array."""
        return FerData(self.images[mask], self.labels[mask], self.usage[mask], self.rows[mask],
                       source=self.source)

    def split(self, name: str) -> FerData:
        """Return the faces of one split (``Training``, ``PublicTest``, ``PrivateTest``, ...).

        Raises
        ------
        KeyError
            If no face belongs to that split (the message lists the splits present).
        """
        mask = self.usage == name
        if not mask.any():
            raise KeyError(f"no split {name!r} in {self.source}; splits present: {self.splits()}")
        return self.subset(mask)

    def splits(self) -> list[str]:
        """Return the split names present, in order of first appearance."""
        return list(pd.unique(self.usage))

    def counts(self) -> pd.DataFrame:
        """Return a table of face counts per split (rows) and emotion (columns), with totals."""
        names = [*EMOTIONS, "unlabelled"]
        lab = np.where(self.labels < 0, len(EMOTIONS), self.labels)
        table = pd.crosstab(pd.Series(self.usage, name="Usage"),
                            pd.Series(pd.Categorical.from_codes(lab, names), name="emotion"), dropna=False)
        table = table.reindex(index=[s for s in self.splits()], columns=names, fill_value=0)
        if not (self.labels < 0).any():
            table = table.drop(columns="unlabelled")
        table["total"] = table.sum(axis=1)
        return table


_BLOCK_BYTES = 1 << 23
_GROW = 4096


def _blocks(path: Path) -> Iterator[bytes]:
    """Yield the (decompressed) bytes of a file in blocks, decompressing in a background thread.

    zlib releases the GIL, so on two cores decompression overlaps with parsing.
    """
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    q: queue.Queue = queue.Queue(maxsize=4)
    stop = threading.Event()

    def produce() -> None:
        try:
            with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
                while not stop.is_set():
                    block = fh.read(_BLOCK_BYTES)
                    q.put(block)
                    if not block:
                        return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(exc)

    thread = threading.Thread(target=produce, name="emoj-read", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if not item:
                return
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, line)`` for every line of a file, without its line ending."""
    rest = b""
    number = 0
    for block in _blocks(path):
        data = rest + block
        if block:
            cut = data.rfind(b"\n") + 1
            rest, data = data[cut:], data[:cut]
        start, size = 0, len(data)
        while start < size:
            end = data.find(b"\n", start)
            if end < 0:
                end = size
            number += 1
            line = data[start:end]
            yield number, line[:-1] if line.endswith(b"\r") else line
            start = end + 1


def _label_problem(s: str, allow_unlabelled: bool) -> tuple[int, str | None]:
    text = s.strip()
    if not text:
        if allow_unlabelled:
            return UNLABELLED, None
        return 0, "empty emotion (pass allow_unlabelled=True to read unlabelled faces)"
    if not text.lstrip("-").isdigit():
        return 0, f"emotion is {text[:20]!r}, not an integer label 0..{len(EMOTIONS) - 1}"
    value = int(text)
    if not 0 <= value < len(EMOTIONS):
        return 0, f"unknown emotion label {value}; expected 0..{len(EMOTIONS) - 1} ({', '.join(EMOTIONS)})"
    return value, None


def _parse_row(fields: list[str], allow_unlabelled: bool) -> tuple[int, np.ndarray | None, str, str | None,
                                                                   str | None]:
    """Parse one row's (emotion, pixels, Usage) text; return label, pixels, usage, bad field, problem."""
    label, problem = _label_problem(fields[0], allow_unlabelled)
    if problem is not None:
        return 0, None, "", "emotion", problem
    px, problem = parse_pixels(fields[1])
    if px is None:
        return 0, None, "", "pixels", problem
    usage = fields[2].strip()
    if not usage:
        return 0, None, "", "Usage", "empty Usage (split name)"
    return label, px, usage, None, None


_Row = tuple[int, np.ndarray, str]
"""A parsed CSV row: label, pixels, usage."""


def _read_header(path: Path, raw: bytes) -> tuple[list[int], int, bool]:
    """Return where the columns (emotion, pixels, Usage) are, how many there are and whether they are canonical."""
    header = [h.strip() for h in next(csv.reader([raw.decode("utf-8-sig")]), [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataFormatError(path, f"missing column(s) {missing}; header is {header}, expected {list(COLUMNS)}",
                              line=1)
    return [header.index(c) for c in COLUMNS], len(header), header == list(COLUMNS)


def _fast_row(raw: bytes) -> _Row | None:
    """Parse a plain canonical row (label, pixels, usage) quickly; None if it needs the general CSV path."""
    c1, c2 = raw.find(b","), raw.rfind(b",")
    emo = raw[:c1]
    if not (0 < c1 < c2 and len(emo) == 1 and 48 <= emo[0] <= 54 and b'"' not in raw):
        return None
    px, _ = parse_pixels(raw[c1 + 1:c2])
    if px is None:
        return None
    use = raw[c2 + 1:].decode("ascii", errors="replace").strip()
    return (emo[0] - 48, px, use) if use else None


def _slow_row(raw: bytes, order: list[int], n_columns: int,
              allow_unlabelled: bool) -> tuple[_Row | None, str | None, str]:
    """Parse a general CSV row: ``((label, pixels, usage), None, "")``, or ``(None, bad field, problem)``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, None, "not valid UTF-8 text"
    fields = next(csv.reader([text]), [])
    if len(fields) != n_columns:
        return None, None, f"{len(fields)} field(s), expected {n_columns} ({', '.join(COLUMNS)})"
    label, px, use, fld, problem = _parse_row([fields[i] for i in order], allow_unlabelled)
    if problem is not None or px is None:
        return None, fld, problem or "no pixels"
    return (label, px, use), None, ""


def _csv_rows(path: Path, allow_unlabelled: bool) -> Iterator[tuple[int, _Row | None, str | None, str]]:
    """Yield each non-blank row: ``(line, (label, pixels, usage), None, "")`` or ``(line, None, field, problem)``.

    Raises DataFormatError if the file cannot be read or has no header.
    """
    order: list[int] = []
    fast, n_columns = False, 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # np.fromstring: unparsed text
            for line_no, raw in _lines(path):
                if line_no == 1:
                    order, n_columns, fast = _read_header(path, raw)
                    continue
                if not raw.strip():
                    continue
                row = _fast_row(raw) if fast else None
                if row is not None:
                    yield line_no, row, None, ""
                else:  # slow path: a general CSV row, or a row with a problem to name
                    yield line_no, *_slow_row(raw, order, n_columns, allow_unlabelled)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(path, f"cannot read the file: {exc}") from exc
    if not order:
        raise DataFormatError(path, "empty file (no header)")


def read_fer_csv(
    path: str | Path,
    *,
    on_error: str = "raise",
    allow_unlabelled: bool = False,
    usage: Iterable[str] | None = None,
) -> FerData:
    """Read a CSV in the FER2013 schema (``emotion,pixels,Usage``), plain or gzip-compressed.

    Parameters
    ----------
    path : str or Path
        The CSV file (gzip is recognised by its content, whatever the file name). Columns may come in
        any order and extra columns are ignored; the canonical order takes a fast path.
    on_error : {"raise", "skip"}
        On a bad row, raise :class:`~emoj_lib.errors.DataFormatError` naming the file, line, field and
        problem (default), or leave the row out and record it in ``FerData.skipped``.
    allow_unlabelled : bool
        Accept an empty ``emotion`` field as "unlabelled" (label ``-1``), as written for unlabelled faces.
    usage : iterable of str, optional
        Keep only these splits.

    Returns
    -------
    FerData
        Images (N, 48, 48) uint8, labels, splits and source row numbers.

    Examples
    --------
    >>> fer = read_fer_csv(emoj_lib.config.fer2013_path())  # doctest: +SKIP
    >>> fer.split("PrivateTest").images.shape  # doctest: +SKIP
    (3589, 48, 48)
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FER CSV not found: {path}")
    keep = None if usage is None else set(usage)
    blocks: list[np.ndarray] = []  # filled blocks of _GROW rows
    block = np.empty((_GROW, N_PIXELS), np.uint8)
    labels: list[int] = []
    usages: list[str] = []
    rows: list[int] = []
    skipped: list[tuple[int, int, str]] = []

    def bad(line_no: int, fld: str | None, problem: str) -> None:
        if on_error == "raise":
            raise DataFormatError(path, problem, line=line_no, field=fld)
        skipped.append((line_no, line_no - 2, f"{fld}: {problem}" if fld else problem))

    def keep_row(line_no: int, label: int, px: np.ndarray, use: str) -> None:
        nonlocal block
        if keep is None or use in keep:
            i = len(labels) % _GROW
            block[i] = px
            if i == _GROW - 1:
                blocks.append(block)
                block = np.empty((_GROW, N_PIXELS), np.uint8)
            labels.append(label)
            usages.append(use)
            rows.append(line_no - 2)

    for line_no, row, fld, problem in _csv_rows(path, allow_unlabelled):
        if row is None:
            bad(line_no, fld, problem)
        else:
            keep_row(line_no, *row)
    blocks.append(block[: len(labels) % _GROW])
    images = np.concatenate(blocks).reshape(-1, FACE_SIZE, FACE_SIZE)
    skipped_df = pd.DataFrame(skipped, columns=["line", "row", "problem"])
    if len(skipped_df):
        log.warning("%s: skipped %d bad row(s)", path, len(skipped_df))
    return FerData(images, np.array(labels, dtype=np.int64), np.array(usages, dtype=object),
                   np.array(rows, dtype=np.int64), source=str(path), skipped=skipped_df)




def write_fer_csv(
    path: str | Path,
    images: np.ndarray,
    labels: np.ndarray | Iterable[int],
    usage: str | Iterable[str] = "Training",
) -> Path:
    """Write faces in the FER2013 schema (``emotion,pixels,Usage``); gzip when the name ends in ``.gz``.

    Parameters
    ----------
    path : str or Path
        Output file; its folder must exist.
    images : np.ndarray
        uint8 array (N, 48, 48).
    labels : array-like of int
        Emotion indices 0..6, or ``-1`` for an unlabelled face (written as an empty field).
    usage : str or array-like of str
        The split of every face, or one split name for all.

    Returns
    -------
    Path
        The path written. Reading it with :func:`read_fer_csv` gives back the same pixels, labels and
        splits exactly.
    """
    data = FerData(images, np.asarray(labels), usage if isinstance(usage, str) else np.asarray(usage))  # validates
    if ((data.labels < UNLABELLED) | (data.labels >= len(EMOTIONS))).any():
        bad = data.labels[(data.labels < UNLABELLED) | (data.labels >= len(EMOTIONS))][0]
        raise ValueError(f"label {bad} out of range; expected 0..{len(EMOTIONS) - 1} or -1 (unlabelled)")
    for u in data.usage:
        if not isinstance(u, str) or not u or any(c in u for c in ',"\n\r'):
            raise ValueError(f"invalid Usage value {u!r}: a non-empty name without commas, quotes or newlines")
    path = Path(path)
    flat = data.images.reshape(len(data), N_PIXELS)
    lines = ["emotion,pixels,Usage\n"]
    for lab, px, use in zip(data.labels, flat, data.usage, strict=True):
        lines.append(f"{'' if lab < 0 else int(lab)},{encode_pixels(px)},{use}\n")
    text = "".join(lines).encode("ascii")
    if path.suffix == ".gz":
        with gzip.open(path, "wb", compresslevel=6) as fh:
            fh.write(text)
    else:
        path.write_bytes(text)
    return path
