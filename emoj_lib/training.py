"""Training stages: stage 1 (FER2013 from scratch) and stage 2/3 (transfer and fine-tuning).

Every run lives in a folder (``runs/<name>/`` by default, git-ignored) that holds its configuration,
a CSV log of every epoch, the best weights so far and a backup of the full training state, so that a
run killed at any point continues from its last finished epoch when started again with the same
folder. At the end the best weights are exported as a float32 ``model.keras`` with its model card.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib import config as cfg
from emoj_lib.cards import make_card, write_card
from emoj_lib.checkpoints import (
    read_log,
    recover_backup,
    resume_epoch,
    save_weights_atomically,
    training_backup,
    trim_log,
)
from emoj_lib.data.fer import FerData, read_fer_csv
from emoj_lib.data.hygiene import hygiene_mask, hygiene_report
from emoj_lib.data.pipeline import Augmentation, TrainingBatches, class_weights, make_dataset, sample_weights
from emoj_lib.data.sampling import stratified_sample
from emoj_lib.errors import RunFolderError
from emoj_lib.evaluation import evaluate_splits
from emoj_lib.models import build_model

log = logging.getLogger(__name__)

LABEL_SOURCES = ("fer", "ferplus", "ferplus_soft")


@dataclass
class TrainConfig:
    """Everything that defines a stage-1 training run (recorded in the model card).

    Attributes
    ----------
    architecture, hyperparameters
        The registered architecture and its keyword hyperparameters.
    epochs, batch_size
        Epoch budget and batch size.
    learning_rate, min_learning_rate, warmup_epochs
        AdamW learning rate: linear warm-up, then cosine decay to ``min_learning_rate`` at ``epochs``.
    weight_decay
        AdamW decoupled weight decay.
    label_smoothing
        Cross-entropy label smoothing.
    augmentation
        Random changes to training faces (:class:`~emoj_lib.data.pipeline.Augmentation`).
    class_weight_power
        0: no class weights; 1: inverse-frequency weights (see :func:`~emoj_lib.data.pipeline.class_weights`).
    labels
        ``"fer"`` (original labels), ``"ferplus"`` (FER+ majority) or ``"ferplus_soft"`` (FER+ vote
        distribution as soft targets).
    drop_blank, drop_leaking, drop_duplicates, drop_conflicting
        Hygiene: which Training faces to leave out (test splits are never changed).
    patience
        Stop after this many epochs without a better validation accuracy (None: never).
    seed
        Seeds weights, shuffling and augmentation.
    mixed_precision
        Train in ``mixed_bfloat16`` (fast on CPUs with AMX/AVX512-BF16); the exported model is float32.
    sample
        Use only this many Training faces (stratified), and as many as a fifth of that of the selection
        split: for smoke runs and quick experiments.

    """

    architecture: str = "emojnet"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-5
    warmup_epochs: int = 1
    weight_decay: float = 1e-4
    label_smoothing: float = 0.1
    augmentation: Augmentation = field(default_factory=Augmentation)
    class_weight_power: float = 0.0
    labels: str = "fer"
    drop_blank: bool = True
    drop_leaking: bool = False
    drop_duplicates: bool = False
    drop_conflicting: bool = False
    patience: int | None = 12
    seed: int = 0
    mixed_precision: bool = False
    sample: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.augmentation, dict):
            self.augmentation = Augmentation(**self.augmentation)
        if self.labels not in LABEL_SOURCES:
            raise ValueError(f"labels must be one of {LABEL_SOURCES}, got {self.labels!r}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-ready dict."""
        d = asdict(self)
        d["augmentation"] = self.augmentation.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build a configuration from :meth:`to_dict` output (unknown keys raise ``TypeError``)."""
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise TypeError(f"unknown training option(s) {sorted(unknown)}")
        return cls(**d)


@dataclass
class TrainResult:
    """What a training run produced."""

    model: Any
    history: pd.DataFrame
    metrics: pd.DataFrame
    model_path: Path
    card: dict[str, Any]


@contextlib.contextmanager
def _precision(mixed: bool) -> Iterator[None]:
    import keras

    old = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if mixed else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(old)


def cosine_schedule(epochs: int, lr: float, min_lr: float = 0.0, warmup: int = 0):
    """Return ``f(epoch) -> learning rate``: linear warm-up, then cosine decay from ``lr`` to ``min_lr``."""
    def f(epoch: int, _current: float | None = None) -> float:
        if epoch < warmup:
            return lr * (epoch + 1) / (warmup + 1)
        progress = (epoch - warmup) / max(1, epochs - warmup)
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * min(progress, 1.0)))
    return f


def _callback_classes():
    import keras

    class BestWeights(keras.callbacks.Callback):
        """Save the best weights by a monitored metric and stop early; state survives a restart."""

        def __init__(self, path: Path, log_path: Path, monitor: str, patience: int | None) -> None:
            super().__init__()
            self.path, self.log_path, self.monitor, self.patience = path, log_path, monitor, patience
            self.best, self.best_epoch, self.wait = -np.inf, -1, 0

        def on_train_begin(self, logs=None):
            done = read_log(self.log_path.parent)
            if len(done) and self.monitor in done and self.path.exists():
                i = int(done[self.monitor].to_numpy().argmax())
                self.best, self.best_epoch = float(done[self.monitor].iloc[i]), int(done["epoch"].iloc[i])
                self.wait = int(done["epoch"].iloc[-1]) - self.best_epoch

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(self.monitor)
            if value is None:
                return
            if value > self.best:
                self.best, self.best_epoch, self.wait = float(value), epoch, 0
                save_weights_atomically(self.model, self.path)
            else:
                self.wait += 1
                if self.patience is not None and self.wait >= self.patience:
                    log.info("early stop at epoch %d (best %s %.4f at epoch %d)", epoch + 1, self.monitor,
                             self.best, self.best_epoch + 1)
                    self.model.stop_training = True

    class EpochPrinter(keras.callbacks.Callback):
        """One line per epoch with time and metrics (for logs of background runs)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            items = " ".join(f"{k}={v:.4f}" for k, v in sorted((logs or {}).items()))
            print(f"epoch {epoch + 1}: {time.perf_counter() - self.t0:.0f}s {items}", flush=True)

    return BestWeights, EpochPrinter


