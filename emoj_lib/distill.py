"""Distillation: a teacher (typically an :class:`~emoj_lib.ensemble.Ensemble`) teaches one student model.

The teacher's probabilities on the training faces (with test-time augmentation, optionally softened by a
temperature and mixed with the true labels) become the student's soft targets; the student trains on them with
:func:`emoj_lib.training.fit_model` (resumable run folder, log, best weights), validated on true labels.

Softening: ``p ** (1 / T)`` renormalised equals ``softmax(logits / T)`` exactly, so the teacher's logits are
not needed. Each teacher's probabilities are kept beside the run folders (:data:`TEACHER_CACHE`), so that
students taught by the same teachers with other settings do not wait for them again.

>>> teacher = Ensemble([m1, m2, m3])  # doctest: +SKIP
>>> result = distill(teacher, build_model("emojnet"), train, val, run_dir="runs/distill")  # doctest: +SKIP

:func:`train_student` is the stage-1 form (``emoj train distill``): teachers given as model files, FER2013
Training as the faces, PublicTest to pick the epoch, every split evaluated, the student saved with its card.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib.data.fer import FerData
from emoj_lib.data.pipeline import Augmentation

TEACHER_CACHE = "teacher-probabilities"
"""Beside a distillation's run folder: each teacher's probabilities (:func:`teacher_probabilities`)."""


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

    _check_softening(temperature, labels, label_weight)  # before the teacher's minutes of work
    return soften(predict_proba(teacher, faces, tta=tta, batch_size=batch_size), temperature=temperature,
                  labels=labels, label_weight=label_weight)


def _check_softening(temperature: float, labels: np.ndarray | None, label_weight: float) -> None:
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if not 0 <= label_weight <= 1 or (label_weight > 0 and labels is None):
        raise ValueError("label_weight must be in 0..1, and needs labels when above 0")


def soften(proba: np.ndarray, *, temperature: float = 1.0, labels: np.ndarray | None = None,
           label_weight: float = 0.0) -> np.ndarray:
    """Return a teacher's probabilities (N, 7) as soft targets: softened by ``temperature``, mixed with labels.

    See :func:`soft_targets`, which computes the probabilities first.
    """
    _check_softening(temperature, labels, label_weight)
    p = np.asarray(proba, np.float64)
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


def _cached_targets(run_dir: Path, settings: dict[str, Any], make) -> np.ndarray:
    """Return the soft targets saved in ``run_dir`` for these settings, else ``make()`` them and save them.

    Computing a teacher's targets with ten-crop on FER2013 Training takes minutes: a resumed run reuses them.
    """
    path, meta = run_dir / "targets.npy", run_dir / "targets.json"
    if path.is_file() and meta.is_file() and json.loads(meta.read_text()) == settings:
        return np.load(path)
    targets = make()
    np.save(path, targets)
    meta.write_text(json.dumps(settings, indent=2) + "\n")
    return targets


def taught_faces(train: FerData, label_weight: float) -> FerData:
    """Return the training faces a student learns from: the labelled ones when labels mix into the targets."""
    return train.subset(train.labels >= 0) if label_weight > 0 else train


def teacher_probabilities(paths: list[Path], models: list, faces: FerData, *, tta: str,
                          cache_dir: Path | None = None, batch_size: int = 256) -> np.ndarray:
    """Return several teachers' mean probabilities (N, 7) for faces: a :class:`~emoj_lib.ensemble.Ensemble`'s reading.

    Each teacher's probabilities are kept in ``cache_dir`` (when given), one file per model file (its SHA-256),
    test-time augmentation and faces, so that another student taught by the same teacher (another temperature,
    another shape) does not compute them again: with ten-crop on FER2013 Training that takes about 13 minutes
    per teacher on two cores.
    """
    from emoj_lib.cards import file_sha256
    from emoj_lib.inference import predict_proba
    from emoj_lib.training import data_fingerprint

    fingerprint = data_fingerprint(faces)[:16]
    probas = []
    for path, model in zip(paths, models, strict=True):
        cached = None if cache_dir is None else \
            Path(cache_dir) / f"{file_sha256(path)[:16]}-{tta}-{fingerprint}.npy"
        p = np.load(cached) if cached is not None and cached.is_file() else None
        if p is None or p.shape != (len(faces), 7):
            p = predict_proba(model, faces.images, tta=tta, batch_size=batch_size)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                part = cached.with_name(cached.stem + ".part.npy")
                np.save(part, p)
                part.replace(cached)
        probas.append(np.asarray(p, np.float64))
    return np.mean(probas, axis=0).astype(np.float32)


def distill(teacher, student, train: FerData, val: FerData | None = None, *, run_dir: str | Path,
            epochs: int = 30, learning_rate: float = 1e-3, temperature: float = 2.0, label_weight: float = 0.3,
            tta: str = "flip", batch_size: int = 64, augmentation=None, weight_decay: float = 1e-4,
            min_learning_rate: float = 0.0, warmup_epochs: int = 0, patience: int | None = None,
            seed: int = 0, verbose: int = 2, callbacks: list | None = None,
            teacher_proba: Callable[[], np.ndarray] | None = None) -> DistillResult:
    """Train ``student`` on ``teacher``'s soft targets for ``train``'s faces; return the student and its log.

    Parameters
    ----------
    teacher : keras.Model or callable
        The teacher (e.g. an Ensemble of stage-1 models); unused when ``teacher_proba`` is given.
    student : keras.Model
        A model from :func:`emoj_lib.models.build_model` (fresh, or trained already to continue from); trained
        in place.
    train, val : FerData
        Training faces (their labels mix in with ``label_weight``); validation faces with true labels pick
        the best epoch (without them, training accuracy against the targets' argmax does).
    run_dir : str or Path
        The student's run folder (resumable, see :func:`emoj_lib.training.fit_model`); the soft targets are
        kept there (``targets.npy``) so that a resumed run does not compute them again.
    epochs, learning_rate, min_learning_rate, warmup_epochs, weight_decay, patience, batch_size, seed, verbose
        As in :func:`~emoj_lib.training.fit_model` and :class:`~emoj_lib.data.pipeline.TrainingBatches`.
    temperature, label_weight, tta
        See :func:`soft_targets`.
    augmentation : Augmentation, optional
        Random changes of the training faces (None: none).
    callbacks : list, optional
        More Keras callbacks (e.g. a progress bar).
    teacher_proba : callable, optional
        Returns the teacher's probabilities (with ``tta``) for :func:`taught_faces` of ``train`` (e.g. from
        :func:`teacher_probabilities`' cache); called only when the run folder holds no targets for these
        settings. None: the teacher reads the faces.
    """
    import keras

    from emoj_lib.data.pipeline import TrainingBatches, make_dataset
    from emoj_lib.training import data_fingerprint, fit_model

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    labelled = taught_faces(train, label_weight)
    settings = {"faces": data_fingerprint(labelled), "temperature": temperature, "tta": tta,
                "label_weight": label_weight}
    labels = labelled.labels if label_weight > 0 else None

    def make() -> np.ndarray:
        if teacher_proba is None:
            return soft_targets(teacher, labelled.images, temperature=temperature, tta=tta, labels=labels,
                                label_weight=label_weight)
        proba = teacher_proba()
        if proba.shape != (len(labelled), 7):
            raise ValueError(f"the teacher's probabilities have shape {proba.shape}, not ({len(labelled)}, 7)")
        return soften(proba, temperature=temperature, labels=labels, label_weight=label_weight)

    targets = _cached_targets(run_dir, settings, make)
    keras.utils.set_random_seed(seed)
    ds = TrainingBatches(labelled.images, targets, batch_size=batch_size, augment=augmentation, seed=seed)
    vds = None
    if val is not None:
        val = val.subset(val.labels >= 0)
        vds = make_dataset(val.images, val.labels, batch_size=256)
    history = fit_model(student, ds, vds, run_dir=run_dir, epochs=epochs, learning_rate=learning_rate,
                        min_learning_rate=min_learning_rate, warmup_epochs=warmup_epochs,
                        weight_decay=weight_decay, patience=patience,
                        monitor="val_accuracy" if vds is not None else "accuracy", verbose=verbose,
                        callbacks=callbacks)
    return DistillResult(student, history, targets)


@dataclass
class DistillConfig:
    """How :func:`train_student` teaches a student on FER2013 Training.

    Attributes
    ----------
    tta
        The teachers' test-time augmentation for the soft targets ("none", "flip" or "tencrop").
    temperature, label_weight
        Softening of the teachers' probabilities and weight of the true labels (:func:`soft_targets`).
    epochs, learning_rate, min_learning_rate, warmup_epochs, weight_decay, batch_size, patience, seed
        As in :class:`~emoj_lib.training.TrainConfig`; a student continued from a trained model wants a
        lower peak learning rate than one trained from scratch.
    augmentation
        Random changes of the training faces.
    drop_blank
        Leave out blank Training faces.
    architecture, hyperparameters
        A fresh student of this registered architecture with these hyperparameters (e.g. a narrower
        ``emojnet`` for speed); None: shaped like the first teacher. Refused with ``init``.
    """

    tta: str = "tencrop"
    temperature: float = 2.0
    label_weight: float = 0.3
    epochs: int = 15
    learning_rate: float = 3e-4
    min_learning_rate: float = 1e-5
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    batch_size: int = 64
    patience: int | None = None
    seed: int = 0
    augmentation: Augmentation = field(default_factory=Augmentation)
    drop_blank: bool = True
    architecture: str | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from emoj_lib.inference import check_tta

        if isinstance(self.augmentation, dict):
            self.augmentation = Augmentation(**self.augmentation)
        check_tta(self.tta)
        if self.temperature <= 0 or not 0 <= self.label_weight <= 1 or self.epochs < 1:
            raise ValueError("temperature must be positive, label_weight in 0..1 and epochs at least 1")

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-ready dict."""
        d = asdict(self)
        d["augmentation"] = self.augmentation.to_dict()
        return d


def _student(teacher_card: dict, config: DistillConfig, init: Path | None):
    """Return the student, its architecture and its complete hyperparameters.

    A copy of the ``init`` model (shaped as its card says), else a fresh model of ``config.architecture`` with
    ``config.hyperparameters``, else one shaped like the first teacher.
    """
    from emoj_lib.cards import load_model
    from emoj_lib.models import build_model
    from emoj_lib.training import build_model_defaults

    if init is not None:
        model, card = load_model(init)
        return model, card.get("architecture"), card.get("hyperparameters")
    if config.architecture is None:
        architecture, hp = teacher_card["architecture"], dict(teacher_card.get("hyperparameters") or {})
        hp.update(config.hyperparameters)
    else:
        architecture, hp = config.architecture, dict(config.hyperparameters)
    return build_model(architecture, **hp), architecture, {**build_model_defaults(architecture), **hp}


def train_student(teachers: list[str | Path], config: DistillConfig | None = None, *,
                  init: str | Path | None = None, fer: FerData | None = None, fer_path: str | Path | None = None,
                  run_dir: str | Path, verbose: int = 2, callbacks: list | None = None):
    """Distil one or several trained models (their mean) into a student on FER2013; save it with its card.

    Parameters
    ----------
    teachers : list of str or Path
        Teacher models (``.keras`` with cards); several make an :class:`~emoj_lib.ensemble.Ensemble`.
    config : DistillConfig, optional
        Targets and schedule.
    init : str or Path, optional
        Start the student from this model's weights (e.g. the shipped model: self-distillation from its own
        ten-crop readings); default: a fresh model of ``config.architecture`` (else the first teacher's).
    fer, fer_path
        FER2013 already read, or where it is (default: the shared data).
    run_dir : str or Path
        The run folder (resumable; refuses other settings).
    verbose, callbacks
        As in :func:`~emoj_lib.training.fit_model`.

    Returns
    -------
    emoj_lib.training.TrainResult
        The student with the best PublicTest accuracy, its log, every split evaluated (with flip TTA too),
        and ``run_dir/model.keras`` with its card (teachers, targets and schedule under ``training``).
    """
    from emoj_lib import config as cfg
    from emoj_lib.cards import file_sha256, load_model, make_card, write_card
    from emoj_lib.data import read_fer_csv
    from emoj_lib.evaluation import evaluate_splits
    from emoj_lib.training import (
        TrainConfig,
        TrainResult,
        check_run_settings,
        export_float32,
        stage1_data,
        stage1_data_record,
    )

    config = config or DistillConfig()
    if init is not None and (config.architecture is not None or config.hyperparameters):
        raise ValueError("a student continued from init has that model's shape: leave out architecture and "
                         "hyperparameters")
    t0 = time.perf_counter()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = [Path(t) for t in teachers]
    check_run_settings(run_dir, {"teachers": [file_sha256(p) for p in paths],
                                 "init": None if init is None else file_sha256(init), **config.to_dict()},
                       "distill.json")
    loaded = [load_model(p) for p in paths]
    fer = fer if fer is not None else read_fer_csv(fer_path or cfg.fer2013_path())
    prepared = stage1_data(fer, TrainConfig(drop_blank=config.drop_blank, seed=config.seed))
    train, val = prepared["train"], prepared["val"]
    student, architecture, hyperparameters = _student(loaded[0][1], config, None if init is None else Path(init))

    def proba() -> np.ndarray:
        return teacher_probabilities(paths, [m for m, _ in loaded], taught_faces(train, config.label_weight),
                                     tta=config.tta, cache_dir=run_dir.parent / TEACHER_CACHE)

    result = distill(None, student, train, val, run_dir=run_dir, epochs=config.epochs,
                     learning_rate=config.learning_rate, min_learning_rate=config.min_learning_rate,
                     warmup_epochs=config.warmup_epochs, temperature=config.temperature,
                     label_weight=config.label_weight, tta=config.tta, batch_size=config.batch_size,
                     augmentation=config.augmentation, weight_decay=config.weight_decay, patience=config.patience,
                     seed=config.seed, verbose=verbose, callbacks=callbacks, teacher_proba=proba)
    metrics = evaluate_splits(result.model, fer, tta=True)
    card = make_card(
        name=run_dir.name, stage=1, architecture=architecture,
        hyperparameters=hyperparameters, parameters=int(result.model.count_params()),
        data=stage1_data_record(fer, prepared, "fer"),
        training={**config.to_dict(), "method": "distillation",
                  "teachers": [{"path": str(p), "name": c.get("name"), "sha256": file_sha256(p)}
                               for p, (_, c) in zip(paths, loaded, strict=True)],
                  "init": None if init is None else {"path": str(init), "sha256": file_sha256(init)},
                  "epochs_run": len(result.history),
                  "best_epoch": int(result.history["val_accuracy"].to_numpy().argmax()) + 1
                  if len(result.history) else None,
                  "wall_seconds": round(time.perf_counter() - t0, 1)},
        metrics=metrics.round(4).to_dict(orient="index"),
    )
    model_path = run_dir / "model.keras"
    model = export_float32(result.model, architecture, hyperparameters)  # the weights only, no optimizer state
    model.save(model_path)
    write_card(model_path, card)
    return TrainResult(model, result.history, metrics, model_path, card)
