"""Hyperparameter tuning with keras-tuner, on one machine or across several (chief/worker).

:class:`EmojHyperModel` searches the ``emojnet`` family: depth, width, convolutions per block, dropout,
dense width, learning rate, label smoothing (in ``build``) and augmentation strength and batch size (in
``fit``). Every hyperparameter is declared with a default, so ``build(HyperParameters())`` is the default
network. :func:`make_tuner` picks Hyperband, Bayesian optimisation or random search.

Distributed tuning uses keras-tuner's own chief/worker mode: every process runs the same search with the
same ``directory`` and ``project_name``; ``KERASTUNER_ORACLE_IP``/``KERASTUNER_ORACLE_PORT`` say where the
chief listens and ``KERASTUNER_TUNER_ID`` names the process (``chief``, or ``tuner0``, ``tuner1``... for
workers). The chief runs the oracle (a gRPC server) and trains nothing; workers ask it for trials. See
:func:`distributed_env` and ``emoj tune --role``.
"""

from __future__ import annotations

import csv
import fcntl
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib.data.pipeline import Augmentation, TrainingBatches, make_dataset

TUNERS = ("hyperband", "bayesian", "random")
OBJECTIVE = "val_accuracy"


def _kt():
    import keras_tuner

    return keras_tuner


def hypermodel_class():
    """Return the :class:`EmojHyperModel` class (defined lazily: keras-tuner imports TensorFlow)."""
    kt = _kt()

    class EmojHyperModel(kt.HyperModel):
        """The emojnet search space (see the module docstring).

        Parameters
        ----------
        seed : int
            Seeds shuffling and augmentation of every trial.
        max_depth : int
            Largest number of blocks searched.
        """

        def __init__(self, seed: int = 0, max_depth: int = 5, **kwargs) -> None:
            super().__init__(**kwargs)
            self.seed = seed
            self.max_depth = max_depth

        def build(self, hp):
            import keras

            from emoj_lib.models import build_model

            model = build_model(
                "emojnet",
                depth=hp.Int("depth", 2, self.max_depth, default=min(4, self.max_depth)),
                width=hp.Choice("width", [16, 32, 48, 64], default=32),
                convs_per_block=hp.Int("convs_per_block", 1, 3, default=2),
                dropout=hp.Float("dropout", 0.0, 0.6, step=0.1, default=0.4),
                dense=hp.Choice("dense", [64, 128, 256, 512], default=256),
            )
            model.compile(
                optimizer=keras.optimizers.AdamW(
                    learning_rate=hp.Float("learning_rate", 1e-4, 3e-3, sampling="log", default=1e-3),
                    weight_decay=1e-4),
                loss=keras.losses.CategoricalCrossentropy(
                    label_smoothing=hp.Float("label_smoothing", 0.0, 0.2, step=0.05, default=0.1)),
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
            )
            return model

        def fit(self, hp, model, x, y, validation_data, **kwargs):
            strength = hp.Float("augment_strength", 0.0, 1.5, step=0.25, default=1.0)
            batch_size = hp.Choice("batch_size", [32, 64, 128], default=64)
            aug = Augmentation().scaled(strength) if strength else None
            batches = TrainingBatches(x, y, batch_size=batch_size, augment=aug, seed=self.seed)
            vx, vy = validation_data
            vds = make_dataset(vx, vy, batch_size=256)
            kwargs.pop("batch_size", None)
            return model.fit(batches.stream(), steps_per_epoch=batches.steps_per_epoch, validation_data=vds,
                             shuffle=False, **kwargs)

    return EmojHyperModel


def _record_trial(tuner: Any, trial: Any) -> None:
    """Append a finished trial, the process that ran it and its score to ``trials_by_tuner.csv``.

    The file is locked while written: in a distributed search every worker appends to it.
    """
    path = Path(tuner.project_dir) / "trials_by_tuner.csv"
    score = trial.score if trial.score is not None else ""
    with open(path, "a", newline="") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        csv.writer(fh).writerow([trial.trial_id, tuner.tuner_id, score])


def _tuner_class(kind: str) -> type:
    """Return keras-tuner's tuner class ``kind``, extended to record which process ran each trial."""
    kt = _kt()
    base = {"hyperband": kt.Hyperband, "bayesian": kt.BayesianOptimization, "random": kt.RandomSearch}[kind]

    def on_trial_end(self: Any, trial: Any) -> None:
        base.on_trial_end(self, trial)
        _record_trial(self, trial)

    doc = "A keras-tuner tuner that records which process ran each trial (``trials_by_tuner.csv``)."
    return type(f"Emoj{base.__name__}", (base,), {"on_trial_end": on_trial_end, "__doc__": doc})


