"""A run folder's checkpoints: the epoch log, the best weights and the backup of the full training state.

A run may be killed at any instant (a session that ends, a full disk, Ctrl-C), including while it writes,
so every file it resumes from is replaced whole or not at all:

- ``backup/`` holds the state of the last finished epoch: ``latest.weights.h5`` (the weights and the
  optimizer's state), ``seed_states.json`` (the layers' random-number states, so dropout goes on with the
  masks an uninterrupted run draws) and ``training_metadata.json`` (the epoch to resume from). A new
  backup is written whole into ``backup.new/`` (the metadata last, flushed to disk), then swapped in with
  two renames; :func:`recover_backup` finishes or undoes a swap that a kill interrupted. The names are
  those of Keras' ``BackupAndRestore``, so a run folder it wrote still resumes.
- ``best.weights.h5`` is written to a temporary name and renamed.
- ``log.csv`` gets one line per epoch; a line a kill cut short is removed before the run goes on.

The backup of an epoch is written after its log line and best weights, so a run killed in between does
that epoch again, with the same batches, and its records are replaced by identical ones.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from emoj_lib.errors import RunFolderError
from emoj_lib.journal.files import fsync_dir, fsync_file, os_errors

log = logging.getLogger(__name__)

BACKUP = "backup"
WEIGHTS = "latest.weights.h5"
METADATA = "training_metadata.json"
SEED_STATES = "seed_states.json"


def read_log(run_dir: str | Path) -> pd.DataFrame:
    """Return a run's epoch log (one row per finished epoch, the last record of a repeated epoch wins)."""
    path = Path(run_dir) / "log.csv"
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    df = pd.read_csv(path)
    return df.drop_duplicates("epoch", keep="last").reset_index(drop=True) if "epoch" in df else df


def trim_log(run_dir: str | Path) -> None:
    """Remove the last line of a run's ``log.csv`` if a kill cut it short (no final newline)."""
    path = Path(run_dir) / "log.csv"
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        keep = data.rfind(b"\n") + 1
        log.warning("%s: removing an epoch record cut short (%r)", path, data[keep:][:60])
        with open(path, "r+b") as f:
            f.truncate(keep)


def recover_backup(run_dir: str | Path) -> None:
    """Finish or undo a backup swap that a kill interrupted, and remove a half-written backup.

    Afterwards ``backup/`` is a whole backup or absent, and ``backup.new/`` and ``backup.old/`` are gone.
    """
    run_dir = Path(run_dir)
    backup, new, old = run_dir / BACKUP, run_dir / f"{BACKUP}.new", run_dir / f"{BACKUP}.old"
    if not backup.exists():
        if (new / METADATA).is_file():  # the new backup was whole: the kill came between the two renames
            new.replace(backup)
        elif old.is_dir():
            old.replace(backup)
    for leftover in (new, old):
        if leftover.exists():
            shutil.rmtree(leftover)


def resume_epoch(run_dir: str | Path) -> int:
    """Return the epoch (0-based) a run folder resumes from: the one after its backed-up epoch, else 0.

    Call :func:`recover_backup` first if a kill may have interrupted the run.
    """
    backup = Path(run_dir) / BACKUP
    meta = backup / METADATA
    if not (backup / WEIGHTS).is_file() or not meta.is_file():
        return 0
    return int(json.loads(meta.read_text())["epoch"])


def save_weights_atomically(model, path: str | Path) -> None:
    """Save a model's weights to ``path`` (a ``.weights.h5`` file) through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(f".partial.{path.name}")
    with os_errors(path, "write"):
        model.save_weights(tmp)
        fsync_file(tmp)
        tmp.replace(path)


def _seed_generators(model) -> list:
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _restore(model, run_dir: Path, start: int) -> None:
    """Load the backup of a run resuming at epoch ``start``: weights, optimizer state, random states."""
    backup = run_dir / BACKUP
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    try:
        model.load_weights(backup / WEIGHTS)
    except Exception as e:
        raise RunFolderError(f"{backup / WEIGHTS}: cannot restore the backup of epoch {start} ({e}); "
                             f"start the run in a new folder") from e
    path = backup / SEED_STATES
    saved = json.loads(path.read_text()) if path.is_file() else {}
    states = _seed_generators(model)
    if saved.get("epoch") != start or len(saved.get("states", [])) != len(states):
        log.warning("%s: the random states saved do not match the backup; dropout draws anew", run_dir)
        return
    for v, value in zip(states, saved["states"], strict=True):
        v.assign(np.asarray(value, dtype=v.dtype))


def _write(model, run_dir: Path, epochs_done: int) -> None:
    """Write the backup of a run after ``epochs_done`` epochs whole into ``backup.new/``, then swap it in."""
    backup, new, old = run_dir / BACKUP, run_dir / f"{BACKUP}.new", run_dir / f"{BACKUP}.old"
    with os_errors(new, "write the training backup"):  # a full disk: one line, and the last backup stays
        if new.exists():
            shutil.rmtree(new)
        new.mkdir()
        model.save_weights(new / WEIGHTS)
        states = [np.asarray(v.numpy()).tolist() for v in _seed_generators(model)]
        (new / SEED_STATES).write_text(json.dumps({"epoch": epochs_done, "states": states}))
        (new / METADATA).write_text(json.dumps({"epoch": epochs_done, "batch": 0}))  # last: marks it whole
        for name in (WEIGHTS, SEED_STATES, METADATA):
            fsync_file(new / name)
        fsync_dir(new)
    if backup.exists():
        backup.replace(old)
    new.replace(backup)
    fsync_dir(run_dir)
    if old.exists():
        shutil.rmtree(old)


def training_backup(run_dir: str | Path, start: int):
    """Return the Keras callback that restores a run's backup when it resumes and writes one after every epoch.

    Parameters
    ----------
    run_dir : str or Path
        The run folder.
    start : int
        The epoch the run resumes from (:func:`resume_epoch`; 0 for a new run), given to ``fit`` as
        ``initial_epoch``.

    Notes
    -----
    Put it after the callbacks that write the epoch's log line and best weights. The backup is removed
    when the fit ends normally (all epochs run or an early stop), not when it is interrupted.
    """
    import keras

    run_dir = Path(run_dir)

    class TrainingBackup(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if start:
                _restore(self.model, run_dir, start)

        def on_epoch_end(self, epoch, logs=None):
            _write(self.model, run_dir, epoch + 1)

        def on_train_end(self, logs=None):
            if (run_dir / BACKUP).exists():
                shutil.rmtree(run_dir / BACKUP)

    return TrainingBackup()
