"""Stage 3: a personal model per user, fine-tuned from the corrections in their journal.

A journal folder holds ``models/personal-v<N>.keras`` (with cards), one version per personalisation; the
journal app uses the latest (:func:`current_model`), else the shipped model. Personalising fine-tunes the
user's current model on the faces they labelled (confirmed or corrected), top block unfrozen at a low
learning rate, with a replay sample of FER2013 Training mixed in so that general skill is not forgotten;
a part of the user's faces is held out to report accuracy before and after. Earlier versions are kept.
Everything stays in the journal folder, readable by its owner only.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cards import write_card
from emoj_lib.data.fer import FerData
from emoj_lib.errors import EmojError
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
    """Return the model a journal uses: its latest personal model, else the shipped model."""
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

    Returns
    -------
    TransferResult
        With ``model_path`` = ``<journal>/models/personal-v<N>.keras`` (its card beside it) and the
        before/after figures on the held-out entries (``holdout``) and on ``reference``.
    """
    faces = journal.labelled_faces()
    if len(faces) < min_labelled:
        raise PersonalizationError(
            f"only {len(faces)} labelled journal entr{'y' if len(faces) == 1 else 'ies'} in {journal.folder}; "
            f"personalisation needs at least {min_labelled} (confirm or correct more entries first)")
    config = config or default_personal_config(len(faces))
    if config.replay and replay_data is None and cfg.fer2013_path().is_file():
        from emoj_lib.data import read_fer_csv

        replay_data = read_fer_csv(cfg.fer2013_path(), usage=["Training"])
    base = Path(base_model) if base_model is not None else current_model(journal.folder)
    versions = personal_versions(journal.folder)
    version = versions[-1][0] + 1 if versions else 1
    models = personal_models_dir(journal.folder)
    models.mkdir(mode=0o700, exist_ok=True)
    os.chmod(models, 0o700)
    name = f"personal-v{version}"
    result = fine_tune(base, faces, config, run_dir=models / "runs" / name, reference=reference,
                       replay_data=replay_data, stage=3, name=name, verbose=verbose)
    dest = models / f"{name}.keras"
    shutil.copyfile(result.model_path, dest)
    card = dict(result.card, version=version, journal=str(journal.folder))
    write_card(dest, card)
    for path in (dest, dest.with_suffix(".json")):
        os.chmod(path, 0o600)
    result.model_path, result.card = dest, card
    return result
