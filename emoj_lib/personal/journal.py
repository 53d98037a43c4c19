"""Which model a journal uses, its live adapter, and the "your model" figures.

- :func:`journal_model` is the one rule for the model a journal reads faces with, and its version string;
- :class:`JournalAdapter` is the journal's :class:`~emoj_lib.personal.adapter.PrototypeAdapter`, recomputed
  from the journal's current labelled entries whenever ``journal.csv`` changes (size, modification time or
  file identity), so that a save, a correction or a deletion shows in the very next prediction. It lives in
  memory only: nothing derived from the faces is written anywhere;
- :func:`journal_recognizer` is a :class:`~emoj_lib.recognizer.Recognizer` with both;
- :func:`your_model` gives the app its "your model" view.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoj_lib.labels import EMOTIONS
from emoj_lib.personal.adapter import PrototypeAdapter, adapt_probabilities, fit_adapter

MODEL_ENV = "EMOJ_MODEL"
"""Environment variable naming the model journals use when they have no chosen personal model."""


def model_version(card: dict[str, Any]) -> str:
    """Return the version string recorded with each journal entry: the card's ``version``, else its ``date``."""
    return str(card.get("version", card.get("date", "")))


def _chosen(card: dict[str, Any]) -> bool:
    """Whether a personal model's card says the fine-tuned model is in use (cards before the choice: yes)."""
    choice = card.get("choice")
    return True if not isinstance(choice, dict) else bool(choice.get("use_finetuned", True))


def journal_model(journal_folder: str | os.PathLike[str] | None = None) -> tuple[Path, str]:
    """Return the model a journal uses and its version: the one rule for the app and the command line.

    The journal's latest personal fine-tuned model whose card says it was chosen (see
    :func:`emoj_lib.personal.personalize`), else ``$EMOJ_MODEL`` when set, else the shipped model.

    Returns
    -------
    (Path, str)
        The ``.keras`` path (it may not exist: loading says so) and :func:`model_version` of its card
        (``""`` when the card cannot be read).
    """
    from emoj_lib import config as cfg
    from emoj_lib.cards import ModelCardError, read_card
    from emoj_lib.personal.finetune import personal_versions
    from emoj_lib.recognizer import default_model_path

    folder = Path(journal_folder) if journal_folder is not None else cfg.journal_dir()
    for _, path in reversed(personal_versions(folder)):
        try:
            card = read_card(path)
        except ModelCardError:
            continue
        if _chosen(card):
            return path, model_version(card)
    env = os.environ.get(MODEL_ENV)
    path = cfg.model_path(env) if env else default_model_path()
    try:
        return path, model_version(read_card(path))
    except ModelCardError:
        return path, ""


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


@dataclass
class LabelledFaces:
    """A journal's labelled entries with what the model reads in them (time order)."""

    entry_ids: np.ndarray
    labels: np.ndarray
    proba: np.ndarray
    features: np.ndarray


