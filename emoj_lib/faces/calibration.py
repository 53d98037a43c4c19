"""The shared photos the detector's constants were fitted on, and those that score them.

The false-positive filter's constants (``min_confidence=3.0`` for ``frontalface_default``, the second
cascade's ``confirm_iou=0.5``, the profile fallback's 12 neighbours) were chosen by looking at candidates
on the project's 43 photos (``shared/data/photos``, listed with their face counts in its ``README.md``).
To keep a figure that was not fitted, the photos are split once, by a fixed rule: sorted by file name,
those at even positions (0, 2, 4...) are the **fit** half (22 photos) and the others the **score** half (21).
:func:`calibrate` re-derives the confidence threshold's admissible interval from the fit half alone, and
``benchmarks/bench_faces.py`` reports counts on each half separately (the fit half's are in-sample).
The constants were first chosen on all 43 photos, before this split; a re-fit on the fit half gives an
interval that contains the same 3.0 (see :func:`calibrate`), so the score half is held out from that re-fit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2

from emoj_lib.faces.detection import DetectorOptions, _iou, detect_array, haar_candidates
from emoj_lib.faces.images import load_array

CALIBRATION_SIDES: tuple[int, ...] = (400, 480, 560, 640)
"""Longer sides of the copies scanned while fitting (with area, bilinear and bicubic resampling)."""

_INTERPOLATIONS = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


def read_photo_table(folder: str | os.PathLike[str], column: str = "faces") -> dict[str, str]:
    """Return file name -> one column of the photo folder's ``README.md`` table.

    Parameters
    ----------
    folder : str or PathLike
        The folder (``shared/data/photos``).
    column : str
        ``"faces"`` (the count by eye) or another column, e.g. ``"expression"`` (a coarse label judged by
        eye: ``happy``, ``neutral``, ``mixed`` or ``none``).

    Returns
    -------
    dict
        E.g. ``{"deepface__img1.jpg": "1", ..., "deepface__selfie-many-people.jpg": "7+"}`` for the faces;
        only the values "0", "1" and "2" are exact counts.

    Raises
    ------
    KeyError
        If the table has no such column.

    """
    table: dict[str, str] = {}
    header: list[str] | None = None
    for line in (Path(folder) / "README.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            if column not in header:
                raise KeyError(f"{Path(folder) / 'README.md'}: the table has no column {column!r} ({header})")
        elif cells[0] and not set(cells[0]) <= set("-: "):
            table[cells[header.index("file")]] = cells[header.index(column)]
    return table


def split_photos(names: list[str] | set[str] | dict[str, str]) -> tuple[list[str], list[str]]:
    """Return ``(fit, score)``: the names sorted, even positions fit, odd positions score.

    Parameters
    ----------
    names : iterable of str
        Photo file names.

    Returns
    -------
    (list of str, list of str)

    """
    ordered = sorted(names)
    return ordered[0::2], ordered[1::2]


@dataclass(frozen=True)
class Calibration:
    """What the fit photos say about the confidence threshold (over :data:`CALIBRATION_SIDES` x 3 resamplings).

    Attributes
    ----------
    real_scores : list of float
        Scores of candidates matching a face (IoU >= 0.5 with a face found on a photo counted right).
    spurious : list of (str, float, bool)
        ``(photo, score, confirmed)`` of every other candidate on photos with an exact count.

    """

    real_scores: list[float]
    spurious: list[tuple[str, float, bool]]

    def threshold_interval(self) -> tuple[float, float]:
        """Return the interval of thresholds that the candidates admit.

        A threshold in ``(low, high]`` keeps every real face and rejects every
        confirmed spurious candidate.

        Returns
        -------
        (float, float)

        """
        confirmed = [s for _, s, c in self.spurious if c]
        return (max(confirmed, default=float("-inf")), min(self.real_scores, default=float("inf")))


def _variants(array):
    h, w = array.shape[:2]
    for side in CALIBRATION_SIDES:
        scale = min(1.0, side / max(h, w))
        for interpolation in _INTERPOLATIONS:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            yield cv2.resize(array, size, interpolation=interpolation) if scale < 1 else array


def calibrate(folder: str | os.PathLike[str], names: list[str]) -> Calibration:
    """Collect candidate scores on photos with exact counts (0, 1 or 2) among ``names``.

    Parameters
    ----------
    folder : str or PathLike
        The photo folder.
    names : list of str
        The photos to fit on (e.g. the fit half of :func:`split_photos`).

    Returns
    -------
    Calibration

    """
    table = read_photo_table(folder)
    real: list[float] = []
    spurious: list[tuple[str, float, bool]] = []
    as_is = DetectorOptions(detect_side=None)  # each copy is scanned at its own size
    for name in names:
        if table.get(name) not in ("0", "1", "2"):
            continue
        for copy in _variants(load_array(Path(folder) / name)):
            faces = [b.as_tuple() for b in detect_array(copy, as_is)] if table[name] != "0" else []
            if len(faces) != int(table[name]):
                faces = []  # a miscounted copy says nothing reliable about which candidate is real
            for c in haar_candidates(copy, as_is):
                if any(_iou(c.box.as_tuple(), f) >= 0.5 for f in faces):
                    real.append(c.score)
                else:
                    spurious.append((name, c.score, bool(c.confirmed)))
    return Calibration(real, spurious)
