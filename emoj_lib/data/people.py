"""People: photo collections laid out per person and emotion, and groups read from file names.

A *people folder* is ``DIR/<person>/<emotion>/<photos>`` (emotion folder names as in
:mod:`emoj_lib.data.folders`: FER2013 names or common synonyms). :func:`layout_people` builds one from a
flat folder whose file names say who and what, such as JAFFE's ``KA.AN1.39.tiff`` (person KA, anger);
:func:`read_people` lists one; :func:`groups_from_names` gives each file its group (person) for
group-aware splits (:func:`emoj_lib.data.sampling.stratified_split`).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.data.folders import IMAGE_EXTENSIONS
from emoj_lib.errors import DataFormatError
from emoj_lib.labels import EMOTIONS, find_emotion

JAFFE_PATTERN = r"^(?P<person>[A-Za-z]+)\.(?P<emotion>AN|DI|FE|HA|SA|SU|NE)\d*\."
"""JAFFE file names: ``<person>.<emotion code><take>.<image id>.tiff``."""

JAFFE_CODES = {"AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy", "SA": "sad", "SU": "surprise",
               "NE": "neutral"}
"""JAFFE's emotion codes, as FER2013 emotion names."""


def groups_from_names(names, pattern: str) -> list[str]:
    """Return the group of each file name: the pattern's ``person`` (or first) group.

    Raises
    ------
    DataFormatError
        Naming the first file the pattern does not match.
    """
    rx = re.compile(pattern)
    out = []
    for name in names:
        m = rx.search(Path(str(name)).name)
        if m is None:
            raise DataFormatError(name, f"file name does not match the group pattern {pattern!r}")
        out.append(m.group("person") if "person" in rx.groupindex else m.group(1) if rx.groups else m.group(0))
    return out


def layout_people(source: str | Path, dest: str | Path, *, pattern: str = JAFFE_PATTERN,
                  codes: dict[str, str] | None = None, copy: bool = False) -> pd.DataFrame:
    """Lay out a flat photo folder as ``dest/<person>/<emotion>/<photo>`` (file names give both).

    Parameters
    ----------
    source : str or Path
        A folder of photos (searched recursively), e.g. ``../shared/data/jaffe``.
    dest : str or Path
        The people folder to create (must not hold photos already laid out under other names).
    pattern : str
        A regular expression with named groups ``person`` and ``emotion``, searched in each file name.
    codes : dict, optional
        Emotion code -> FER2013 emotion name (default :data:`JAFFE_CODES` with the JAFFE pattern).
    copy : bool
        Copy the photos (default: symbolic links to the originals, so that licensed photos are not copied).

    Returns
    -------
    pandas.DataFrame
        One row per photo: ``person``, ``emotion``, ``source``, ``path``; files the pattern does not match
        are left out.

    Raises
    ------
    DataFormatError
        If no photo matches, or a code is not an emotion.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise DataFormatError(source, "not a folder")
    codes = codes if codes is not None else (JAFFE_CODES if pattern == JAFFE_PATTERN else {})
    rx = re.compile(pattern)
    rows = []
    for path in sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()):
        m = rx.search(path.name)
        if m is None:
            continue
        index = find_emotion(codes.get(m.group("emotion"), m.group("emotion")))
        if index is None:
            raise DataFormatError(path, f"emotion {m.group('emotion')!r} is not one of {', '.join(EMOTIONS)}")
        target = dest / m.group("person") / EMOTIONS[index] / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or target.exists():
            target.unlink()
        if copy:
            shutil.copyfile(path, target)
        else:
            os.symlink(path.resolve(), target)
        rows.append({"person": m.group("person"), "emotion": EMOTIONS[index],
                     "source": str(path), "path": str(target)})
    if not rows:
        raise DataFormatError(source, f"no photo name matches {pattern!r}")
    return pd.DataFrame(rows)


def read_people(root: str | Path) -> pd.DataFrame:
    """List a people folder ``root/<person>/<emotion>/<photos>``.

    Returns
    -------
    pandas.DataFrame
        ``person``, ``emotion`` (FER2013 name), ``label`` (index into EMOTIONS), ``path``; sorted.

    Raises
    ------
    DataFormatError
        If ``root`` is not a folder, an emotion folder is not an emotion, or there is no photo.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(root, "not a folder (expected DIR/<person>/<emotion>/<photos>)")
    rows = []
    for person in sorted(p for p in root.iterdir() if p.is_dir()):
        for folder in sorted(p for p in person.iterdir() if p.is_dir()):
            label = find_emotion(folder.name)
            if label is None:
                raise DataFormatError(folder, f"folder name is not an emotion ({', '.join(EMOTIONS)})")
            rows += [{"person": person.name, "emotion": EMOTIONS[label], "label": label, "path": str(f)}
                     for f in sorted(folder.iterdir()) if f.suffix.lower() in IMAGE_EXTENSIONS]
    if not rows:
        raise DataFormatError(root, "no photos in <person>/<emotion>/ folders")
    return pd.DataFrame(rows)


def csv_groups(path: str | Path, data) -> np.ndarray | None:
    """Return the ``group`` column of a FER-format CSV for the faces of ``data`` read from it (None without one).

    Parameters
    ----------
    path : str or Path
        The CSV :func:`~emoj_lib.data.read_fer_csv` read.
    data : FerData
        What it returned (its ``rows`` index the CSV's data rows).

    Raises
    ------
    DataFormatError
        If a face's group is empty (naming the line).
    """
    table = pd.read_csv(path, usecols=lambda c: c == "group", dtype=str, keep_default_na=False)
    if "group" not in table:
        return None
    column = table["group"].to_numpy()
    groups = column[data.rows]
    empty = np.flatnonzero(groups == "")
    if len(empty):
        raise DataFormatError(path, "empty group", line=int(data.rows[empty[0]]) + 2, field="group")
    return groups.astype(str)