class JournalAdapter:
    """A journal's adapter, kept current with the journal's labelled entries.

    Parameters
    ----------
    journal_folder : str or PathLike
        The journal folder (``journal.csv`` inside; a missing file means no entries).
    **fit_options
        Passed to :func:`~emoj_lib.personal.adapter.fit_adapter`.

    Notes
    -----
    Embeddings are cached in memory per entry (keyed by entry id and the face's pixels) and the cache is
    rebuilt from the journal's current entries on every change, so a deleted entry leaves nothing behind.
    """

    def __init__(self, journal_folder: str | os.PathLike[str], **fit_options) -> None:
        from emoj_lib.journal.fileformat import FILE_NAME

        self.folder = Path(journal_folder)
        self.path = self.folder / FILE_NAME
        self.fit_options = fit_options
        self._stamp: tuple | None = ("unread",)
        self._cache: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._features = None
        self._model_id: int | None = None
        self.faces: LabelledFaces | None = None
        self.adapter: PrototypeAdapter | None = None

    def _feature_model(self, model):
        from emoj_lib.personal.features import feature_model

        if self._features is None or self._model_id != id(model):
            self._features, self._model_id, self._cache = feature_model(model), id(model), {}
        return self._features

    def labelled(self, model) -> LabelledFaces:
        """Return the journal's labelled entries read by ``model`` (embedding only new faces)."""
        from emoj_lib.journal import read_journal
        from emoj_lib.personal.features import embed

        features = self._feature_model(model)
        read = read_journal(self.path, on_error="skip") if self.path.exists() else None
        data = read.labelled_faces(on_error="skip") if read is not None else None
        if read is None or data is None or len(data) == 0:
            self._cache = {}
            dim = int(features.outputs[1].shape[-1])
            return LabelledFaces(np.array([], str), np.array([], np.int64), np.zeros((0, len(EMOTIONS)), np.float32),
                                 np.zeros((0, dim), np.float32))
        ids = read.entries.index.to_numpy(str)[data.rows]
        keys = [(i, hashlib.sha1(img.tobytes()).hexdigest()) for i, img in zip(ids, data.images, strict=True)]
        new = [k for k, key in enumerate(keys) if key not in self._cache]
        if new:
            p, f = embed(model, data.images[new], features=features)
            for j, k in enumerate(new):
                self._cache[keys[k]] = (p[j], f[j])
        self._cache = {key: self._cache[key] for key in keys}  # forget deleted or changed faces
        return LabelledFaces(ids, data.labels, np.stack([self._cache[k][0] for k in keys]),
                             np.stack([self._cache[k][1] for k in keys]))

    def refresh(self, model, *, force: bool = False) -> PrototypeAdapter:
        """Refit the adapter if ``journal.csv`` changed since the last fit (or ``force``); return it."""
        stamp = _stamp(self.path)
        if force or self.adapter is None or stamp != self._stamp or self._model_id != id(model):
            self.faces = self.labelled(model)
            self.adapter = fit_adapter(self.faces.features, self.faces.labels, self.faces.proba,
                                       **self.fit_options)
            self._stamp = stamp
        return self.adapter

    def apply(self, model, crops: np.ndarray) -> np.ndarray:
        """Return the adapted probabilities (N, 7) of face crops (the :class:`Recognizer` hook)."""
        from emoj_lib.personal.features import embed

        adapter = self.refresh(model)
        proba, feats = embed(model, crops, features=self._feature_model(model))
        return adapter.transform(proba, feats)

    @property
    def tag(self) -> str:
        """A short description for entry versions: ``"adapter-<entries>"`` when active, else ``""``."""
        return f"adapter-{len(self.faces.labels)}" if self.adapter is not None and self.adapter.active \
            and self.faces is not None else ""


def journal_recognizer(journal_folder: str | os.PathLike[str] | None = None, *,
                       model_path: str | os.PathLike[str] | None = None, adapt: bool = True, **face_options):
    """Return a :class:`~emoj_lib.recognizer.Recognizer` for a journal: its model and its live adapter.

    Parameters
    ----------
    journal_folder : str or PathLike, optional
        The journal (default :func:`emoj_lib.config.journal_dir`).
    model_path : str or PathLike, optional
        Use this model instead of :func:`journal_model`'s.
    adapt : bool
        Attach the journal's :class:`JournalAdapter` (refitted whenever the journal changes), unless the
        model's card says it was chosen without it (see :func:`emoj_lib.personal.personalize`).
    **face_options
        Passed to the recognizer.

    Returns
    -------
    Recognizer
        With an extra attribute ``model_version`` (:func:`journal_model`'s version); record
        :func:`reading_version` with each entry (it adds the adapter's tag while the adapter is active).
    """
    from emoj_lib import config as cfg
    from emoj_lib.cards import read_card
    from emoj_lib.recognizer import Recognizer

    folder = Path(journal_folder) if journal_folder is not None else cfg.journal_dir()
    path = Path(model_path) if model_path is not None else journal_model(folder)[0]
    card = read_card(path)
    choice = card.get("choice")
    choice = choice if isinstance(choice, dict) else {}
    adapt = adapt and choice.get("adapter", True) is not False  # a personal model chosen without the adapter
    rec = Recognizer(path, adapter=JournalAdapter(folder) if adapt else None, **face_options)
    version = model_version(rec.card)
    rec.model_version = version
    return rec


