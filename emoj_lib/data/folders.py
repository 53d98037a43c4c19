"""Image-folder data sets: ``root/<emotion>/*.png`` (optionally ``root/<split>/<emotion>/...``).

This is the layout of the popular Kaggle image copy of FER2013 and of any hand-collected set. Folder
names are matched case-insensitively and through common synonyms (``anger``, ``happiness``,
``sadness``...); other folders are reported and left out. Images that are already 48x48 faces are
taken as they are (converted to grayscale); larger photos go through face detection and cropping
(:func:`emoj_lib.faces.find_faces`), keeping only photos with exactly one face by default.

Split folders: ``train``/``training`` -> ``Training``; ``val``/``valid``/``validation``/``publictest``
-> ``PublicTest``; ``test``/``privatetest`` -> ``PrivateTest``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.config import FACE_SIZE
from emoj_lib.data.fer import FerData
from emoj_lib.errors import DataFormatError, EmojError
from emoj_lib.labels import EMOTIONS, SYNONYMS

log = logging.getLogger(__name__)

SPLIT_FOLDERS: dict[str, str] = {
    "train": "Training", "training": "Training",
    "val": "PublicTest", "valid": "PublicTest", "validation": "PublicTest", "publictest": "PublicTest",
    "test": "PrivateTest", "privatetest": "PrivateTest",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm")
REPORT_COLUMNS = ["file", "usage", "emotion", "status", "reason"]


def _emotion_of(folder: str) -> int | None:
    key = folder.strip().lower()
    return EMOTIONS.index(SYNONYMS[key]) if key in SYNONYMS else None


def _layout(root: Path, usage: str) -> list[tuple[str, Path]]:
    """Return ``(split, folder)`` pairs: the root itself, or its split sub-folders."""
    subdirs = sorted(p for p in root.iterdir() if p.is_dir())
    splits = [(SPLIT_FOLDERS[p.name.lower()], p) for p in subdirs if p.name.lower() in SPLIT_FOLDERS]
    return splits if splits else [(usage, root)]


def _read_face_file(path: Path, face_options: dict) -> np.ndarray:
    """Return a 48x48 uint8 face from an image file: as it is if 48x48, else detected and cropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if im.size == (FACE_SIZE, FACE_SIZE):
                return np.asarray(im.convert("L"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        from emoj_lib.errors import ImageReadError

        raise ImageReadError(f"cannot read image {path}: {exc}") from exc
    from emoj_lib.faces import find_faces

    options = {"policy": "single", **face_options}
    return find_faces(path, **options)[0].crop


def read_image_folder(
    root: str | Path,
    *,
    usage: str = "Training",
    progress: bool = False,
    **face_options,
) -> tuple[FerData, pd.DataFrame]:
    """Read a labelled image folder into FER-format faces, with a report of every file.

    Parameters
    ----------
    root : str or Path
        ``root/<emotion>/<images>`` or ``root/<split>/<emotion>/<images>``.
    usage : str
        The split name given to the faces when the folder has no split level.
    progress : bool
        Show a progress bar.
    **face_options
        Options of :func:`emoj_lib.faces.find_faces` for photos that are not 48x48 faces already
        (``policy`` defaults to ``"single"``: photos with no face or several faces are left out).

    Returns
    -------
    (FerData, pandas.DataFrame)
        The faces (``rows`` = the file's number when every file name is a number, as written by
        :func:`export_image_folder`, so that a round trip keeps the order) and a report with one row per
        file or unknown folder: ``file``, ``usage``, ``emotion``, ``status`` (``kept``, ``no face``,
        ``several faces``, ``unreadable``, ``unknown folder``, ``not an image``) and ``reason``.

    Raises
    ------
    FileNotFoundError
        If ``root`` is not a folder.
    DataFormatError
        If no emotion folder or no image is found (naming the folder).
    """
    from tqdm.auto import tqdm

    from emoj_lib.errors import ImageReadError, MultipleFacesError, NoFaceError

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    report: list[tuple] = []
    jobs: list[tuple[Path, str, int]] = []
    for split, folder in _layout(root, usage):
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            label = _emotion_of(sub.name)
            if label is None:
                report.append((str(sub), split, "", "unknown folder",
                               f"folder name {sub.name!r} is not an emotion; expected one of {sorted(SYNONYMS)}"))
                continue
            for f in sorted(sub.iterdir()):
                if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                    jobs.append((f, split, label))
                elif f.is_file():
                    report.append((str(f), split, EMOTIONS[label], "not an image", f"suffix {f.suffix!r}"))
    if not jobs:
        raise DataFormatError(root, "no images found in emotion folders (expected root/<emotion>/*.png|jpg, "
                              f"emotions: {', '.join(EMOTIONS)} or synonyms)")
    images, labels, usages, names = [], [], [], []
    for f, split, label in tqdm(jobs, desc=f"reading {root.name}", disable=not progress, unit="img"):
        try:
            face = _read_face_file(f, face_options)
        except NoFaceError as exc:
            report.append((str(f), split, EMOTIONS[label], "no face", str(exc)))
            continue
        except MultipleFacesError as exc:
            report.append((str(f), split, EMOTIONS[label], "several faces", str(exc)))
            continue
        except (ImageReadError, EmojError, OSError, ValueError) as exc:
            report.append((str(f), split, EMOTIONS[label], "unreadable", str(exc)))
            continue
        images.append(face)
        labels.append(label)
        usages.append(split)
        names.append(f.stem)
        report.append((str(f), split, EMOTIONS[label], "kept", ""))
    rep = pd.DataFrame(report, columns=REPORT_COLUMNS)
    left_out = rep[rep.status != "kept"]
    if len(left_out):
        log.warning("%s: %d file(s) or folder(s) left out: %s", root, len(left_out),
                    left_out.status.value_counts().to_dict())
    if not images:
        raise DataFormatError(root, f"no usable face among {len(jobs)} image(s): "
                              f"{rep.status.value_counts().to_dict()}")
    numbered = all(n.isdigit() for n in names) and len(set(map(int, names))) == len(names)
    rows = np.array([int(n) for n in names]) if numbered else np.arange(len(names))
    data = FerData(np.stack(images), np.array(labels), np.array(usages, dtype=object), rows, source=str(root))
    if numbered:
        data = data.subset(np.argsort(rows, kind="stable"))
    return data, rep


def export_image_folder(data: FerData, root: str | Path) -> Path:
    """Write faces as 8-bit grayscale PNGs in ``root/<split>/<emotion>/<row>.png`` (lossless).

    Reading the folder back with :func:`read_image_folder` returns the same pixels, labels and splits, in
    the same order (file names are the faces' ``rows``). Split folder names are the ``Usage`` values.

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
    root = Path(root)
    width = max(6, len(str(int(data.rows.max(initial=0)))))
    for img, label, split, row in zip(data.images, data.labels, data.usage, data.rows, strict=True):
        folder = root / str(split) / EMOTIONS[label]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{int(row):0{width}d}.png"
        if path.exists():
            raise FileExistsError(f"{path} exists already")
        Image.fromarray(img, mode="L").save(path, optimize=False)
    return root
