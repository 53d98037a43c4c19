"""Folders of photos or faces -> FER-format data sets: the one builder, :func:`read_image_folder`.

Two layouts:

``"emotions"``
    ``root/<emotion>/*`` or ``root/<split>/<emotion>/*`` (the layout of the Kaggle image copy of FER2013 and
    of most hand-collected sets). Folder names are matched case-insensitively and through common synonyms
    (``anger``, ``happiness``, ``sadness``...); other folders are reported ("unknown folder") and left out.
    Split folders: ``train``/``training`` -> ``Training``; ``val``/``valid``/``validation``/``publictest``
    -> ``PublicTest``; ``test``/``privatetest`` -> ``PrivateTest``.
``"flat"``
    ``root/*`` (and sub-folders with ``recursive=True``): photos that all get one ``label`` (or none).
``"people"``
    ``root/<group>/<emotion>/*``: the emotions layout once per group (a person, a session), so that
    :func:`face_groups` can keep each group on one side of a split. :func:`guess_layout` tells it apart.

Every image that is exactly 48x48 is taken as a face as it is (in grayscale); any other photo goes through
face detection and cropping (:func:`emoj_lib.faces.find_faces`) under a face policy. Every file gets one
row in the report (:data:`REPORT_COLUMNS`, status one of :data:`STATUSES`); one bad file never stops a run.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.data.fer import UNLABELLED, FerData, write_fer_csv
from emoj_lib.errors import DataFormatError, EmojError, MultipleFacesError, NoFaceError
from emoj_lib.faces import (
    DEFAULT_POLICY,
    Box,
    CropOptions,
    DetectorOptions,
    apply_policy,
    check_policy,
    crop_face,
    find_faces,
    load_image,
)
from emoj_lib.faces.images import check_photo
from emoj_lib.labels import EMOTIONS, SYNONYMS, emotion_index, find_emotion

log = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".pgm")
"""File name endings read as images (compared case-insensitively); other files are reported "not an image"."""

STATUSES: tuple[str, ...] = ("kept", "no face", "several faces", "unreadable", "not an image", "unknown folder")
"""The values of the report's ``status`` column."""

REPORT_COLUMNS: tuple[str, ...] = ("file", "usage", "emotion", "status", "faces", "row", "box", "reason")
"""The report's columns: ``file`` (path relative to the root, ``/``-separated), ``usage`` (split), ``emotion``
(name, empty when unlabelled), ``status``, ``faces`` (faces found), ``row`` (index of the file's first face
in the data set, -1 if none; with policy "all" its faces are consecutive), ``box`` (``"x,y,w,h"`` in the
photo's pixels, ``;``-separated with policy "all"), ``reason`` (why a file was left out, or a note)."""

LAYOUTS: tuple[str, ...] = ("emotions", "flat", "people")
"""The accepted values of ``read_image_folder(layout=...)``."""

SPLIT_FOLDERS: dict[str, str] = {
    "train": "Training", "training": "Training",
    "val": "PublicTest", "valid": "PublicTest", "validation": "PublicTest", "publictest": "PublicTest",
    "test": "PrivateTest", "privatetest": "PrivateTest",
}


@dataclass
class _Job:
    path: Path
    name: str
    usage: str
    label: int


@dataclass
class _Result:
    record: dict[str, object]
    crops: list[np.ndarray] = field(default_factory=list)


def _record(name: str, usage: str, label: int, status: str, reason: str = "", faces: int = 0,
            box: str = "") -> dict[str, object]:
    emotion = EMOTIONS[label] if label >= 0 else ""
    return {"file": name, "usage": usage, "emotion": emotion, "status": status, "faces": faces, "row": -1,
            "box": box, "reason": reason}


def _files(folder: Path, recursive: bool) -> list[Path]:
    entries = folder.rglob("*") if recursive else folder.iterdir()
    return sorted((p for p in entries if p.is_file()), key=lambda p: p.relative_to(folder).as_posix())


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
    root = _folder(folder)
    return [p for p in _files(root, recursive) if p.suffix.lower() in IMAGE_EXTENSIONS]


