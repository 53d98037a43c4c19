"""The adapter measured on real people: few-shot protocols on a people folder.

A people folder (``DIR/<person>/<emotion>/<photos>``, see :mod:`emoj_lib.data.people`) is read once: every
photo goes through the recognizer's own detection and cropping, as a journal entry's would, and the
model's probabilities and embeddings are kept (:func:`read_people_faces`). A protocol then draws, per
person, a few labelled shots per emotion, fits the adapter on them (its own leave-one-out choice
included) and scores that person's other photos before and after (:func:`evaluate_protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.personal.adapter import fit_adapter


@dataclass
class PeopleFaces:
    """Faces of a people folder with what the model reads in them.

    Attributes
    ----------
    person, labels, paths : np.ndarray
        Per face: the person's name, the emotion index, the photo.
    crops : np.ndarray
        uint8 (N, 48, 48) face crops.
    proba, features : np.ndarray
        The base model's probabilities (N, 7) and embeddings (N, D).
    missing : list of str
        Photos in which no face was found (left out).
    """

    person: np.ndarray
    labels: np.ndarray
    paths: np.ndarray
    crops: np.ndarray
    proba: np.ndarray
    features: np.ndarray
    missing: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.labels)


def largest_face_crops(paths, face_options: dict) -> tuple[np.ndarray, np.ndarray]:
    """Detect and crop the largest face of each photo, as a journal entry's would be.

    Parameters
    ----------
    paths : iterable of str or Path
        The photos.
    face_options : dict
        Options of :func:`emoj_lib.faces.find_faces` (a recognizer's ``face_options``).

    Returns
    -------
    (np.ndarray, np.ndarray)
        uint8 crops (M, 48, 48) of the photos where a face was found, and the mask (N,) of those photos.
    """
    from emoj_lib.errors import NoFaceError
    from emoj_lib.faces import find_faces

    paths = list(paths)
    crops, found = [], np.zeros(len(paths), bool)
    for i, path in enumerate(paths):
        try:
            crops.append(find_faces(path, policy="largest", **face_options)[0].crop)
            found[i] = True
        except NoFaceError:
            pass
    return (np.stack(crops) if crops else np.zeros((0, 48, 48), np.uint8)), found


def read_people_faces(root: str | Path, recognizer=None) -> PeopleFaces:
    """Detect, crop and read every photo of a people folder once.

    Parameters
    ----------
    root : str or Path
        ``root/<person>/<emotion>/<photos>``.
    recognizer : Recognizer, optional
        Whose detection options and model are used (default: the shipped model).
    """
    from emoj_lib.data.people import read_people
    from emoj_lib.personal.features import embed
    from emoj_lib.recognizer import Recognizer

    rec = recognizer if recognizer is not None else Recognizer()
    table = read_people(root)
    crops_arr, found = largest_face_crops(table["path"], rec.face_options)
    missing = list(table["path"][~found])
    table = table[found]
    proba, feats = embed(rec.model, crops_arr)
    return PeopleFaces(table["person"].to_numpy(str), table["label"].to_numpy(np.int64),
                       table["path"].to_numpy(str), crops_arr, proba, feats, missing)


def draw_shots(labels: np.ndarray, candidates: np.ndarray, k: int, emotions,
               rng: np.random.Generator) -> np.ndarray:
    """Return ``k`` random indices per emotion among ``candidates``, sorted.

    An emotion with ``k`` faces or fewer gives one fewer, so that at least one face of it is left to test.
    """
    shots = []
    for c in emotions:
        pool = candidates[labels[candidates] == c]
        n = min(k, len(pool) - 1)
        if n > 0:
            shots += list(rng.choice(pool, size=n, replace=False))
    return np.sort(np.array(shots, np.int64))


def evaluate_protocol(faces: PeopleFaces, *, k: int, emotions=None, draws: int = 10, seed: int = 0,
                      **adapter_options) -> pd.DataFrame:
    """Score the adapter per person: ``k`` shots of each of ``emotions`` labelled, the rest tested.

    Parameters
    ----------
    faces : PeopleFaces
        From :func:`read_people_faces`.
    k : int
        Labelled shots per emotion.
    emotions : sequence of int, optional
        The emotions the person labels (default: all seven).
    draws : int
        Random draws of the shots per person.
    seed : int
        Seeds the draws.
    **adapter_options
        Passed to :func:`~emoj_lib.personal.adapter.fit_adapter`.

    Returns
    -------
    pandas.DataFrame
        One row per (person, draw): ``person``, ``draw``, ``shots``, ``tested``, ``before``, ``after``
        (accuracy on the tested photos), ``unlabelled_before``, ``unlabelled_after`` (on the tested photos
        of emotions not labelled; NaN if none), ``strength``, ``reason``.
    """
    emotions = list(range(7)) if emotions is None else list(emotions)
    rng = np.random.default_rng(seed)
    rows = []
    for person in np.unique(faces.person):
        idx = np.flatnonzero(faces.person == person)
        for d in range(draws):
            shots = draw_shots(faces.labels, idx, k, emotions, rng)
            test = np.setdiff1d(idx, shots)
            ad = fit_adapter(faces.features[shots], faces.labels[shots], faces.proba[shots], **adapter_options)
            y = faces.labels[test]
            before = faces.proba[test].argmax(axis=1) == y
            after = ad.transform(faces.proba[test], faces.features[test]).argmax(axis=1) == y
            unl = ~np.isin(y, emotions)
            rows.append({"person": person, "draw": d, "shots": len(shots), "tested": len(test),
                         "before": before.mean(), "after": after.mean(),
                         "unlabelled_before": before[unl].mean() if unl.any() else np.nan,
                         "unlabelled_after": after[unl].mean() if unl.any() else np.nan,
                         "strength": ad.strength, "reason": ad.evidence.get("reason", "")})
    return pd.DataFrame(rows)


_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
"""Student's t 97.5 % quantiles for 1..30 degrees of freedom (beyond: 2.042, within 4 % of the normal's)."""


def mean_interval(values) -> tuple[float, float]:
    """Return the mean and the half-width of its 95 % t-interval (NaN half-width for fewer than 2 values)."""
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    if len(v) < 2:
        return (float(v.mean()) if len(v) else float("nan")), float("nan")
    return float(v.mean()), float(_T975[min(len(v) - 1, len(_T975)) - 1] * v.std(ddof=1) / np.sqrt(len(v)))