def fit_model(model, train: TrainingBatches, val_ds, *, run_dir: str | Path, epochs: int, learning_rate: float,
              min_learning_rate: float = 0.0, warmup_epochs: int = 0, weight_decay: float = 0.0,
              label_smoothing: float = 0.0, patience: int | None = None, monitor: str = "val_accuracy",
              verbose: int = 2, callbacks: list | None = None) -> pd.DataFrame:
    """Compile and fit a model with a resumable run folder; return the epoch log.

    The run folder gets ``log.csv`` (every epoch), ``best.weights.h5`` (best ``monitor`` so far) and
    ``backup/`` (the full training state of the last finished epoch, removed when the run completes), each
    replaced whole, so that a kill at any instant leaves a folder that resumes (:mod:`emoj_lib.checkpoints`).
    Calling this again with the same folder after an interruption continues where it stopped, with the
    batches, dropout masks and updates an uninterrupted run would have from that epoch on
    (:class:`TrainingBatches`). At the end the model holds the best weights.

    Parameters
    ----------
    model : keras.Model
        The model (compiled here with AdamW and categorical cross-entropy).
    train : TrainingBatches
        The training data (:class:`~emoj_lib.data.pipeline.TrainingBatches`).
    val_ds : tf.data.Dataset or None
        The selection data, from :func:`~emoj_lib.data.pipeline.make_dataset`.
    run_dir : str or Path
        The run folder (created).
    epochs, learning_rate, min_learning_rate, warmup_epochs, weight_decay, label_smoothing, patience
        See :class:`TrainConfig`.
    monitor : str
        The metric that picks the best epoch.
    verbose : int
        0 silent, 1 progress bar, 2 one line per epoch.

    """
    import keras

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    BestWeights, EpochPrinter = _callback_classes()
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    recover_backup(run_dir)
    trim_log(run_dir)
    best = BestWeights(run_dir / "best.weights.h5", run_dir / "log.csv", monitor, patience)
    start = resume_epoch(run_dir)
    callbacks = [
        keras.callbacks.LearningRateScheduler(cosine_schedule(epochs, learning_rate, min_learning_rate,
                                                              warmup_epochs)),
        best,
        keras.callbacks.CSVLogger(str(run_dir / "log.csv"), append=True),
        *([EpochPrinter()] if verbose == 2 else []),
        *(callbacks or []),
        training_backup(run_dir, start),  # last: an epoch counts as done once its records are written
    ]
    done = read_log(run_dir)
    if len(done) and not (run_dir / "backup").exists():
        log.info("%s: the run had already finished (%d epochs)", run_dir, len(done))
    else:
        model.fit(train.stream(start), steps_per_epoch=train.steps_per_epoch, validation_data=val_ds,
                  epochs=epochs, initial_epoch=start, callbacks=callbacks, shuffle=False,
                  verbose=1 if verbose == 1 else 0)
    if (run_dir / "best.weights.h5").exists():
        if not model.optimizer.built:  # a finished run that was not fitted again: its file holds the optimizer's
            model.optimizer.build(model.trainable_variables)  # state too, which a bare optimizer skips loudly
        model.load_weights(run_dir / "best.weights.h5")
    return read_log(run_dir)


