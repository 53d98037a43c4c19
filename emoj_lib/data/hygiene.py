"""Data hygiene: exact duplicates, duplicates across splits (leakage), blank and near-constant images.

FER2013 has all three (see ``../shared/data/README.md``). :func:`hygiene_report` counts them and
:func:`hygiene_mask` says which faces to keep for training.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emoj_lib.data.fer import FerData

TRAINING = "Training"


@dataclass
class HygieneReport:
    """What :func:`hygiene_report` found.

    Attributes
    ----------
    groups : pandas.DataFrame
        One row per face that has an exact duplicate: ``index`` (position in the data), ``row`` (source
        row), ``group`` (id of its group of identical images), ``usage``, ``label``.
    blank : np.ndarray
        Positions of constant images (every pixel the same value; e.g. all black).
    near_constant : np.ndarray
        Positions of non-constant images whose pixel standard deviation is below ``std_threshold``.
    summary : dict
        The counts (see :meth:`to_frame`).
    """

    groups: pd.DataFrame
    blank: np.ndarray
    near_constant: np.ndarray
    summary: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Return the summary counts as a one-column table."""
        return pd.Series(self.summary, name="count").to_frame()


def image_hashes(images: np.ndarray) -> np.ndarray:
    """Return a content hash (hex string) per image; identical pixels give identical hashes."""
    images = np.asarray(images, np.uint8)
    flat = np.ascontiguousarray(images.reshape(len(images), int(np.prod(images.shape[1:]))))
    return np.array([hashlib.blake2b(r.tobytes(), digest_size=16).hexdigest() for r in flat], dtype=object)


def hygiene_report(data: FerData, *, std_threshold: float = 3.0) -> HygieneReport:
    """Find exact duplicates, cross-split duplicates, blank and near-constant images.

    Parameters
    ----------
    data : FerData
        The faces to check.
    std_threshold : float
        A non-constant image whose pixel standard deviation is below this is "near-constant".

    Returns
    -------
    HygieneReport
        The groups of duplicates, the blank and near-constant faces, and a summary with
        ``duplicate_groups``, ``duplicate_rows``, ``conflicting_groups`` (identical images with different
        labels), ``cross_split_groups`` (groups spanning Training and another split: leakage),
        ``leaking_training_rows`` (Training faces whose image is also in another split), ``blank``
        (per split too) and ``near_constant``.
    """
    hashes = image_hashes(data.images)
    df = pd.DataFrame({"index": np.arange(len(data)), "row": data.rows, "hash": hashes,
                       "usage": data.usage, "label": data.labels})
    dup = df[df.duplicated("hash", keep=False)].copy()
    dup["group"] = dup.groupby("hash", sort=False).ngroup()
    dup["train"] = (dup.usage == TRAINING).astype(bool)
    dup["other"] = ~dup["train"]
    per_group = dup.groupby("group").agg(
        n=("index", "size"), labels=("label", "nunique"), has_train=("train", "any"), has_other=("other", "any"),
    )
    cross = per_group[per_group.has_train & per_group.has_other].index
    leaking = dup[dup.group.isin(cross) & (dup.usage == TRAINING)]
    flat = data.images.reshape(len(data), data.images.shape[1] * data.images.shape[2])
    lo, hi = flat.min(axis=1), flat.max(axis=1)
    blank = np.flatnonzero(lo == hi)
    std = flat.std(axis=1)
    near = np.flatnonzero((lo != hi) & (std < std_threshold))
    summary = {
        "faces": len(data),
        "duplicate_groups": int(len(per_group)),
        "duplicate_rows": int(len(dup)),
        "conflicting_groups": int((per_group.labels > 1).sum()),
        "cross_split_groups": int(len(cross)),
        "leaking_training_rows": int(len(leaking)),
        "blank": int(len(blank)),
        "near_constant": int(len(near)),
    }
    for split in pd.unique(data.usage):
        summary[f"blank_{split}"] = int((data.usage[blank] == split).sum())
    groups = dup.drop(columns=["hash", "train", "other"]).reset_index(drop=True)
    return HygieneReport(groups, blank, near, summary)


def hygiene_mask(
    data: FerData,
    *,
    drop_blank: bool = True,
    drop_near_constant: bool = False,
    drop_leaking: bool = False,
    drop_duplicates: bool = False,
    drop_conflicting: bool = False,
    report: HygieneReport | None = None,
) -> np.ndarray:
    """Return a boolean mask of the faces to keep for training.

    Parameters
    ----------
    data : FerData
        The faces.
    drop_blank, drop_near_constant : bool
        Drop constant / near-constant images.
    drop_leaking : bool
        Drop Training faces whose image also appears in another split (the test faces are kept).
    drop_duplicates : bool
        Keep only the first face of every group of identical images within the same split.
    drop_conflicting : bool
        Drop every face of a group of identical images that carry different labels.
    report : HygieneReport, optional
        A report already computed for ``data`` (saves recomputing it).

    Returns
    -------
    np.ndarray
        bool (N,), True for the faces to keep.
    """
    rep = report if report is not None else hygiene_report(data)
    keep = np.ones(len(data), bool)
    if drop_blank:
        keep[rep.blank] = False
    if drop_near_constant:
        keep[rep.near_constant] = False
    g = rep.groups
    if len(g):
        if drop_leaking:
            groups_other = set(g.loc[g.usage != TRAINING, "group"])
            keep[g.loc[(g.usage == TRAINING) & g.group.isin(groups_other), "index"].to_numpy()] = False
        if drop_duplicates:
            later = g[g.duplicated(["group", "usage"], keep="first")]
            keep[later["index"].to_numpy()] = False
        if drop_conflicting:
            n_labels = g.groupby("group")["label"].nunique()
            bad = n_labels[n_labels > 1].index
            keep[g.loc[g.group.isin(bad), "index"].to_numpy()] = False
    return keep
