"""Ensembles: several models read a face and their probabilities are averaged.

An :class:`Ensemble` is a callable like any model of :mod:`emoj_lib.inference` (float32 faces in,
probabilities out), so evaluation, the recognizer and distillation (:mod:`emoj_lib.distill`) take it as they
take one model. ``Recognizer([path1, path2, path3])`` builds one from model files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Ensemble:
    """The mean of several models' probabilities (optionally weighted).

    Parameters
    ----------
    members : sequence of keras.Model or callable
        The models; each maps float32 faces (N, 48, 48, 1) in 0..255 to probabilities (N, 7).
    weights : sequence of float, optional
        One non-negative weight per member (default: equal); normalised to sum to 1.
    """

    def __init__(self, members: Sequence, weights: Sequence[float] | None = None) -> None:
        if len(members) == 0:
            raise ValueError("an ensemble needs at least one model")
        w = np.ones(len(members)) if weights is None else np.asarray(weights, np.float64)
        if w.shape != (len(members),) or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"weights must be {len(members)} non-negative numbers, not all 0; got {weights!r}")
        self.members = list(members)
        self.weights = w / w.sum()

    def __len__(self) -> int:
        return len(self.members)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the weighted mean of the members' probabilities for a float32 batch (N, 48, 48, 1)."""
        from emoj_lib.inference import forward

        out = sum(w * np.asarray(forward(m)(x), np.float64) for m, w in zip(self.members, self.weights,
                                                                              strict=True))
        return np.asarray(out, np.float32)
