"""Stage 2 (transfer learning) and the fine-tuning shared with stage 3 (personalisation).

Start from a trained model, train its classifier head on new labelled faces with the feature blocks
frozen, then unfreeze the top blocks at a lower learning rate. Accuracy on a held-out part of the new
data, and optionally on FER2013 PrivateTest (how much the model forgot), is measured before and after.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib import config as cfg
from emoj_lib.cards import load_model, make_card, write_card
from emoj_lib.data.fer import FerData
from emoj_lib.data.pipeline import Augmentation, TrainingBatches, make_dataset
from emoj_lib.data.sampling import stratified_split
from emoj_lib.evaluation import predict_proba, split_metrics
from emoj_lib.labels import EMOTIONS
from emoj_lib.models import feature_blocks, head_layers

log = logging.getLogger(__name__)

REPLAY_TARGETS = ("model", "labels")
"""What replayed faces are trained towards (see :class:`TransferConfig`)."""


@dataclass
class TransferConfig:
    """How to adapt a trained model to new labelled faces.

    Attributes
    ----------
    new_head : bool
        Re-initialise the classifier head's weights (else continue from the trained head).
    head_epochs, head_learning_rate
        Phase 1: only the head trains.
    fine_tune_epochs, fine_tune_learning_rate, unfreeze_blocks
        Phase 2: the top ``unfreeze_blocks`` feature blocks and the head train at a lower rate.
    batch_size, augmentation, label_smoothing, weight_decay
        As in stage 1.
    holdout
        Fraction of the new faces held out to report accuracy (stratified), when the data has no
        ``PrivateTest``/``PublicTest`` split of its own.
    validation
        Fraction of the remaining faces used to pick the best epoch (0: keep the last epoch).
    replay
        Number of FER2013 Training faces mixed into the training faces, so that what the new data lacks
        (a class, a kind of face) is not forgotten. ``None`` (default): :func:`auto_replay` of the number of
        new training faces; ``0``: no replay. They are drawn per class (:func:`replay_counts`) so that the
        combined training set keeps FER2013's class shares, including the classes the new data lacks.
    replay_targets
        What the replayed faces are trained towards: ``"model"`` (default), the starting model's own
        probabilities (distillation, as in "learning without forgetting": the model is asked to keep
        answering as it did on faces like FER2013's); ``"labels"``: their FER2013 labels.
    seed
        Seeds the splits, the replay sample, shuffling and augmentation.
    """

    new_head: bool = False
    head_epochs: int = 5
    head_learning_rate: float = 1e-3
    fine_tune_epochs: int = 5
    fine_tune_learning_rate: float = 1e-4
    unfreeze_blocks: int = 2
    batch_size: int = 32
    augmentation: Augmentation = field(default_factory=Augmentation)
    label_smoothing: float = 0.0
    weight_decay: float = 1e-4
    holdout: float = 0.2
    validation: float = 0.15
    replay: int | None = None
    replay_targets: str = "model"
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.augmentation, dict):
            self.augmentation = Augmentation(**self.augmentation)
        if not 0 < self.holdout < 1 or not 0 <= self.validation < 1:
            raise ValueError("holdout must be in (0, 1) and validation in [0, 1)")
        if self.replay is not None and self.replay < 0:
            raise ValueError("replay must be >= 0 (0: no replay) or None (automatic)")
        if self.replay_targets not in REPLAY_TARGETS:
            raise ValueError(f"replay_targets must be one of {REPLAY_TARGETS}, got {self.replay_targets!r}")
        if self.head_epochs < 0 or self.fine_tune_epochs < 0 or self.head_epochs + self.fine_tune_epochs == 0:
            raise ValueError("head_epochs and fine_tune_epochs must be >= 0, and not both 0")

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as a JSON-ready dict."""
        d = asdict(self)
        d["augmentation"] = self.augmentation.to_dict()
        return d


@dataclass
class TransferResult:
    """What a transfer run produced: the model, before/after figures, logs and files."""

    model: Any
    before: dict[str, dict[str, float]]
    after: dict[str, dict[str, float]]
    history: pd.DataFrame
    model_path: Path
    card: dict[str, Any]
    holdout: FerData | None = None
    proba_before: dict[str, np.ndarray] = field(default_factory=dict)
    proba_after: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, np.ndarray] = field(default_factory=dict)

    def plot(self, data: str = "holdout", *, axes=None, title: str | None = None):
        """Draw before/after on one evaluation set from the predictions :func:`fine_tune` made.

        Parameters
        ----------
        data : str
            ``"holdout"`` (the new faces held out) or ``"reference"`` (e.g. FER2013 PrivateTest).
        axes : three matplotlib axes, optional
            Where to draw (default: a new figure).
        title : str, optional
            The figure's title (default: the set and its size).

        Returns
        -------
        emoj_lib.displays.ComparisonDisplay
            With the per-emotion table, the summary and the figure.
        """
        from emoj_lib.displays import ComparisonDisplay

        if data not in self.proba_before:
            raise KeyError(f"no {data!r} set in this transfer run; it has {sorted(self.proba_before)}")
        y = self.labels[data]
        return ComparisonDisplay.from_predictions(
            y, self.proba_before[data], self.proba_after[data], axes=axes,
            title=title or f"{data} ({len(y)} faces), before and after")

    def comparison(self) -> pd.DataFrame:
        """Return accuracy and macro F1 before and after, per evaluation set."""
        rows = []
        for name in self.before:
            for when, figures in (("before", self.before[name]), ("after", self.after[name])):
                rows.append({"data": name, "when": when, **figures})
        return pd.DataFrame(rows).set_index(["data", "when"])