def report_path(out_csv: str | os.PathLike[str]) -> Path:
    """Return where :func:`save_face_set` writes the report: ``<stem>.report.csv`` beside the CSV.

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


def _folder(folder: str | os.PathLike[str]) -> Path:
    root = Path(folder)
    if not root.exists():
        raise FileNotFoundError(f"folder not found: {root}")
    if not root.is_dir():
        raise NotADirectoryError(f"not a folder: {root}")
    return root


def _label_index(label: int | str | None) -> int:
    if label is None:
        return UNLABELLED
    if isinstance(label, str):
        return emotion_index(label)
    if isinstance(label, int | np.integer) and not isinstance(label, bool) and 0 <= label < len(EMOTIONS):
        return int(label)
    raise ValueError(f"label must be None, an emotion name or an index 0..{len(EMOTIONS) - 1}, got {label!r}")


def _sort_files(root: Path, folder: Path, usage: str, label: int, recursive: bool,
                jobs: list[_Job], done: list[_Result]) -> None:
    """Add the images of ``folder`` to ``jobs`` and its other files to ``done`` ("not an image")."""
    for path in _files(folder, recursive):
        name = path.relative_to(root).as_posix()
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            jobs.append(_Job(path, name, usage, label))
        else:
            done.append(_Result(_record(name, usage, label, "not an image",
                                        f"{path}: the name does not end in {' '.join(IMAGE_EXTENSIONS)}")))


def _emotion_jobs(root: Path, usage: str, recursive: bool, top: Path | None = None) -> tuple[list[_Job], list[_Result]]:
    """List the jobs of an emotions layout at ``top`` (default ``root``); names are relative to ``root``."""
    top = top or root
    subdirs = sorted(p for p in top.iterdir() if p.is_dir())
    splits = [(SPLIT_FOLDERS[p.name.lower()], p) for p in subdirs if p.name.lower() in SPLIT_FOLDERS]
    jobs: list[_Job] = []
    done: list[_Result] = []
    for split, folder in splits or [(usage, top)]:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            label = find_emotion(sub.name)
            if label is None:
                reason = f"folder name {sub.name!r} is not an emotion; expected one of {', '.join(sorted(SYNONYMS))}"
                done.append(_Result(_record(sub.relative_to(root).as_posix(), split, UNLABELLED, "unknown folder",
                                            reason)))
            else:
                _sort_files(root, sub, split, label, recursive, jobs, done)
    return jobs, done


def _read_one(job: _Job, policy: str, detector: DetectorOptions, crop: CropOptions) -> _Result:
    """Read one file into its face crops and its report record (errors become a status)."""
    faces: list = []
    try:
        if check_photo(job.path).size == (FACE_SIZE, FACE_SIZE):  # a face already
            face = crop_face(load_image(job.path), Box(0, 0, FACE_SIZE, FACE_SIZE), replace(crop, margin=0.0))
            return _Result(_record(job.name, job.usage, job.label, "kept", "", 1, f"0,0,{FACE_SIZE},{FACE_SIZE}"),
                           [face])
        faces = find_faces(job.path, policy="all", detector=detector, crop=crop)
        chosen = apply_policy(faces, policy, str(job.path))
    except NoFaceError as exc:
        return _Result(_record(job.name, job.usage, job.label, "no face", str(exc)))
    except MultipleFacesError as exc:
        return _Result(_record(job.name, job.usage, job.label, "several faces", str(exc), len(faces)))
    except (EmojError, OSError) as exc:
        return _Result(_record(job.name, job.usage, job.label, "unreadable", str(exc)))
    note = f"kept the largest of {len(faces)} faces" if len(chosen) < len(faces) else ""
    boxes = ";".join(",".join(map(str, f.box.as_tuple())) for f in chosen)
    return _Result(_record(job.name, job.usage, job.label, "kept", note, len(faces), boxes), [f.crop for f in chosen])


def _check_options(layout: str, label: int | str | None, usage: str, policy: str, crop: CropOptions) -> int:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown folder layout {layout!r}; use one of: {', '.join(LAYOUTS)}")
    if layout == "emotions" and label is not None:
        raise ValueError("label applies to the flat layout only (the emotions layout takes labels from folder "
                         "names); use layout='flat' or label=None")
    check_policy(policy)
    if not isinstance(usage, str) or not usage:
        raise ValueError(f"usage must be a non-empty string, got {usage!r}")
    if crop.size != FACE_SIZE or crop.color:
        raise ValueError(f"a data set holds {FACE_SIZE}x{FACE_SIZE} grayscale faces: crop size must be "
                         f"{FACE_SIZE} and color False, got size={crop.size}, color={crop.color}")
    return _label_index(label)


def _assemble(root: Path, results: list[_Result]) -> tuple[FerData, pd.DataFrame]:
    """Order the kept faces (by file number when every kept file is numbered) and fill the report's rows."""
    kept = [r for r in results if r.crops]
    stems = [Path(str(r.record["file"])).stem for r in kept]
    numbered = (bool(kept) and all(s.isdigit() for s in stems) and len(set(map(int, stems))) == len(stems)
                and all(len(r.crops) == 1 for r in kept))
    if numbered:
        kept = [kept[i] for i in np.argsort([int(s) for s in stems], kind="stable")]
    images: list[np.ndarray] = []
    labels: list[int] = []
    usages: list[object] = []
    for r in kept:
        r.record["row"] = len(images)
        images.extend(r.crops)
        labels.extend([EMOTIONS.index(str(r.record["emotion"])) if r.record["emotion"] else UNLABELLED]
                      * len(r.crops))
        usages.extend([r.record["usage"]] * len(r.crops))
    rows = np.array(sorted(int(s) for s in stems)) if numbered else np.arange(len(images))
    stack = np.stack(images) if images else np.empty((0, FACE_SIZE, FACE_SIZE), np.uint8)
    data = FerData(stack, np.array(labels, dtype=np.int64), np.array(usages, dtype=object), rows, source=str(root))
    report = pd.DataFrame([r.record for r in results], columns=list(REPORT_COLUMNS))
    return data, report.astype({"faces": "int64", "row": "int64"})


