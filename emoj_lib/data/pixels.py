"""Face pixel strings, written and read in one place.

A pixel string is FER2013's text form of a 48x48 grayscale face: 2,304 integers in 0..255, row-major, one space apart.
FER2013 CSVs, FER-format CSVs written by emoJ and the journal's ``pixels`` column all use it. Writing is strict
(:func:`encode_pixels`); reading (:func:`parse_pixels`) accepts any whitespace between the values and checks their
count and range, in C (numpy), then describes the first bad value when there is one.
"""

from __future__ import annotations

import warnings

import numpy as np

from emoj_lib.config import FACE_SIZE

__all__ = ["N_PIXELS", "decode_pixels", "encode_pixels", "parse_pixels", "pixel_problem"]

N_PIXELS = FACE_SIZE * FACE_SIZE
"""Values in a pixel string (48x48)."""

_TEXT = np.array([str(i) for i in range(256)], dtype=object)


def encode_pixels(face: np.ndarray) -> str:
    """Return the pixel string of a 48x48 uint8 face.

    Raises
    ------
    ValueError
        If ``face`` is not 48x48 (2,304 values) of dtype uint8.
    """
    a = np.asarray(face)
    if a.size != N_PIXELS or a.dtype != np.uint8:
        raise ValueError(f"a face must be {FACE_SIZE}x{FACE_SIZE} uint8, got shape {a.shape} dtype {a.dtype}")
    return " ".join(_TEXT[a.ravel()])


def _describe(text: str | bytes) -> str:
    """Return what is wrong with a pixel string numpy could not read (the first bad value, or the count)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    tokens = text.split()
    if not tokens:
        return "empty pixels"
    for i, token in enumerate(tokens):
        if not token.isdigit():
            return f"pixel {i} is {token[:20]!r}, not an integer in 0..255"
        if int(token) > 255:
            return f"pixel {i} is {token[:20]}, out of range 0..255"
    return f"pixels has {len(tokens)} values, expected {N_PIXELS} ({FACE_SIZE}x{FACE_SIZE})"


def parse_pixels(text: object) -> tuple[np.ndarray | None, str | None]:
    """Read a pixel string (text, or its ASCII bytes): return ``(values, None)`` (2,304 uint8) or ``(None, why)``."""
    if not isinstance(text, str | bytes):
        return None, f"pixels is {type(text).__name__}, not text"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # np.fromstring: text it could not read to its end
        try:
            values = np.fromstring(text, dtype=np.int64, sep=" ")
        except (ValueError, DeprecationWarning):
            return None, _describe(text)
    if len(values) != N_PIXELS or (len(values) and (values.min() < 0 or values.max() > 255)):
        return None, _describe(text)
    return values.astype(np.uint8), None


def pixel_problem(text: object) -> str | None:
    """Return what is wrong with a pixel string, or None if it is a valid face."""
    return parse_pixels(text)[1]


def decode_pixels(text: object) -> np.ndarray:
    """Return the 48x48 uint8 face of a pixel string.

    Raises
    ------
    ValueError
        Saying what is wrong (the count, or the first bad value).
    """
    values, problem = parse_pixels(text)
    if values is None:
        raise ValueError(problem)
    return values.reshape(FACE_SIZE, FACE_SIZE)
