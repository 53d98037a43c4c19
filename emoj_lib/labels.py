"""Emotion labels: the one place that fixes their order.

FER2013 numbers its seven basic emotions (Ekman's six plus neutral) in this order, and every array of
labels or probabilities in emoJ follows it. FER+ relabelled the same images with ten vote columns
(eight emotions, ``unknown`` and ``NF``, not a face), in its own order; the mappings below translate.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The 7 emotions in FER2013 order: index ``i`` is label ``i`` of ``fer2013.csv``."""

N_EMOTIONS = len(EMOTIONS)

FERPLUS_EMOTIONS: tuple[str, ...] = (
    "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
)
"""The 8 FER+ emotions in the column order of ``fer2013new.csv``."""

FERPLUS_COLUMNS: tuple[str, ...] = (*FERPLUS_EMOTIONS, "unknown", "NF")
"""All 10 FER+ vote columns, in file order."""

FERPLUS_TO_FER: dict[int, int | None] = {
    0: 6,  # neutral
    1: 3,  # happiness -> happy
    2: 5,  # surprise
    3: 4,  # sadness -> sad
    4: 0,  # anger -> angry
    5: 1,  # disgust
    6: 2,  # fear
    7: None,  # contempt has no FER2013 class
}
"""FER+ emotion index -> FER2013 emotion index (``None``: contempt has no FER2013 counterpart)."""

FER_TO_FERPLUS: dict[int, int] = {fer: plus for plus, fer in FERPLUS_TO_FER.items() if fer is not None}
"""FER2013 emotion index -> FER+ emotion index."""

SYNONYMS: dict[str, str] = {
    "anger": "angry", "angry": "angry", "mad": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy", "smile": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral", "calm": "neutral",
}
"""Common names of the 7 emotions (as used for folder names) -> the canonical name."""


def find_emotion(name: str) -> int | None:
    """Return the FER2013 index of an emotion given by any common name, or None if it names none.

    The lenient form of :func:`emotion_index`, for folder and file names that may or may not be emotions.
    """
    key = name.strip().lower()
    return EMOTIONS.index(SYNONYMS[key]) if key in SYNONYMS else None


def emotion_index(name: str) -> int:
    """Return the FER2013 index of an emotion given by any common name.

    Parameters
    ----------
    name : str
        An emotion name or synonym, in any case (``"Happiness"``, ``"anger"``, ``"sad"``).

    Returns
    -------
    int
        The index into :data:`EMOTIONS`.

    Raises
    ------
    KeyError
        If the name is not a known emotion (the message lists the accepted names).

    """
    key = name.strip().lower()
    if key not in SYNONYMS:
        raise KeyError(f"unknown emotion {name!r}; expected one of {sorted(SYNONYMS)}")
    return EMOTIONS.index(SYNONYMS[key])