def _no_images(layout: str, recursive: bool) -> str:
    where = "" if layout == "flat" else (f" in emotion folders (root/<emotion>/*; emotions: "
                                         f"{', '.join(EMOTIONS)} or synonyms)")
    hint = "" if recursive or layout != "flat" else " (sub-folders not searched: pass recursive=True)"
    return f"no image files ({' '.join(IMAGE_EXTENSIONS)}){where}{hint}"


def read_image_folder(
    root: str | os.PathLike[str],
    *,
    layout: str = "emotions",
    label: int | str | None = None,
    usage: str = "Training",
    policy: str = DEFAULT_POLICY,
    detector: DetectorOptions | None = None,
    crop: CropOptions | None = None,
    recursive: bool = False,
    progress: bool = False,
) -> tuple[FerData, pd.DataFrame]:
    """Read a folder of photos or faces into FER-format faces, with a report of every file.

    Parameters
    ----------
    root : str or PathLike
        The folder (see the module doc for the two layouts).
    layout : {"emotions", "flat"}
        "emotions": labels from ``root/[split/]<emotion>/`` folder names; "flat": every image of ``root``
        gets ``label``.
    label : int, str or None
        Flat layout only: the emotion of every face (an index or a name such as ``"happy"``), ``None`` for
        unlabelled faces (label -1).
    usage : str
        The split of every face when the folder has no split level (always, in the flat layout).
    policy : {"largest", "all", "single"}
        Which faces of a photo are kept (:func:`emoj_lib.faces.apply_policy`; default
        :data:`emoj_lib.faces.DEFAULT_POLICY`). Photos left out get status "no face" or "several faces".
    detector : DetectorOptions, optional
        Face detection options.
    crop : CropOptions, optional
        Crop options (``margin``, ``equalize``); size 48 and grayscale are fixed.
    recursive : bool
        Also read sub-folders (of ``root`` in the flat layout, of each emotion folder otherwise).
    progress : bool
        Show a progress bar (``tqdm.auto``).

    Returns
    -------
    (FerData, pandas.DataFrame)
        The faces (``rows`` = the file's number when every kept file name is a number, as written by
        :func:`export_image_folder`, so that a round trip keeps the order) and the report
        (:data:`REPORT_COLUMNS`, one row per file or unknown folder, in file order).

    Raises
    ------
    FileNotFoundError, NotADirectoryError
        If ``root`` is not a folder.
    DataFormatError
        If it holds no image file (naming the folder).
    ValueError
        If an argument is invalid (checked before any file is read).

    """
    from tqdm.auto import tqdm

    crop = crop or CropOptions()
    label_idx = _check_options(layout, label, usage, policy, crop)
    detector = detector or DetectorOptions()
    base = _folder(root)
    jobs: list[_Job] = []
    results: list[_Result] = []
    if layout == "flat":
        _sort_files(base, base, usage, label_idx, recursive, jobs, results)
    for group in sorted(p for p in base.iterdir() if p.is_dir()) if layout == "people" else []:
        more, done = _emotion_jobs(base, usage, recursive, group)
        jobs, results = jobs + more, results + done
    if layout == "emotions":
        jobs, results = _emotion_jobs(base, usage, recursive)
    if not jobs:
        raise DataFormatError(base, _no_images(layout, recursive))
    for job in tqdm(jobs, desc=f"reading {base.name}", unit="photo", disable=not progress):
        results.append(_read_one(job, policy, detector, crop))
    results.sort(key=lambda r: str(r.record["file"]))
    data, report = _assemble(base, results)
    left_out = report[report.status != "kept"]
    if len(left_out):
        log.info("%s: %d file(s) or folder(s) left out: %s", base, len(left_out),
                 left_out.status.value_counts().to_dict())
    return data, report