REPLAY_MIN, REPLAY_MAX = 1000, 4000
"""Bounds of the automatic replay (see :func:`auto_replay`)."""

NO_GROUPS_WARNING = ("no groups: faces of one person (or frames of one sequence) may be on both sides of the "
                     "holdout, so held-out accuracy can be optimistic; give groups (a 'group' column, a "
                     "<group>/ folder level or a file-name pattern)")


def auto_replay(n_train: int) -> int:
    """Return the default number of replay faces: twice the new training faces, within 1,000..4,000."""
    return int(min(max(2 * n_train, REPLAY_MIN), REPLAY_MAX))


def holdout_split(data: FerData, fraction: float, seed: int,
                  groups: np.ndarray | None = None) -> tuple[FerData, FerData, str]:
    """Split new data into training and held-out faces; return both and how the split was made.

    Its own test split if it has one; else, with ``groups`` (one name per face), whole groups are held
    out (no group on both sides); else stratified at random (the method then carries a warning).
    """
    for test in ("PrivateTest", "PublicTest"):
        if (data.usage == test).any() and (data.usage != test).any():
            return data.subset(data.usage != test), data.subset(data.usage == test), f"the data's own {test} split"
    if groups is not None:
        rest, part = stratified_split(data.labels, fraction, seed, groups=groups)
        names = np.asarray(groups)
        return (data.subset(rest), data.subset(part),
                f"group-aware: {len(set(names[part]))} of {len(set(names))} groups held out")
    rest, part = stratified_split(data.labels, fraction, seed)
    return data.subset(rest), data.subset(part), f"random, stratified; {NO_GROUPS_WARNING}"


