"""Distillation: a teacher (typically an :class:`~emoj_lib.ensemble.Ensemble`) teaches one student model.

The teacher's probabilities on the training faces (with test-time augmentation, optionally softened by a
temperature and mixed with the true labels) become the student's soft targets; the student trains on them with
:func:`emoj_lib.training.fit_model` (resumable run folder, log, best weights), validated on true labels.

Softening: ``p ** (1 / T)`` renormalised equals ``softmax(logits / T)`` exactly, so the teacher's logits are
not needed.

>>> teacher = Ensemble([m1, m2, m3])  # doctest: +SKIP
>>> result = distill(teacher, build_model("emojnet"), train, val, run_dir="runs/distill")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib.data.fer import FerData


def soft_targets(teacher, faces: np.ndarray, *, temperature: float = 1.0, tta: str = "flip",
                 labels: np.ndarray | None = None, label_weight: float = 0.0, batch_size: int = 256) -> np.ndarray:
    """Return the teacher's soft targets (N, 7) for faces.

    Parameters
    ----------
    teacher : keras.Model or callable
        The teacher (one model or an ensemble).
    faces : np.ndarray
        uint8 faces (N, 48, 48).
    temperature : float
        > 1 softens the teacher's probabilities (reveals which wrong emotions it finds close), 1 keeps them.
    tta : {"none", "flip", "tencrop"}
        The teacher's test-time augmentation.
    labels : np.ndarray, optional
        True labels (N,) to mix in with ``label_weight``.
    label_weight : float
        Weight of the one-hot true labels in the targets (0..1).
    batch_size : int
        Faces per forward pass.
    """
    from emoj_lib.inference import predict_proba

    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if not 0 <= label_weight <= 1 or (label_weight > 0 and labels is None):
        raise ValueError("label_weight must be in 0..1, and needs labels when above 0")
    p = predict_proba(teacher, faces, tta=tta, batch_size=batch_size).astype(np.float64)
    if temperature != 1:
        p = np.power(np.clip(p, 1e-12, 1), 1 / temperature)
        p /= p.sum(axis=1, keepdims=True)
    if label_weight > 0:
        p = (1 - label_weight) * p + label_weight * np.eye(p.shape[1])[np.asarray(labels)]
    return p.astype(np.float32)


@dataclass
class DistillResult:
    """The trained student, its epoch log and the soft targets it learned from."""

    model: Any
    history: pd.DataFrame
    targets: np.ndarray


def distill(teacher, student, train: FerData, val: FerData | None = None, *, run_dir: str | Path,
            epochs: int = 30, learning_rate: float = 1e-3, temperature: float = 2.0, label_weight: float = 0.3,
            tta: str = "flip", batch_size: int = 64, augmentation=None, weight_decay: float = 1e-4,
            seed: int = 0, verbose: int = 2) -> DistillResult:
    """Train ``student`` on ``teacher``'s soft targets for ``train``'s faces; return the student and its log.

    Parameters
    ----------
    teacher : keras.Model or callable
        The teacher (e.g. an Ensemble of stage-1 models).
    student : keras.Model
        An uncompiled model from :func:`emoj_lib.models.build_model`; trained in place.
    train, val : FerData
        Training faces (their labels mix in with ``label_weight``); validation faces with true labels pick
        the best epoch (without them, training accuracy against the targets' argmax does).
    run_dir : str or Path
        The student's run folder (resumable, see :func:`emoj_lib.training.fit_model`).
    epochs, learning_rate, weight_decay, batch_size, seed, verbose
        As in :func:`~emoj_lib.training.fit_model` and :func:`~emoj_lib.data.pipeline.make_dataset`.
    temperature, label_weight, tta
        See :func:`soft_targets`.
    augmentation : Augmentation, optional
        Random changes of the training faces (None: none).
    """
    import keras

    from emoj_lib.data.pipeline import make_dataset
    from emoj_lib.training import fit_model

    labelled = train.subset(train.labels >= 0) if label_weight > 0 else train
    targets = soft_targets(teacher, labelled.images, temperature=temperature, tta=tta,
                           labels=labelled.labels if label_weight > 0 else None, label_weight=label_weight)
    keras.utils.set_random_seed(seed)
    ds = make_dataset(labelled.images, targets, batch_size=batch_size, shuffle=True, augment=augmentation, seed=seed)
    vds = None
    if val is not None:
        val = val.subset(val.labels >= 0)
        vds = make_dataset(val.images, val.labels, batch_size=256)
    history = fit_model(student, ds, vds, run_dir=run_dir, epochs=epochs, learning_rate=learning_rate,
                        weight_decay=weight_decay, monitor="val_accuracy" if vds is not None else "accuracy",
                        verbose=verbose)
    return DistillResult(student, history, targets)