def guess_layout(root: str | os.PathLike[str]) -> str:
    """Return ``"people"`` when ``root``'s folders are not emotions or splits but hold emotion folders.

    Otherwise ``"emotions"`` (what :func:`read_image_folder` reads by default).
    """
    subdirs = [p for p in _folder(root).iterdir() if p.is_dir()]
    named = [p for p in subdirs if find_emotion(p.name) is not None or p.name.lower() in SPLIT_FOLDERS]
    nested = [p for p in subdirs if any(find_emotion(q.name) is not None for q in p.iterdir() if q.is_dir())]
    return "people" if subdirs and not named and nested else "emotions"


def face_groups(data: FerData, report: pd.DataFrame, pattern: str | None = None) -> np.ndarray:
    """Return the group of every face read by :func:`read_image_folder`, in the data set's order.

    Parameters
    ----------
    data, report : FerData, pandas.DataFrame
        What :func:`read_image_folder` returned.
    pattern : str, optional
        A regular expression searched in each file name; its ``person`` group (or first group, or whole
        match) is the group (:func:`emoj_lib.data.people.groups_from_names`). Default: the first folder of
        each file's path (the ``<group>/`` level of the people layout).

    Returns
    -------
    np.ndarray
        One group name per face (str).

    Raises
    ------
    DataFormatError
        If a file name does not match ``pattern``.
    """
    from emoj_lib.data.people import groups_from_names

    kept = report[report.status == "kept"].sort_values("row")
    files = kept["file"].astype(str).tolist()
    names = groups_from_names(files, pattern) if pattern else [f.split("/", 1)[0] for f in files]
    counts = np.diff(np.append(kept["row"].to_numpy(), len(data)))
    return np.repeat(np.asarray(names, dtype=str), counts)


def save_face_set(data: FerData, report: pd.DataFrame, out_csv: str | os.PathLike[str]) -> Path:
    """Write a data set read by :func:`read_image_folder` as a FER CSV, and its report beside it.

    Parameters
    ----------
    data : FerData
        The faces.
    report : pandas.DataFrame
        Their report.
    out_csv : str or PathLike
        The CSV (``emotion,pixels,Usage``; gzip-compressed when it ends in ``.gz``); its folder is created.

    Returns
    -------
    Path
        The report's path (:func:`report_path`).

    """
    out = Path(out_csv)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_fer_csv(out, data.images, data.labels, data.usage)
    rpath = report_path(out)
    report.to_csv(rpath, index=False)
    return rpath


def export_image_folder(data: FerData, root: str | os.PathLike[str]) -> Path:
    """Write faces as 8-bit grayscale PNGs in ``root/<split>/<emotion>/<row>.png`` (lossless).

    Reading the folder back with :func:`read_image_folder` returns the same pixels, labels and splits, in
    the same order (file names are the faces' ``rows``). Split folder names are the ``Usage`` values.

    Parameters
    ----------
    data : FerData
        Labelled faces.
    root : str or PathLike
        The folder to write into.

    Returns
    -------
    Path
        ``root``.

    Raises
    ------
    ValueError
        If a face is unlabelled, or ``rows`` repeat (file names would collide).
    FileExistsError
        If a file to be written exists already.

    """
    from PIL import Image

    if (data.labels < 0).any():
        raise ValueError("unlabelled faces cannot be exported to an emotion folder")
    if len(np.unique(data.rows)) != len(data):
        raise ValueError("rows repeat: file names would collide")
    base = Path(root)
    width = max(6, len(str(int(data.rows.max(initial=0)))))
    for img, label, split, row in zip(data.images, data.labels, data.usage, data.rows, strict=True):
        folder = base / str(split) / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{int(row):0{width}d}.png"
        if path.exists():
            raise FileExistsError(f"{path} exists already")
        Image.fromarray(img, mode="L").save(path, optimize=False)
    return base