def reading_version(recognizer) -> str:
    """Return the version to record with an entry read by ``recognizer``: model version [+ adapter tag]."""
    base = getattr(recognizer, "model_version", None) or model_version(recognizer.card)
    adapter = getattr(recognizer, "adapter", None)
    tag = adapter.tag if isinstance(adapter, JournalAdapter) else ""
    return f"{base}+{tag}" if tag else base


@dataclass
class YourModel:
    """The "your model" view of a journal.

    Attributes
    ----------
    labelled : pandas.Series
        Labelled entries per emotion (all seven, zeros included).
    base_accuracy, personal_accuracy : float
        Leave-one-out accuracy on the labelled entries: the model alone, and with your adapter.
    base_ece, personal_ece : float
        Expected calibration error of the same held-out probabilities.
    adapter : dict
        :meth:`PrototypeAdapter.summary` (what the adapter chose and why).
    curve : pandas.DataFrame
        The journal as it grew: per labelled entry in time order, ``entries`` (labelled entries before
        it), ``emotion``, ``base_correct`` and ``personal_correct`` (read by an adapter fitted on the
        entries before it only), and cumulative ``base_accuracy`` and ``personal_accuracy``.
    """

    labelled: pd.Series
    base_accuracy: float
    personal_accuracy: float
    base_ece: float
    personal_ece: float
    adapter: dict[str, Any]
    curve: pd.DataFrame


def growth_curve(features: np.ndarray, labels: np.ndarray, proba: np.ndarray, strength: float) -> pd.DataFrame:
    """Return the prequential curve: each entry read by an adapter fitted on the entries before it."""
    from emoj_lib.personal.adapter import class_prototypes

    rows = []
    for i in range(len(labels)):
        p = proba[i:i + 1]
        if i >= 2 and strength > 0:
            centre, protos, classes = class_prototypes(features[:i], labels[:i])
            p = adapt_probabilities(p, features[i:i + 1], centre, protos, classes, strength)
        rows.append({"entries": i, "emotion": EMOTIONS[labels[i]],
                     "base_correct": bool(proba[i].argmax() == labels[i]),
                     "personal_correct": bool(p[0].argmax() == labels[i])})
    df = pd.DataFrame(rows, columns=["entries", "emotion", "base_correct", "personal_correct"])
    n = np.arange(1, len(df) + 1)
    df["base_accuracy"] = df["base_correct"].cumsum() / n
    df["personal_accuracy"] = df["personal_correct"].cumsum() / n
    return df


def your_model(journal_folder: str | os.PathLike[str] | None = None, recognizer=None) -> YourModel:
    """Return the "your model" figures of a journal (see :class:`YourModel`).

    Parameters
    ----------
    journal_folder : str or PathLike, optional
        The journal (default: the recognizer's adapter's journal, else :func:`emoj_lib.config.journal_dir`).
    recognizer : Recognizer, optional
        A :func:`journal_recognizer` (default: a new one for the journal).
    """
    rec = recognizer if recognizer is not None else journal_recognizer(journal_folder)
    ja = rec.adapter if isinstance(rec.adapter, JournalAdapter) else JournalAdapter(journal_folder or ".")
    adapter = ja.refresh(rec.model)
    faces = ja.faces
    if faces is None:  # refresh always reads the journal's labelled faces
        raise RuntimeError(f"{ja.path}: the journal's labelled faces were not read")
    ev = adapter.evidence
    nan = float("nan")
    return YourModel(
        labelled=pd.Series(np.bincount(faces.labels, minlength=len(EMOTIONS)), index=list(EMOTIONS), name="entries"),
        base_accuracy=ev.get("base_accuracy", nan), personal_accuracy=ev.get("adapted_accuracy", nan),
        base_ece=ev.get("base_ece", nan), personal_ece=ev.get("adapted_ece", nan), adapter=adapter.summary(),
        curve=growth_curve(faces.features, faces.labels, faces.proba, adapter.strength))
