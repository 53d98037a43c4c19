"""FER+ labels: ten crowd votes per FER2013 image (Barsoum et al. 2016), joined by row order.

``fer2013new.csv`` row ``i`` belongs to row ``i`` of ``fer2013.csv`` (not to its ``Image name``: some
rows have none, some names repeat). Votes are over 10 columns: 8 emotions, ``unknown`` and ``NF`` (not a
face).

Majority rule (documented tie-break): the label is the column with the most votes over all 10 columns;
a tie goes to the first tied column in FER+ file order (neutral, happiness, surprise, sadness, anger,
disgust, fear, contempt, unknown, NF). Images whose label is ``unknown`` or ``NF``, or that have no vote,
are dropped (label ``-1``). This reproduces the published per-split majority counts of the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.data.fer import FerData
from emoj_lib.errors import DataFormatError
from emoj_lib.labels import FERPLUS_COLUMNS, FERPLUS_EMOTIONS, FERPLUS_TO_FER, N_EMOTIONS


@dataclass
class FerPlusVotes:
    """FER+ votes for FER2013 rows.

    Attributes
    ----------
    votes : np.ndarray
        int (N, 10) votes in :data:`~emoj_lib.labels.FERPLUS_COLUMNS` order.
    usage : np.ndarray
        The ``Usage`` column of the FER+ file (for checking the join).
    """

    votes: np.ndarray
    usage: np.ndarray

    def majority(self) -> np.ndarray:
        """Return the 8-class FER+ majority label per row (``-1``: unknown, not a face or no vote)."""
        label = self.votes.argmax(axis=1)  # argmax returns the first maximum: the documented tie-break
        label[(label >= len(FERPLUS_EMOTIONS)) | (self.votes.sum(axis=1) == 0)] = -1
        return label

    def soft(self) -> np.ndarray:
        """Return the 8-emotion vote distribution per row (rows without emotion votes are all zero)."""
        v = self.votes[:, : len(FERPLUS_EMOTIONS)].astype(np.float32)
        total = v.sum(axis=1, keepdims=True)
        return np.divide(v, total, out=np.zeros_like(v), where=total > 0)

    def fer_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Return FER+ labels in the 7 FER2013 classes: hard labels (N,) and soft labels (N, 7).

        Contempt has no FER2013 class: its images get hard label ``-1`` and its votes are left out of
        the soft distribution (which is renormalised over the 7 classes; rows with no vote left are 0).
        """
        plus = self.majority()
        mapping = np.array([-1 if FERPLUS_TO_FER[i] is None else FERPLUS_TO_FER[i]
                            for i in range(len(FERPLUS_EMOTIONS))])
        hard = np.where(plus >= 0, mapping[np.maximum(plus, 0)], -1)
        soft = np.zeros((len(plus), N_EMOTIONS), np.float32)
        for plus_i, fer_i in FERPLUS_TO_FER.items():
            if fer_i is not None:
                soft[:, fer_i] = self.votes[:, plus_i]
        total = soft.sum(axis=1, keepdims=True)
        soft = np.divide(soft, total, out=np.zeros_like(soft), where=total > 0)
        return hard, soft


def read_ferplus(path: str | Path) -> FerPlusVotes:
    """Read ``fer2013new.csv`` (columns ``Usage,Image name,`` + the 10 vote columns).

    Raises
    ------
    DataFormatError
        On a missing column or a vote that is not a non-negative integer (naming the line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"FER+ file not found: {path}")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("Usage", *FERPLUS_COLUMNS) if c not in df.columns]
    if missing:
        raise DataFormatError(path, f"missing column(s) {missing}; header is {list(df.columns)}", line=1)
    votes = df[list(FERPLUS_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    bad = votes.isna() | (votes < 0) | (votes != votes.round())
    if bad.to_numpy().any():
        r, c = np.argwhere(bad.to_numpy())[0]
        raise DataFormatError(path, f"vote {df.iloc[r, df.columns.get_loc(FERPLUS_COLUMNS[c])]!r} is not a "
                              "non-negative integer", line=int(r) + 2, field=FERPLUS_COLUMNS[c])
    return FerPlusVotes(votes.to_numpy(np.int64), df["Usage"].to_numpy(object))


def ferplus_for(data: FerData, votes: FerPlusVotes) -> FerPlusVotes:
    """Select the FER+ votes of the faces in ``data`` (joined through ``data.rows``, checking ``Usage``).

    Raises
    ------
    DataFormatError
        If a row is out of range of the FER+ file or the two files disagree on a face's split.
    """
    if len(data) and data.rows.max() >= len(votes.votes):
        raise DataFormatError(None, f"FER+ has {len(votes.votes)} rows; {data.source} has row "
                              f"{int(data.rows.max())}: not the same file")
    usage = votes.usage[data.rows]
    mismatch = np.flatnonzero(usage != data.usage)
    if len(mismatch):
        i = mismatch[0]
        raise DataFormatError(None, f"{len(mismatch)} face(s) disagree on their split between {data.source} "
                              f"and FER+, first row {int(data.rows[i])}: {data.usage[i]!r} vs {usage[i]!r}")
    return FerPlusVotes(votes.votes[data.rows], usage)


def agreement(data: FerData, votes: FerPlusVotes) -> pd.DataFrame:
    """Return a crosstab of FER2013 labels (rows) against FER+ majority labels (columns), per face."""
    from emoj_lib.labels import EMOTIONS

    v = ferplus_for(data, votes)
    plus = v.majority()
    names = [*FERPLUS_EMOTIONS, "unknown/NF"]
    return pd.crosstab(pd.Categorical.from_codes(data.labels, EMOTIONS),
                       pd.Categorical.from_codes(np.where(plus < 0, len(FERPLUS_EMOTIONS), plus), names),
                       rownames=["FER2013"], colnames=["FER+"], dropna=False)
