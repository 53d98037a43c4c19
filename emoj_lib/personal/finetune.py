"""Stage 3 for large journals: a personal model fine-tuned from the corrections in a journal.

A journal folder holds ``models/personal-v<N>.keras`` (with cards), one version per personalisation.
Personalising fine-tunes the user's current model on the faces they labelled (confirmed or corrected), top
block unfrozen at a low learning rate, with a replay sample of FER2013 Training mixed in so that general
skill is not forgotten; a part of the user's faces is held out. On those held-out faces the base model, the
base model with the adapter (:mod:`emoj_lib.personal.adapter`, fitted on the other faces), the fine-tuned
model and the fine-tuned model with the adapter are compared, and the card records which one is used and
the figures that chose it (:func:`emoj_lib.personal.journal_model` reads that choice). The card also lists
the entries the version was made from (a personal base's entries included): deleting one of them removes
the version (:func:`forget_entry`, called by :meth:`~emoj_lib.journal.Journal.delete`). The model and its
card are installed atomically (written into a temporary folder, fsynced, renamed: card first, the model
last, so a version exists only once both are complete) and the card records the model file's SHA-256.
Everything under the journal folder, run folders included, is readable by its owner only whatever the
umask. Earlier versions are kept until an entry they were made from is deleted.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from emoj_lib import config as cfg
from emoj_lib.cards import read_card, write_card
from emoj_lib.data.fer import FerData
from emoj_lib.errors import EmojError
from emoj_lib.journal.files import fsync_dir, fsync_file, make_private, private_dir
from emoj_lib.transfer import TransferConfig, TransferResult, fine_tune

MIN_LABELLED = 20
"""Fewest labelled journal entries a personalisation accepts."""

_VERSION = re.compile(r"^personal-v(\d+)\.keras$")


class PersonalizationError(EmojError):
    """Personalisation cannot run (too few labelled entries)."""


def personal_models_dir(journal_folder: str | Path) -> Path:
    """Return the folder of a journal's personal models (``<journal>/models``)."""
    return Path(journal_folder) / "models"


def personal_versions(journal_folder: str | Path) -> list[tuple[int, Path]]:
    """Return ``(version, path)`` of every personal model of a journal, oldest first."""
    folder = personal_models_dir(journal_folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _VERSION.match(p.name))]
    return sorted(found)


def current_model(journal_folder: str | Path | None = None) -> Path:
    """Return the journal's latest personal model, else the shipped model (see also :func:`journal_model`)."""
    from emoj_lib.recognizer import default_model_path

    versions = personal_versions(journal_folder or cfg.journal_dir())
    return versions[-1][1] if versions else default_model_path()


def default_personal_config(n_labelled: int, seed: int = 0) -> TransferConfig:
    """Return stage-3 settings suited to ``n_labelled`` faces: gentle, with twice as many replay faces."""
    return TransferConfig(head_epochs=3, fine_tune_epochs=6, head_learning_rate=5e-4,
                          fine_tune_learning_rate=1e-4, unfreeze_blocks=1, batch_size=32, holdout=0.25,
                          validation=0.15 if n_labelled >= 80 else 0.0, replay=min(2 * n_labelled, 4000),
                          seed=seed)


def personalize(
    journal,
    *,
    config: TransferConfig | None = None,
    min_labelled: int = MIN_LABELLED,
    replay_data: FerData | None = None,
    reference: FerData | None = None,
    base_model: str | Path | None = None,
    verbose: int = 0,
    callbacks: list | None = None,
) -> TransferResult:
    """Fine-tune the user's current model on their labelled journal entries; save it as a new version.

    Parameters
    ----------
    journal : emoj_lib.journal.Journal
        The user's journal.
    config : TransferConfig, optional
        Stage-3 settings (default :func:`default_personal_config`).
    min_labelled : int
        Refuse with :class:`PersonalizationError` below this many labelled entries.
    replay_data : FerData, optional
        Faces to replay (default: FER2013 Training from the shared data, when present).
    reference : FerData, optional
        A fixed set measured before and after (e.g. FER2013 PrivateTest).
    base_model : str or Path, optional
        The model to start from (default: the journal's :func:`current_model`).
    verbose : int
        0 silent, 1 progress bars, 2 one line per epoch.
    callbacks : list, optional
        More Keras callbacks for every training phase (e.g. a progress bar).

    Returns
    -------
    TransferResult
        With ``model_path`` = ``<journal>/models/personal-v<N>.keras`` (its card beside it) and the
        before/after figures on the held-out entries (``holdout``) and on ``reference``.
    """
    read = journal.read(on_error="raise")
    faces = read.labelled_faces(on_error="raise")
    if len(faces) < min_labelled:
        raise PersonalizationError(
            f"only {len(faces)} labelled journal entr{'y' if len(faces) == 1 else 'ies'} in {journal.folder}; "
            f"personalisation needs at least {min_labelled} (confirm or correct more entries first)")
    config = config or default_personal_config(len(faces))
    base = Path(base_model) if base_model is not None else _base_model(journal.folder)
    versions = personal_versions(journal.folder)
    version = versions[-1][0] + 1 if versions else 1
    models = personal_models_dir(journal.folder)
    private_dir(models)
    private_dir(models / "runs")
    name = f"personal-v{version}"
    run_dir = models / "runs" / name
    private_dir(run_dir)
    try:
        result = fine_tune(base, faces, config, run_dir=run_dir, reference=reference,
                           replay_data=replay_data, stage=3, name=name, verbose=verbose, callbacks=callbacks)
    finally:
        make_private(run_dir)
    choice = choose_personal(base, result, faces)
    card = dict(result.card, version=version, journal=str(journal.folder), choice=choice)
    entries = _made_from(base, read.entries.index[faces.rows].tolist())
    if entries is not None:
        card["entries"] = entries
    dest = install_model(result.model_path, card, models / f"{name}.keras")
    result.model_path, result.card = dest, read_card(dest)
    return result


