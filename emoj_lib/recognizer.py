"""The recognizer: a model loaded once; photo in, faces with their emotions out.

It composes the same steps as the research flow (load image -> detect -> crop -> classify), so a face
from the webcam takes exactly the path of a FER2013 face.

>>> rec = Recognizer()  # the shipped model  # doctest: +SKIP
>>> [reading] = rec.analyze("selfie.jpg", policy="largest")  # doctest: +SKIP
>>> reading.emotion, round(reading.confidence, 2)  # doctest: +SKIP
('happy', 0.91)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoj_lib import config as cfg
from emoj_lib.inference import check_tta
from emoj_lib.labels import EMOTIONS


def default_model_path() -> Path:
    """Return the shipped model's file (:func:`emoj_lib.config.default_model_path`)."""
    return cfg.default_model_path()


@dataclass
class FaceReading:
    """One face found in a photo and what the model reads in it.

    Attributes
    ----------
    box : emoj_lib.faces.Box
        Where the face is in the original photo.
    crop : np.ndarray
        The 48x48 uint8 grayscale crop the model saw.
    probabilities : np.ndarray
        float32 (7,) in :data:`~emoj_lib.labels.EMOTIONS` order.
    """

    box: Any
    crop: np.ndarray
    probabilities: np.ndarray

    @property
    def emotion(self) -> str:
        """The most probable emotion."""
        return EMOTIONS[int(self.probabilities.argmax())]

    @property
    def confidence(self) -> float:
        """The probability of the most probable emotion."""
        return float(self.probabilities.max())

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary (box, emotion, confidence, all probabilities)."""
        return {"box": list(self.box.as_tuple()), "emotion": self.emotion, "confidence": round(self.confidence, 4),
                "probabilities": {e: round(float(p), 4) for e, p in zip(EMOTIONS, self.probabilities, strict=True)}}


class Recognizer:
    """A facial-expression recognizer: one model (or an ensemble), loaded and checked once.

    Parameters
    ----------
    model_path : str, Path or list of them, optional
        A ``.keras`` model with its card, or a shipped model's name, ``"default"`` or ``"small"``
        (:func:`emoj_lib.config.model_path`; None: the default); several make an ensemble that averages the
        models' probabilities (their cards must agree on the preprocessing).
    batch_size : int
        Faces per forward pass in :meth:`predict`.
    tta : {"none", "flip", "tencrop"}
        Test-time augmentation (see :mod:`emoj_lib.inference`).
    adapter : object, optional
        A personal adapter: :meth:`predict` returns ``adapter.apply(model, crops)`` (the Keras model, whose
        penultimate features the adapter may read) instead of the model's own probabilities.
    fast : {"auto", True, False}
        Use the converted model beside the ``.keras`` file (:mod:`emoj_lib.export`): ``"auto"`` when its card
        shows it faster and within 0.3 accuracy points of this very file, ``True`` requires it, ``False``
        never. Not with an ensemble or an adapter.
    **face_options
        Options of :func:`emoj_lib.faces.find_faces` used by :meth:`analyze` (e.g. ``min_neighbors``), on top
        of the preprocessing the model's card records (crop margin, equalisation, detector and its options,
        decode size; :func:`emoj_lib.cards.face_options`).

    Raises
    ------
    ModelCardError
        If a model does not match its card, ensemble members are fed differently, or ``fast=True`` finds no
        usable converted model.
    """

    model_version: str | None = None
    """The version to record with its readings, when set (:func:`emoj_lib.personal.journal_recognizer` sets it)."""

    def __init__(self, model_path: str | Path | list | tuple | None = None, *, batch_size: int = 256,
                 tta: str = "none", adapter: Any = None, fast: str | bool = "auto", **face_options) -> None:
        from emoj_lib.cards import ModelCardError, load_model
        from emoj_lib.cards import face_options as card_face_options

        paths = [cfg.model_path(p) for p in model_path] if isinstance(model_path, list | tuple) else \
            [cfg.model_path(model_path)]
        loaded = [load_model(p) for p in paths]
        options = [card_face_options(card) for _, card in loaded]
        if any(o != options[0] for o in options[1:]):
            raise ModelCardError(f"the ensemble's models are fed differently: {options}")
        self.model_paths = paths
        self.model_path = paths[0]
        self.cards = [card for _, card in loaded]
        self.batch_size = batch_size
        self.tta = check_tta(tta)
        self.adapter = adapter
        self.face_options = {**options[0], **face_options}
        if len(loaded) == 1:
            self.model, self.card = loaded[0]
        else:
            from emoj_lib.ensemble import Ensemble

            self.model = Ensemble([m for m, _ in loaded])
            self.card = {**self.cards[0], "name": "ensemble of " + ", ".join(self._names()),
                         "members": [str(p) for p in paths]}
        self.fast_model, self.fast_reason = self._fast(fast)

    def _names(self) -> list[str]:
        return [str(c.get("name") or p.stem) for c, p in zip(self.cards, self.model_paths, strict=True)]

    def _fast(self, fast: str | bool):
        from emoj_lib.cards import ModelCardError
        from emoj_lib.export import load_fast_model

        if fast not in ("auto", True, False):
            raise ValueError(f"fast must be 'auto', True or False, got {fast!r}")
        if fast is False:
            return None, "not asked for"
        if len(self.model_paths) > 1 or self.adapter is not None:
            found, why = None, "not with an ensemble or an adapter"
        else:
            found, why = load_fast_model(self.model_path)
        if fast is True and found is None:
            raise ModelCardError(f"{self.model_path}: no usable fast model: {why}")
        return found, why

    @property
    def name(self) -> str:
        """The model's name (from its card, else the file name)."""
        return str(self.card.get("name") or self.model_path.stem)

    @property
    def backend(self) -> str:
        """``"tflite"`` or ``"onnx"`` when a converted model answers :meth:`predict`, else ``"keras"``."""
        return self.fast_model.format if self.fast_model is not None else "keras"

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Return the probabilities (N, 7) of 48x48 uint8 face crops (N, 48, 48), in batches.

        The same function as evaluation's (:func:`emoj_lib.inference.predict_proba`), with this recognizer's
        test-time augmentation, through the fast model when one is in use, then the adapter if any.
        """
        from emoj_lib.inference import as_batch, predict_proba

        if self.adapter is not None:
            return np.asarray(self.adapter.apply(self.model, as_batch(crops)[..., 0]), np.float32)
        model = self.fast_model if self.fast_model is not None else self.model
        return predict_proba(model, crops, tta=self.tta, batch_size=self.batch_size)

    def analyze(self, photo, *, policy: str = "all") -> list[FaceReading]:
        """Find the faces of a photo and read their emotions.

        Parameters
        ----------
        photo : path, bytes, PIL image or np.ndarray
            Anything :func:`emoj_lib.faces.load_image` accepts.
        policy : {"all", "largest", "single"}
            Which faces to keep (see :func:`emoj_lib.faces.find_faces`); ``"all"`` returns an empty list
            when there is no face, the others raise ``NoFaceError``.

        Returns
        -------
        list of FaceReading
            Largest face first.
        """
        from emoj_lib.faces import find_faces

        faces = find_faces(photo, policy=policy, **self.face_options)
        if not faces:
            return []
        proba = self.predict(np.stack([f.crop for f in faces]))
        return [FaceReading(f.box, f.crop, p) for f, p in zip(faces, proba, strict=True)]
