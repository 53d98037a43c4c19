"""Journal entries: :class:`Entry` (one face and its prediction), its validation and its CSV encoding.

An entry becomes one ``entry`` row of ``journal.csv``; the file format is described in
:mod:`emoj_lib.journal.fileformat`, and :class:`~emoj_lib.journal.store.Journal` appends the rows.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from emoj_lib import config
from emoj_lib.data.pixels import encode_pixels
from emoj_lib.journal.fileformat import encode_record, escape_tags, escape_text
from emoj_lib.labels import EMOTIONS, emotion_index

if TYPE_CHECKING:
    from emoj_lib.recognizer import FaceReading

SOURCES: tuple[str, ...] = ("webcam", "upload", "file", "camera")
"""Where an entry's photo came from."""

ENTRY_ID_RE = re.compile(r"[0-9A-Za-z_-]{1,64}")
"""What an entry id may be (``uuid4().hex`` by default)."""
PROB_SUM_TOLERANCE = 1e-3
"""How far from 1 the 7 probabilities of an entry may sum (float32 softmax outputs are within 1e-6)."""


def _now() -> datetime:
    return datetime.now(UTC).astimezone()


def check_entry_id(value: str) -> str:
    """Return ``value`` if it is an entry id (1-64 letters, digits, ``_`` or ``-``); else raise ValueError."""
    if not isinstance(value, str) or not ENTRY_ID_RE.fullmatch(value):
        raise ValueError(f"entry_id must be 1-64 letters, digits, '_' or '-', got {value!r}")
    return value


def check_probabilities(values: Any) -> np.ndarray:
    """Return 7 probabilities as float64 if each is in [0, 1] and they sum to 1 (within :data:`PROB_SUM_TOLERANCE`).

    Raises ValueError otherwise (e.g. a model that outputs logits).
    """
    p = np.asarray(values, dtype=np.float64).ravel()
    if p.shape != (len(EMOTIONS),) or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"probabilities must be {len(EMOTIONS)} numbers in [0, 1] in EMOTIONS order, got {values!r}")
    if abs(p.sum() - 1) > PROB_SUM_TOLERANCE:
        raise ValueError(f"probabilities must sum to 1, got {values!r} (sum {p.sum():.6g}): are they logits?")
    return p


def check_text(value: str, name: str) -> str:
    """Return ``value`` if it is a str encodable as UTF-8; raise TypeError / ValueError naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} is not encodable as UTF-8 (lone surrogate?): {exc}") from None
    return value


def canonical_label(value: str | None, name: str = "user_label") -> str | None:
    """Return the canonical emotion name of a label (any common name), ``None`` for none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be an emotion name or None, got {value!r}")
    return EMOTIONS[emotion_index(value)]


def normalise_tags(tags: str | Iterable[str]) -> tuple[str, ...]:
    """Normalise tags: a ``;``-joined str or an iterable of str; stripped, empty ones dropped, unique."""
    items = tags.split(";") if isinstance(tags, str) else list(tags)
    out: list[str] = []
    for t in items:
        check_text(t, "tag")
        if any(c in t for c in ";\r\n"):
            raise ValueError(f"tag {t!r} contains ';' or a line break")
        t = t.strip()
        if t and t not in out:
            out.append(t)
    return tuple(out)


def aware_timestamp(value: datetime | pd.Timestamp | None) -> datetime:
    """Return a time-zone aware datetime (default now, local time zone); raise on a naive one."""
    if value is None:
        return _now()
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if not isinstance(value, datetime):
        raise TypeError(f"timestamp must be a datetime, got {type(value).__name__}")
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("timestamp must be time-zone aware (e.g. datetime.now().astimezone())")
    if offset % timedelta(minutes=1):
        raise ValueError(f"timestamp UTC offset {offset} is not a whole number of minutes")
    return value