def stage1_data(fer: FerData, config: TrainConfig, *, ferplus_path: str | Path | None = None,
                selection: str = "PublicTest") -> dict[str, Any]:
    """Return the stage-1 training and selection data for a configuration.

    Applies the hygiene options to Training, the label source (FER or FER+), and ``sample``.

    Returns
    -------
    dict
        ``train`` and ``val`` (:class:`FerData`), ``train_targets`` and ``val_targets`` (int labels or
        soft labels), ``hygiene`` (summary counts) and ``dropped`` (Training faces left out).

    """
    report = hygiene_report(fer)
    keep = hygiene_mask(fer, drop_blank=config.drop_blank, drop_leaking=config.drop_leaking,
                        drop_duplicates=config.drop_duplicates, drop_conflicting=config.drop_conflicting,
                        report=report)
    keep |= fer.usage != "Training"
    data = fer.subset(keep)
    if config.labels != "fer":
        from emoj_lib.data.ferplus import ferplus_for, read_ferplus

        votes = ferplus_for(data, read_ferplus(ferplus_path or cfg.ferplus_path()))
        hard, soft = votes.fer_labels()
        data = FerData(data.images, hard, data.usage, data.rows, source=data.source + " (FER+ labels)")
        has = hard >= 0
        data, soft = data.subset(has), soft[has]
    train_mask = data.usage == "Training"
    val_mask = data.usage == selection
    train, val = data.subset(train_mask), data.subset(val_mask)
    tsoft = soft[train_mask] if config.labels == "ferplus_soft" else None
    vsoft = soft[val_mask] if config.labels == "ferplus_soft" else None
    if config.sample:
        ti = stratified_sample(train.labels, config.sample, config.seed)
        vi = stratified_sample(val.labels, max(config.sample // 5, 50), config.seed)
        train, val = train.subset(ti), val.subset(vi)
        tsoft = None if tsoft is None else tsoft[ti]
        vsoft = None if vsoft is None else vsoft[vi]
    return {"train": train, "val": val,
            "train_targets": train.labels if tsoft is None else tsoft,
            "val_targets": val.labels if vsoft is None else vsoft,
            "hygiene": report.summary, "dropped": int((~keep).sum())}


def export_float32(model, architecture: str, hyperparameters: dict[str, Any]):
    """Return a float32 copy of a (possibly mixed-precision) model with the same weights."""
    with _precision(False):
        clone = build_model(architecture, **hyperparameters)
    clone.set_weights(model.get_weights())
    return clone


def train_stage1(
    config: TrainConfig | None = None,
    *,
    fer: FerData | None = None,
    fer_path: str | Path | None = None,
    ferplus_path: str | Path | None = None,
    run_dir: str | Path | None = None,
    verbose: int = 2,
    callbacks: list | None = None,
) -> TrainResult:
    """Stage 1: train a model on FER2013 Training, select on PublicTest, report every split.

    Parameters
    ----------
    config : TrainConfig, optional
        The run's configuration (defaults: emojnet, 40 epochs).
    fer : FerData, optional
        FER2013 already read; else it is read from ``fer_path`` (default: the shared data).
    fer_path, ferplus_path : str or Path, optional
        Where FER2013 and FER+ are.
    run_dir : str or Path, optional
        Run folder (default ``runs/stage1-<architecture>-seed<seed>``). A folder with a
        ``config.json`` that differs from ``config`` is refused (start a new folder instead).
    verbose : int
        0 silent, 1 progress bar, 2 one line per epoch.
    callbacks : list, optional
        Extra Keras callbacks for the fit (e.g. :func:`emoj_lib.cli.progress.epoch_progress`).

    Returns
    -------
    TrainResult
        The float32 model with the best selection accuracy, the epoch log, the accuracy table of every
        split, and ``run_dir/model.keras`` with its card ``model.json``.

    """
    import keras

    config = config or TrainConfig()
    run_dir = Path(run_dir or cfg.RUNS_DIR / f"stage1-{config.architecture}-seed{config.seed}")
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_settings(run_dir, config.to_dict())
    t0 = time.perf_counter()
    if fer is None:
        fer = read_fer_csv(fer_path or cfg.fer2013_path())
    prepared = stage1_data(fer, config, ferplus_path=ferplus_path)
    train, val = prepared["train"], prepared["val"]
    keras.utils.set_random_seed(config.seed)
    weights = None
    if config.class_weight_power:
        cw = class_weights(prepared["train_targets"], power=config.class_weight_power)
        weights = sample_weights(prepared["train_targets"], cw)
    batches = TrainingBatches(train.images, prepared["train_targets"], batch_size=config.batch_size,
                              augment=config.augmentation, seed=config.seed, sample_weight=weights)
    val_ds = make_dataset(val.images, prepared["val_targets"], batch_size=256)
    with _precision(config.mixed_precision):
        model = build_model(config.architecture, **config.hyperparameters)
        history = fit_model(model, batches, val_ds, run_dir=run_dir, epochs=config.epochs,
                            learning_rate=config.learning_rate, min_learning_rate=config.min_learning_rate,
                            warmup_epochs=config.warmup_epochs, weight_decay=config.weight_decay,
                            label_smoothing=config.label_smoothing, patience=config.patience, verbose=verbose,
                            callbacks=callbacks)
    model = export_float32(model, config.architecture, config.hyperparameters)
    eval_data = fer if config.sample is None else FerData.concat([train, val, _sample_split(fer, "PrivateTest",
                                                                                              config)])
    metrics = evaluate_splits(model, eval_data, tta=True)
    card = make_card(
        name=run_dir.name,
        stage=1,
        architecture=config.architecture,
        hyperparameters={**build_model_defaults(config.architecture), **config.hyperparameters},
        parameters=int(model.count_params()),
        data=stage1_data_record(fer, prepared, config.labels),
        training={**config.to_dict(), "epochs_run": len(history),
                  "best_epoch": int(history["val_accuracy"].to_numpy().argmax()) + 1 if len(history) else None,
                  "wall_seconds": round(time.perf_counter() - t0, 1)},
        metrics=metrics.round(4).to_dict(orient="index"),
    )
    model_path = run_dir / "model.keras"
    model.save(model_path)
    write_card(model_path, card)
    return TrainResult(model, history, metrics, model_path, card)


def stage1_data_record(fer: FerData, prepared: dict[str, Any], labels: str) -> dict[str, Any]:
    """Return what a stage-1 card records of its data: the file, the splits' roles and sizes, the hygiene.

    ``prepared`` is :func:`stage1_data`'s output; ``labels`` the label source.
    """
    return {"source": fer.source, "faces": len(fer), "sha256": data_fingerprint(fer),
            "train_split": "Training", "selection_split": "PublicTest", "report_split": "PrivateTest",
            "train_faces": len(prepared["train"]), "selection_faces": len(prepared["val"]), "labels": labels,
            "hygiene": prepared["hygiene"], "dropped_training_faces": prepared["dropped"]}


def build_model_defaults(architecture: str) -> dict[str, Any]:
    """Return the default hyperparameters of an architecture (for complete model cards)."""
    from emoj_lib.models import get_architecture

    return {k: v for k, v in get_architecture(architecture).defaults().items()
            if k not in ("input_size", "n_classes")}


def data_fingerprint(data: FerData) -> str:
    """Return a SHA-256 over the pixels, labels and splits of a data set (identifies it in a card)."""
    import hashlib

    h = hashlib.sha256()
    h.update(np.ascontiguousarray(data.images).tobytes())
    h.update(np.ascontiguousarray(data.labels).tobytes())
    h.update("\n".join(map(str, data.usage)).encode())
    return h.hexdigest()


def _sample_split(fer: FerData, split: str, config: TrainConfig) -> FerData:
    part = fer.split(split)
    return part.subset(stratified_sample(part.labels, max((config.sample or 0) // 5, 50), config.seed))


def check_run_settings(run_dir: Path, settings: dict[str, Any], file_name: str = "config.json") -> None:
    """Record a run's settings in its folder, or refuse the folder if it holds a run of other settings.

    A run folder resumes the run it holds; starting another run there would mix two runs' checkpoints and
    logs. The first call writes ``run_dir/file_name``; later calls compare against it.

    Raises
    ------
    RunFolderError
        If the folder holds a run with other settings (the message lists the keys that differ).
    """
    path = run_dir / file_name
    current = json.loads(json.dumps(settings, default=str))
    if path.exists():
        saved = json.loads(path.read_text())
        if saved != current:
            diff = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            raise RunFolderError(f"{run_dir} holds a run with another configuration; use a new run folder "
                             f"(differences: {diff})")
    else:
        path.write_text(json.dumps(current, indent=2) + "\n")