def make_tuner(
    kind: str = "hyperband",
    *,
    directory: str | Path,
    project_name: str = "emojnet",
    max_trials: int = 10,
    max_epochs: int = 10,
    seed: int = 0,
    overwrite: bool = False,
    max_depth: int = 5,
    distribution_strategy=None,
):
    """Return a keras-tuner tuner over :class:`EmojHyperModel`, maximising validation accuracy.

    Parameters
    ----------
    kind : {"hyperband", "bayesian", "random"}
        The search algorithm.
    directory, project_name : str
        Where trials are written (the same for every process of a distributed search).
    max_trials : int
        Number of trials (Bayesian, random); Hyperband's budget is set by ``max_epochs``.
    max_epochs : int
        Hyperband's largest epoch budget per trial.
    seed : int
        Seeds the search and every trial.
    overwrite : bool
        Start afresh instead of resuming the project.
    max_depth : int
        Largest depth searched.
    distribution_strategy : tf.distribute.Strategy, optional
        Data-parallel trials, e.g. ``tf.distribute.MirroredStrategy()`` on a multi-GPU machine.
    """
    if kind not in TUNERS:
        raise ValueError(f"tuner must be one of {TUNERS}, got {kind!r}")
    kt = _kt()
    hypermodel = hypermodel_class()(seed=seed, max_depth=max_depth)
    common = {"objective": kt.Objective(OBJECTIVE, "max"), "seed": seed, "directory": str(directory),
              "project_name": project_name, "overwrite": overwrite,
              "distribution_strategy": distribution_strategy}
    cls = _tuner_class(kind)
    if kind == "hyperband":
        return cls(hypermodel, max_epochs=max_epochs, factor=3, **common)
    return cls(hypermodel, max_trials=max_trials, **common)


def run_search(tuner, train, val, *, epochs: int = 10, verbose: int = 0) -> Any:
    """Run a search on ``FerData`` training and validation faces; return the tuner.

    ``epochs`` is the per-trial epoch count (Hyperband sets its own). In a distributed run the chief
    blocks here until the search is over and the workers have left.
    """
    kwargs = {"verbose": verbose}
    if not isinstance(tuner, _kt().Hyperband):
        kwargs["epochs"] = epochs
    tuner.search(train.images, train.labels, validation_data=(val.images, val.labels), **kwargs)
    return tuner


def results_table(tuner) -> pd.DataFrame:
    """Return every finished trial: its id, score, status and hyperparameter values, best first."""
    rows = []
    for trial in tuner.oracle.trials.values():
        rows.append({"trial": trial.trial_id, "score": trial.score, "status": str(trial.status),
                     **trial.hyperparameters.values})
    df = pd.DataFrame(rows)
    if len(df):
        df = df.sort_values("score", ascending=False, na_position="last").reset_index(drop=True)
    return df


def trials_by_tuner(directory: str | Path, project_name: str) -> pd.DataFrame:
    """Return which process (tuner id) ran each trial, from ``trials_by_tuner.csv``."""
    path = Path(directory) / project_name / "trials_by_tuner.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["trial", "tuner_id", "score"])
    return pd.read_csv(path, names=["trial", "tuner_id", "score"], dtype={"trial": str})


def plot_results(results: pd.DataFrame, *, ax=None, param: str = "learning_rate"):
    """Draw the score of every trial against one hyperparameter (colour: depth); return the axes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    sns.scatterplot(data=results, x=param, y="score", hue="depth" if "depth" in results else None, ax=ax)
    if param == "learning_rate":
        ax.set_xscale("log")
    ax.set_ylabel(OBJECTIVE)
    return ax


def best_train_config(tuner, *, epochs: int = 40, seed: int = 0, **overrides):
    """Return a :class:`~emoj_lib.training.TrainConfig` that retrains the best trial's configuration."""
    from emoj_lib.training import TrainConfig

    hp = tuner.get_best_hyperparameters(1)[0].values
    arch = {k: hp[k] for k in ("depth", "width", "convs_per_block", "dropout", "dense") if k in hp}
    return TrainConfig(architecture="emojnet", hyperparameters=arch, epochs=epochs, seed=seed,
                       batch_size=int(hp.get("batch_size", 64)), learning_rate=float(hp.get("learning_rate", 1e-3)),
                       label_smoothing=float(hp.get("label_smoothing", 0.1)),
                       augmentation=Augmentation().scaled(float(hp.get("augment_strength", 1.0))), **overrides)


def distributed_env(role: str, *, oracle_ip: str, oracle_port: int, tuner_id: str | None = None) -> dict[str, str]:
    """Return the environment variables that make a process the chief or a worker of a search.

    Parameters
    ----------
    role : {"chief", "worker"}
        The chief runs the oracle; workers run trials.
    oracle_ip, oracle_port
        Where the chief listens (the chief binds it; workers connect to it).
    tuner_id : str, optional
        A worker's unique id (default ``tuner<pid>``); the chief's is ``chief``.
    """
    if role not in ("chief", "worker"):
        raise ValueError(f"role must be 'chief' or 'worker', got {role!r}")
    tid = "chief" if role == "chief" else (tuner_id or f"tuner{os.getpid()}")
    if role == "worker" and "chief" in tid:
        raise ValueError(f"a worker's id must not contain 'chief': {tid!r}")
    return {"KERASTUNER_ORACLE_IP": oracle_ip, "KERASTUNER_ORACLE_PORT": str(oracle_port),
            "KERASTUNER_TUNER_ID": tid}


def summary_json(tuner) -> str:
    """Return the best trial's score and hyperparameters as JSON."""
    best = tuner.oracle.get_best_trials(1)
    if not best:
        return json.dumps({"best": None})
    t = best[0]
    return json.dumps({"best": {"trial": t.trial_id, "score": t.score, "hyperparameters": t.hyperparameters.values}},
                      default=lambda o: o.item() if isinstance(o, np.generic) else str(o))