@dataclass(eq=False)
class Entry:
    """One face read by the model: what goes into a journal row.

    Parameters
    ----------
    face : np.ndarray
        The 48x48 uint8 grayscale face the model saw.
    box : tuple of 4 int
        ``(x, y, w, h)`` of the face in the original photo (a :class:`~emoj_lib.faces.Box` is accepted).
    probabilities : array-like
        The 7 probabilities in :data:`~emoj_lib.labels.EMOTIONS` order, each in ``[0, 1]``.
    source : {"webcam", "upload", "file", "camera"}
        Where the photo came from.
    model, model_version : str
        The model that made the prediction.
    emotion : str, optional
        The predicted emotion (default: the most probable one).
    timestamp : datetime, optional
        Time-zone aware (default: now, in the local time zone).
    entry_id : str, optional
        Default ``uuid4().hex``.
    user_label : str, optional
        The user's label, if already known (any common emotion name).
    note : str
        Free text (any Unicode, commas, quotes, line breaks).
    tags : str or iterable of str
        Tags (a str is split on ``;``); they may not contain ``;`` or line breaks.

    """

    face: np.ndarray
    box: tuple[int, int, int, int]
    probabilities: np.ndarray
    source: str
    model: str
    model_version: str
    emotion: str | None = None
    timestamp: datetime | None = None
    entry_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_label: str | None = None
    note: str = ""
    tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        face = np.asarray(self.face)
        if face.shape != (config.FACE_SIZE, config.FACE_SIZE):
            raise ValueError(f"face must be {config.FACE_SIZE}x{config.FACE_SIZE}, got shape {face.shape}")
        if face.dtype != np.uint8:
            if not np.issubdtype(face.dtype, np.integer) or face.min() < 0 or face.max() > 255:
                raise ValueError(f"face must be uint8 (or integers in 0..255), got {face.dtype}")
        self.face = face.astype(np.uint8)
        as_tuple = getattr(self.box, "as_tuple", None)  # a Box, or any 4 numbers
        box = as_tuple() if as_tuple is not None else tuple(self.box)
        if len(box) != 4 or not all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in box):
            raise ValueError(f"box must be 4 integers (x, y, w, h), got {self.box!r}")
        box = tuple(int(v) for v in box)
        if min(box[:2]) < 0 or min(box[2:]) <= 0:
            raise ValueError(f"box must have x, y >= 0 and w, h > 0, got {box}")
        self.box = box  # type: ignore[assignment]
        p = self.probabilities = check_probabilities(self.probabilities)
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        self.model = check_text(self.model, "model")
        self.model_version = check_text(str(self.model_version), "model_version")
        self.emotion = EMOTIONS[int(p.argmax())] if self.emotion is None else canonical_label(self.emotion, "emotion")
        if self.emotion is None:
            raise ValueError("emotion must be an emotion name")
        self.timestamp = aware_timestamp(self.timestamp)
        check_entry_id(self.entry_id)
        self.user_label = canonical_label(self.user_label)
        self.note = check_text(self.note, "note")
        self.tags = normalise_tags(self.tags)

    @property
    def confidence(self) -> float:
        """The probability of the predicted emotion."""
        return float(self.probabilities[EMOTIONS.index(self.emotion)])

    @classmethod
    def from_reading(cls, reading: FaceReading, *, source: str, model: str, model_version: str,
                     **options: Any) -> Entry:
        """Make an entry from a :class:`~emoj_lib.recognizer.FaceReading` (no TensorFlow needed).

        Parameters
        ----------
        reading : FaceReading
            A face found and read by :meth:`Recognizer.analyze <emoj_lib.recognizer.Recognizer.analyze>`.
        source : {"webcam", "upload", "file", "camera"}
            Where the photo came from.
        model, model_version : str
            The model that read it (e.g. ``recognizer.name`` and the version from its card).
        **options
            Any other :class:`Entry` field: ``timestamp``, ``entry_id``, ``user_label``, ``note``, ``tags``.

        Returns
        -------
        Entry
            The predicted emotion is the most probable one.

        """
        return cls(face=reading.crop, box=reading.box, probabilities=reading.probabilities, source=source,
                   model=model, model_version=model_version, **options)

    def to_row(self, photo: str = "") -> bytes:
        """Return the encoded CSV record of this entry (UTF-8, ending with a newline)."""
        if self.timestamp is None or self.emotion is None:  # both set by __post_init__
            raise ValueError(f"entry {self.entry_id}: no timestamp or emotion to write")
        fields = ["entry", self.entry_id, self.timestamp.isoformat(timespec="microseconds"), self.source,
                  *map(str, self.box), self.emotion, repr(self.confidence),
                  *(repr(float(v)) for v in self.probabilities), escape_text(self.model),
                  escape_text(self.model_version), self.user_label or "", escape_text(self.note),
                  escape_tags(self.tags), "", photo, encode_pixels(self.face)]
        return encode_record(fields)