def models_made_from(journal_folder: str | Path, entry_id: str) -> list[Path]:
    """Return the journal's personal models made from an entry (``.keras`` paths, oldest first).

    A version was made from the entry if its card's ``entries`` lists it; a card without that list (made
    before emoJ recorded it) or that cannot be read counts as made from it.
    """
    from emoj_lib.cards import ModelCardError

    found = []
    for _, path in personal_versions(journal_folder):
        try:
            made_from = read_card(path).get("entries")
        except (ModelCardError, OSError):
            made_from = None
        if not isinstance(made_from, list) or entry_id in made_from:
            found.append(path)
    return found


def forget_entry(journal_folder: str | Path, entry_id: str) -> list[Path]:
    """Remove every personal model of a journal made from an entry (:func:`models_made_from`); return them.

    The model, its card and its run folder (``models/runs/personal-v<N>``, which holds checkpoints) are
    removed; the other versions stay. :meth:`~emoj_lib.journal.Journal.delete` calls it.

    Parameters
    ----------
    journal_folder : str or Path
        The journal folder.
    entry_id : str
        The entry being deleted.

    Returns
    -------
    list of Path
        The ``.keras`` paths removed, oldest first (empty when no version was made from the entry).

    """
    removed = models_made_from(journal_folder, entry_id)
    for path in removed:
        path.unlink(missing_ok=True)
        path.with_suffix(".json").unlink(missing_ok=True)
        shutil.rmtree(path.parent / "runs" / path.stem, ignore_errors=True)
    return removed


def _made_from(base: Path, entry_ids: list[str]) -> list[str] | None:
    """Return the entries a new version is made from: its own and a personal base's (None: unknown)."""
    base_card = read_card(base)
    if base_card.get("stage") != 3:
        return entry_ids
    inherited = base_card.get("entries")
    if not isinstance(inherited, list):
        return None  # a personal base from before the list: counts as made from every entry
    own = set(entry_ids)
    return entry_ids + [e for e in inherited if e not in own]


def _base_model(journal_folder: Path) -> Path:
    from emoj_lib.personal.journal import journal_model

    return journal_model(journal_folder)[0]


def install_model(model_file: str | Path, card: dict[str, Any], dest: str | Path) -> Path:
    """Install a model and its card at ``dest`` atomically, owner-only; the card records the model's SHA-256.

    Both are written into a temporary folder beside ``dest`` (0o700), fsynced, then renamed into place,
    the card first and the model last: a reader sees the version only once both are complete. A crash
    leaves at most a ``.install-*`` folder, removed by the next install.
    """
    dest = Path(dest)
    for stale in dest.parent.glob(".install-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".install-", dir=dest.parent))
    try:
        os.chmod(tmp, 0o700)
        model_tmp = tmp / dest.name
        shutil.copyfile(model_file, model_tmp)
        os.chmod(model_tmp, 0o600)
        card_tmp = write_card(model_tmp, card)  # records the model file's SHA-256 (model_sha256)
        os.chmod(card_tmp, 0o600)
        for path in (model_tmp, card_tmp, tmp):
            fsync_file(path)
        os.replace(card_tmp, dest.with_suffix(".json"))
        os.replace(model_tmp, dest)
        fsync_dir(dest.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def choose_personal(base_model: str | Path, result: TransferResult, faces: FerData) -> dict[str, Any]:
    """Choose between the adapter, the fine-tuned model or both, on the user's held-out entries.

    The adapter is fitted on the entries the fine-tuning trained on (``faces`` minus ``result.holdout``)
    and each candidate is scored on the held-out entries; the best accuracy wins (ties: the adapter on the
    base model, the simplest). Returns the card's ``choice``: ``chosen``, ``use_finetuned``, ``adapter``,
    held-out ``accuracy`` and ``ece`` per candidate, and ``holdout_faces``.
    """
    from emoj_lib.cards import load_model
    from emoj_lib.personal.adapter import expected_calibration_error, fit_adapter
    from emoj_lib.personal.features import embed

    held = result.holdout
    in_held = np.isin(faces.rows, held.rows) if held is not None and held.rows is not None and \
        faces.rows is not None else np.zeros(len(faces), bool)
    train = np.flatnonzero(~in_held & (faces.labels >= 0))
    if held is None or len(held) == 0 or len(train) == 0:
        return {"chosen": "finetuned", "use_finetuned": True, "adapter": True, "reason": "no held-out entries"}
    candidates: dict[str, np.ndarray] = {}
    for label, model in (("base", load_model(base_model)[0]), ("finetuned", result.model)):
        p_train, f_train = embed(model, faces.images[train])
        p_held, f_held = embed(model, held.images)
        adapter = fit_adapter(f_train, faces.labels[train], p_train)
        candidates[label] = p_held
        candidates[f"{label}+adapter"] = adapter.transform(p_held, f_held)
    accuracy = {k: round(float((p.argmax(1) == held.labels).mean()), 4) for k, p in candidates.items()}
    ece = {k: round(expected_calibration_error(p, held.labels), 4) for k, p in candidates.items()}
    order = ["base+adapter", "finetuned", "finetuned+adapter", "base"]
    chosen = max(order, key=lambda k: (accuracy[k], -order.index(k)))
    return {"chosen": chosen, "use_finetuned": chosen.startswith("finetuned"),
            "adapter": chosen.endswith("+adapter"), "accuracy": accuracy, "ece": ece,
            "holdout_faces": len(held), "adapter_faces": len(train),
            "rule": "best held-out accuracy; ties: base+adapter, finetuned, finetuned+adapter, base"}
