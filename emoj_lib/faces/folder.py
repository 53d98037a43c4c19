"""Crop the faces of a whole folder of photos into a FER2013-format CSV, with a per-file report."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from emoj_lib.config import FACE_SIZE
from emoj_lib.errors import DataFormatError, ImageReadError
from emoj_lib.faces.cropping import check_policy, crop_face, find_faces, split_options
from emoj_lib.faces.detection import _detect_array
from emoj_lib.labels import EMOTIONS, emotion_index

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
"""File name endings :func:`crop_folder` reads (compared case-insensitively)."""

STATUSES: tuple[str, ...] = ("kept", "no face", "several faces", "unreadable")
"""The values of the report's ``status`` column."""

REPORT_COLUMNS: tuple[str, ...] = ("file", "status", "faces", "row", "box", "reason")
"""The columns of the report returned (and written) by :func:`crop_folder`."""


def image_files(folder: str | os.PathLike[str], *, recursive: bool = False) -> list[Path]:
    """List the image files of a folder, sorted by path.

    Parameters
    ----------
    folder : str or PathLike
        The folder.
    recursive : bool
        Also look into sub-folders.

    Returns
    -------
    list of Path
        Files whose name ends with one of :data:`IMAGE_EXTENSIONS` (any case).

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    NotADirectoryError
        If it is a file.

    """
    root = Path(folder)
    if not root.exists():
        raise FileNotFoundError(f"folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    entries = root.rglob("*") if recursive else root.iterdir()
    return sorted((p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()),
                  key=lambda p: p.relative_to(root).as_posix())


def report_path(out_csv: str | os.PathLike[str]) -> Path:
    """Return where :func:`crop_folder` writes its report: ``<stem>.report.csv`` beside the CSV.

    Parameters
    ----------
    out_csv : str or PathLike
        The FER CSV (``faces.csv`` or ``faces.csv.gz`` both give ``faces.report.csv``).

    Returns
    -------
    Path
        The report's path.

    """
    out = Path(out_csv)
    name = out.name
    for ending in (".csv.gz", ".csv"):
        if name.lower().endswith(ending):
            name = name[: -len(ending)]
            break
    return out.with_name(f"{name}.report.csv")


def _label_index(label: int | str | None) -> int:
    if label is None:
        return -1
    if isinstance(label, str):
        return emotion_index(label)
    if isinstance(label, int | np.integer) and not isinstance(label, bool) and 0 <= label < len(EMOTIONS):
        return int(label)
    raise ValueError(f"label must be None, an emotion name or an index 0..{len(EMOTIONS) - 1}, got {label!r}")


def crop_folder(
    folder: str | os.PathLike[str],
    out_csv: str | os.PathLike[str],
    *,
    label: int | str | None = None,
    usage: str = "Training",
    policy: str = "single",
    recursive: bool = False,
    progress: bool = True,
    **options: object,
) -> pd.DataFrame:
    """Crop the face(s) of every photo in a folder into a FER2013-format CSV.

    Parameters
    ----------
    folder : str or PathLike
        Folder of photos (``.jpg .jpeg .png .bmp .webp .tif .tiff``, any case).
    out_csv : str or PathLike
        The CSV to write (``emotion,pixels,Usage``; gzip-compressed when it ends in ``.gz``). Its folder is
        created if needed. The report is written beside it as ``<stem>.report.csv``.
    label : int, str or None
        Emotion of every face (an index into :data:`emoj_lib.labels.EMOTIONS` or a name such as
        ``"happy"``), or ``None`` to leave the ``emotion`` field empty.
    usage : str
        The ``Usage`` field of every row (``Training``, ``PublicTest``, ``PrivateTest`` or a name of yours).
    policy : {"single", "largest", "all"}
        "single": photos with several faces are left out (status "several faces"); "largest": keep the
        largest face of each photo; "all": keep every face (consecutive CSV rows).
    recursive : bool
        Also read the sub-folders.
    progress : bool
        Show a progress bar (``tqdm.auto``: a widget in Jupyter, text elsewhere).
    **options
        Options of :func:`~emoj_lib.faces.detect_faces` and :func:`~emoj_lib.faces.crop_face` (``margin``,
        ``equalize``, ``min_size``...). ``size`` and ``color`` cannot change: a FER CSV holds 48x48
        grayscale faces.

    Returns
    -------
    pandas.DataFrame
        One row per file: ``file`` (path relative to ``folder``), ``status`` (one of :data:`STATUSES`),
        ``faces`` (number of faces found), ``row`` (index of the file's first row in the CSV, -1 if none;
        with policy "all" its ``faces`` rows are consecutive), ``box`` (``"x,y,w,h"`` in the photo's
        pixels, ``;``-separated with policy "all", empty if none) and ``reason`` (why a file was left out,
        or a note). ``attrs["csv"]`` and ``attrs["report"]`` hold the paths written.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist.
    DataFormatError
        If it holds no image file.
    ValueError, TypeError
        If an argument or option is invalid (checked before any file is read).

    Notes
    -----
    One bad file never stops the run: unreadable files are reported with status "unreadable" and the
    reason.

    """
    check_policy(policy)
    label_idx = _label_index(label)
    if not isinstance(usage, str) or not usage:
        raise ValueError(f"usage must be a non-empty string, got {usage!r}")
    detect_options, crop_options = split_options(options, "crop_folder")
    for fixed, value in (("size", FACE_SIZE), ("color", False)):
        if fixed in crop_options and crop_options[fixed] != value:
            raise ValueError(f"crop_folder writes {FACE_SIZE}x{FACE_SIZE} grayscale faces: {fixed}= cannot "
                             f"be {crop_options[fixed]!r}")
    # fail on bad option values now rather than once per file
    probe = np.zeros((32, 32), dtype=np.uint8)
    _detect_array(probe, **detect_options)  # type: ignore[arg-type]
    crop_face(probe, (8, 8, 16, 16), **crop_options)  # type: ignore[arg-type]
    from emoj_lib.data import write_fer_csv  # lazy: the data package is only needed here

    root = Path(folder)
    files = image_files(root, recursive=recursive)
    if not files:
        raise DataFormatError(root, f"no image files ({' '.join(IMAGE_EXTENSIONS)}) in this folder"
                              + ("" if recursive else " (sub-folders not searched: pass recursive=True)"))

    crops: list[np.ndarray] = []
    records: list[tuple[str, str, int, int, str, str]] = []
    for path in tqdm(files, desc="cropping faces", unit="photo", disable=not progress):
        name = path.relative_to(root).as_posix()
        try:
            faces = find_faces(path, policy="all", **options)
        except ImageReadError as exc:
            records.append((name, "unreadable", 0, -1, "", str(exc)))
            continue
        except Exception as exc:  # one bad file never stops the run
            log.warning("%s: %s: %s", path, type(exc).__name__, exc)
            reason = f"cannot process {path}: {type(exc).__name__}: {exc}"
            records.append((name, "unreadable", 0, -1, "", reason))
            continue
        n = len(faces)
        if n == 0:
            records.append((name, "no face", 0, -1, "", f"no face found in {path}"))
            continue
        if n > 1 and policy == "single":
            records.append((name, "several faces", n, -1, "", f"{n} faces found in {path}, expected one"))
            continue
        chosen = faces if policy == "all" else faces[:1]
        note = f"kept the largest of {n} faces" if n > 1 and policy == "largest" else ""
        boxes = ";".join(",".join(map(str, f.box.as_tuple())) for f in chosen)
        records.append((name, "kept", n, len(crops), boxes, note))
        crops.extend(f.crop for f in chosen)

    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    images = np.stack(crops) if crops else np.empty((0, FACE_SIZE, FACE_SIZE), dtype=np.uint8)
    write_fer_csv(out, images, np.full(len(images), label_idx, dtype=np.int64), usage)
    report = pd.DataFrame.from_records(records, columns=list(REPORT_COLUMNS))
    report = report.astype({"faces": "int64", "row": "int64"})
    rpath = report_path(out)
    report.to_csv(rpath, index=False)
    report.attrs["csv"] = str(out)
    report.attrs["report"] = str(rpath)
    counts = report["status"].value_counts().to_dict()
    log.info("%s: %d face(s) from %d file(s) -> %s %s", root, len(images), len(files), out, counts)
    return report