def recall_per_class(y_true: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Return ``recall_<emotion>`` for every emotion present in ``y_true``."""
    pred = np.asarray(proba).argmax(axis=1)
    return {f"recall_{EMOTIONS[c]}": float((pred[y_true == c] == c).mean()) for c in np.unique(y_true) if c >= 0}


def replay_counts(pool_labels: np.ndarray, new_labels: np.ndarray, n: int) -> np.ndarray:
    """Return how many replay faces to draw per class.

    The counts sum to ``n`` (or to the pool's size) and make the combined set (new faces plus replay)
    follow the pool's class shares as closely as ``n`` allows: classes the new data lacks get their full
    share, classes it over-represents get less.

    Parameters
    ----------
    pool_labels : np.ndarray
        Labels of the faces to replay from (e.g. FER2013 Training).
    new_labels : np.ndarray
        Labels of the new training faces.
    n : int
        Number of replay faces.

    Returns
    -------
    np.ndarray
        One count per emotion, never more than the pool holds of that class.
    """
    pool = np.bincount(pool_labels[pool_labels >= 0], minlength=len(EMOTIONS)).astype(float)
    new = np.bincount(new_labels[new_labels >= 0], minlength=len(EMOTIONS)).astype(float)
    n = int(min(n, pool.sum()))
    want = np.clip(pool / pool.sum() * (n + new.sum()) - new, 0, None)
    want = (want if want.sum() > 0 else pool) / (want if want.sum() > 0 else pool).sum() * n
    counts = np.minimum(np.floor(want), pool).astype(int)
    while counts.sum() < n:  # the rest one by one to the classes furthest below their share, with faces left
        gap = np.where(counts < pool, want - counts, -np.inf)
        counts[np.argmax(gap)] += 1
    return counts


def replay_sample(replay_data: FerData | None, n: int, seed: int,
                  new_labels: np.ndarray | None = None) -> FerData | None:
    """Return ``n`` faces from ``replay_data`` (default: FER2013 Training when present).

    With ``new_labels`` the faces are drawn per class (:func:`replay_counts`); else at random.
    """
    if n == 0:
        return None
    if replay_data is None:
        if not cfg.fer2013_path().is_file():
            log.warning("no replay: %s not found (classes the new data lacks may be forgotten)",
                        cfg.fer2013_path())
            return None
        from emoj_lib.data import read_fer_csv

        replay_data = read_fer_csv(cfg.fer2013_path(), usage=["Training"])
    rng = np.random.default_rng(seed)
    if new_labels is None:
        pick = rng.choice(len(replay_data), size=min(n, len(replay_data)), replace=False)
    else:
        counts = replay_counts(replay_data.labels, np.asarray(new_labels), n)
        pick = np.concatenate([rng.choice(np.flatnonzero(replay_data.labels == c), size=k, replace=False)
                               for c, k in enumerate(counts)])
    return replay_data.subset(np.sort(pick))


def fit_targets(base, train: FerData, replay: FerData | None, how: str) -> np.ndarray:
    """Return the soft targets of the combined training set: one-hot labels of the new faces, then the replay's.

    ``how`` is ``"model"`` (the starting model's probabilities on the replayed faces) or ``"labels"``.
    """
    eye = np.eye(len(EMOTIONS), dtype="float32")
    parts = [eye[train.labels]]
    if replay is not None:
        parts.append(predict_proba(base, replay.images).astype("float32") if how == "model" else eye[replay.labels])
    return np.concatenate(parts)


def _clone(model):
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _set_trainable(model, unfreeze_blocks: int) -> list[str]:
    """Freeze everything but the head and the top ``unfreeze_blocks`` blocks; return the trainable names.

    Batch normalisation inside the feature blocks stays frozen (in inference mode, keeping the statistics
    learnt on the large data set), as the Keras transfer-learning guide advises for small new data sets.
    """
    import keras

    for layer in model.layers:
        layer.trainable = False
    trainable = head_layers(model)
    blocks = feature_blocks(model)
    if unfreeze_blocks > 0:
        for block in blocks[-unfreeze_blocks:]:
            trainable += [layer for layer in block if not isinstance(layer, keras.layers.BatchNormalization)]
    for layer in trainable:
        layer.trainable = True
    return [layer.name for layer in trainable if layer.weights]


def _reinit_head(model, seed: int) -> None:
    import keras

    for i, layer in enumerate(head_layers(model)):
        for attr in ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"):
            var = getattr(layer, attr, None)
            init = getattr(layer, f"{attr}_initializer", None)
            if attr == "moving_variance":
                init = keras.initializers.Ones()
            if var is not None and init is not None:
                if hasattr(init, "seed"):
                    init = init.__class__.from_config({**init.get_config(), "seed": seed + i})
                var.assign(init(var.shape, dtype=var.dtype))


def _start_model(base, config: TransferConfig):
    """Return a copy of the base model to train (its head re-initialised if asked), seeds set."""
    import keras

    keras.utils.set_random_seed(config.seed)
    model = _clone(base)
    if config.new_head:
        _reinit_head(model, config.seed)
    return model


def _measure(model, sets: dict[str, FerData]) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Return the figures of each evaluation set (with per-class recall on ``reference``) and the probabilities."""
    out, probas = {}, {}
    for k, v in sets.items():
        proba = probas[k] = predict_proba(model, v.images)
        out[k] = split_metrics(v.labels, proba) | (recall_per_class(v.labels, proba) if k == "reference" else {})
    return out, probas


def _fit_phases(model, fit: FerData, targets: np.ndarray, val: FerData | None, config: TransferConfig,
                run_dir: Path, verbose: int,
                callbacks: list | None = None) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Run phase 1 (head) and phase 2 (top blocks) on ``fit`` towards ``targets``, watching ``val`` when given.

    Returns the epoch log and the trainable layers per phase.
    """
    from emoj_lib.training import fit_model

    ds = TrainingBatches(fit.images, targets, batch_size=config.batch_size, augment=config.augmentation,
                         seed=config.seed)
    vds = make_dataset(val.images, val.labels, batch_size=256) if val is not None else None
    monitor = "val_accuracy" if vds is not None else "accuracy"
    logs = []
    phases = [("head", config.head_epochs, config.head_learning_rate, 0),
              ("fine_tune", config.fine_tune_epochs, config.fine_tune_learning_rate, config.unfreeze_blocks)]
    trainable = {}
    for phase, epochs, lr, blocks in phases:
        if epochs == 0:
            continue
        trainable[phase] = _set_trainable(model, blocks)
        log_df = fit_model(model, ds, vds, run_dir=run_dir / phase, epochs=epochs, learning_rate=lr,
                           weight_decay=config.weight_decay, label_smoothing=config.label_smoothing,
                           monitor=monitor, verbose=verbose, callbacks=callbacks)
        logs.append(log_df.assign(phase=phase))
    for layer in model.layers:
        layer.trainable = True
    return pd.concat(logs, ignore_index=True), trainable


def _splits(data: FerData, config: TransferConfig, groups: np.ndarray | None):
    """Return training, held-out and validation faces (validation None) and how the holdout was made."""
    train, held, method = holdout_split(data, config.holdout, config.seed, groups)
    if not config.validation or len(train) < 20:
        return train, held, None, method
    train_groups = None
    if groups is not None:
        train_groups = groups[np.isin(data.rows, train.rows)] if data.rows is not None else None
        if train_groups is not None and len(set(train_groups)) < 2:
            train_groups = None
    rest, val_idx = stratified_split(train.labels, config.validation, config.seed + 1, groups=train_groups)
    return train.subset(rest), held, train.subset(val_idx), method


def _data_record(data: FerData, parts: tuple[FerData, FerData | None, FerData, FerData | None, FerData | None],
                 holdout_method: str, grouped: bool) -> dict[str, Any]:
    """Return what the card records of ``data`` and its (train, validation, holdout, replay, reference) parts."""
    from emoj_lib.training import data_fingerprint

    train, val, held, replay, reference = parts
    return {"source": data.source, "faces": len(data), "sha256": data_fingerprint(data),
            "train_faces": len(train), "validation_faces": 0 if val is None else len(val),
            "holdout_faces": len(held), "holdout": holdout_method, "groups": grouped,
            "replay_faces": 0 if replay is None else len(replay),
            "replay_per_class": None if replay is None else
            {EMOTIONS[c]: int(k) for c, k in enumerate(np.bincount(replay.labels, minlength=len(EMOTIONS)))},
            "reference": None if reference is None else {"source": reference.source, "faces": len(reference)}}


def fine_tune(model_path: str | Path, data: FerData, config: TransferConfig | None = None, *,
              run_dir: str | Path | None = None, reference: FerData | None = None,
              replay_data: FerData | None = None, stage: int = 2, name: str | None = None, verbose: int = 2,
              groups: np.ndarray | None = None, callbacks: list | None = None) -> TransferResult:
    """Adapt a trained model to new labelled faces (stage 2; stage 3 calls it too), replaying FER2013.

    Parameters
    ----------
    model_path : str or Path
        The starting model (``.keras`` with its card).
    data : FerData
        The new labelled faces (e.g. from :func:`~emoj_lib.data.folders.read_image_folder`).
    config : TransferConfig, optional
        Phases, learning rates, splits and replay.
    run_dir : str or Path, optional
        Run folder (default ``runs/stage<stage>-<model>``); the model is saved there as ``model.keras``.
    reference : FerData, optional
        A fixed set measured before and after, with per-class recall (e.g. FER2013 PrivateTest).
    replay_data : FerData, optional
        Faces to sample the replay from (default: FER2013 Training, when present).
    stage, name, verbose
        Recorded in the card (2: transfer, 3: personalisation); the card's name (default: the run
        folder's); 0 silent, 1 progress bars, 2 one line per epoch.
    groups : np.ndarray, optional
        One group per face (e.g. the person, :mod:`emoj_lib.data.people`): holdout and validation keep
        whole groups on one side. Without groups a warning is logged and recorded in the card.

    Returns
    -------
    TransferResult
        The adapted model, before/after figures, the epoch log, the saved model and its card
        (``data.holdout`` says how the holdout was made).
    """
    from emoj_lib.training import check_run_settings, data_fingerprint

    config = config or TransferConfig()
    t0 = time.perf_counter()
    labelled = data.labels >= 0
    data = data.subset(labelled)
    groups = None if groups is None else np.asarray(groups).astype(str)[labelled]
    base, base_card = load_model(model_path)
    run_dir = Path(run_dir or cfg.RUNS_DIR / f"stage{stage}-{Path(model_path).stem}")
    run_dir.mkdir(parents=True, exist_ok=True)
    check_run_settings(run_dir, {"base_model": str(model_path), "data_sha256": data_fingerprint(data),
                                 "stage": stage, **config.to_dict()}, "transfer.json")
    train, held, val, holdout_method = _splits(data, config, groups)
    if groups is None:
        log.warning("%s: %s", data.source, NO_GROUPS_WARNING)
    replay = replay_sample(replay_data, auto_replay(len(train)) if config.replay is None else config.replay,
                           config.seed, train.labels)
    fit = train if replay is None else FerData.concat([train, replay])
    targets = fit_targets(base, train, replay, config.replay_targets)

    sets = {"holdout": held} | ({"reference": reference} if reference is not None else {})
    before, proba_before = _measure(base, sets)
    model = _start_model(base, config)
    history, trainable = _fit_phases(model, fit, targets, val, config, run_dir, verbose, callbacks)
    after, proba_after = _measure(model, sets)
    card = make_card(
        name=name or run_dir.name, stage=stage,
        architecture=base_card.get("architecture"), hyperparameters=base_card.get("hyperparameters"),
        parameters=int(model.count_params()),
        base_model={"path": str(model_path), "name": base_card.get("name"), "date": base_card.get("date")},
        data=_data_record(data, (train, val, held, replay, reference), holdout_method, groups is not None),
        training={**config.to_dict(), "trainable_layers": trainable, "epochs_run": len(history),
                  "wall_seconds": round(time.perf_counter() - t0, 1)},
        metrics={"before": before, "after": after},
    )
    model_path_out = run_dir / "model.keras"
    model.save(model_path_out)
    write_card(model_path_out, card)
    return TransferResult(model, before, after, history, model_path_out, card, held, proba_before, proba_after,
                          {k: v.labels for k, v in sets.items()})

