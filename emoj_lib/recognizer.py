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
from emoj_lib.labels import EMOTIONS

DEFAULT_MODEL = "emoj_fer2013.keras"


def default_model_path() -> Path:
    """Return the path of the shipped model (``models/emoj_fer2013.keras``)."""
    return cfg.MODELS_DIR / DEFAULT_MODEL


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
    """A facial-expression recognizer: one model, loaded once.

    Parameters
    ----------
    model_path : str or Path, optional
        A ``.keras`` model with its card (default: the shipped model).
    batch_size : int
        Faces per forward pass in :meth:`predict`.
    adapter : object, optional
        A personal adapter (e.g. :class:`emoj_lib.personal.JournalAdapter`): :meth:`predict` returns
        ``adapter.apply(model, crops)`` instead of the model's own probabilities.
    **face_options
        Options of :func:`emoj_lib.faces.find_faces` used by :meth:`analyze` (e.g. ``min_neighbors``);
        ``decode_side`` defaults to 512 (JPEG files are decoded at a reduced scale, at least the 480 pixels
        that detection uses).
    """

    def __init__(self, model_path: str | Path | None = None, *, batch_size: int = 256, adapter: Any = None,
                 **face_options) -> None:
        from emoj_lib.cards import load_model

        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        self.model, self.card = load_model(self.model_path)
        self.batch_size = batch_size
        self.adapter = adapter
        self.face_options = {"decode_side": 512, **face_options}
        self._forward = None

    @property
    def name(self) -> str:
        """The model's name (from its card, else the file name)."""
        return str(self.card.get("name") or self.model_path.stem)

    def _call(self, x: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        if self._forward is None:
            self._forward = tf.function(lambda t: self.model(t, training=False), reduce_retracing=True)
        return self._forward(tf.convert_to_tensor(x)).numpy()

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Return the probabilities (N, 7) of 48x48 uint8 face crops (N, 48, 48), in batches."""
        x = np.asarray(crops)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (cfg.FACE_SIZE, cfg.FACE_SIZE):
            raise ValueError(f"crops must have shape (N, {cfg.FACE_SIZE}, {cfg.FACE_SIZE}), got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, len(EMOTIONS)), np.float32)
        if self.adapter is not None:
            return np.asarray(self.adapter.apply(self.model, x), np.float32)
        x = x.astype(np.float32)[..., None]
        out = [self._call(x[i:i + self.batch_size]) for i in range(0, len(x), self.batch_size)]
        return np.concatenate(out).astype(np.float32)

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
