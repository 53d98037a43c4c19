"""One inference path: a model run on 48x48 faces, with optional test-time augmentation.

Evaluation (:mod:`emoj_lib.evaluation`) and the :class:`~emoj_lib.recognizer.Recognizer` both call
:func:`predict_proba`, so a face gets the same probabilities in a research table and in the journal.

Test-time augmentation (``tta``):

- ``"none"``: the face as it is;
- ``"flip"``: the mean of the face and its mirror image (left-right, the flip used in training);
- ``"tencrop"``: the mean over ten views, the literature's ten-crop testing: the four corner crops and the
  centre crop of side :data:`TENCROP_SIZE` (44 of 48 pixels), and their mirror images, each resized back to
  the model's input size (bilinear).

A "model" is a ``keras.Model`` (called in inference mode through a cached ``tf.function``) or any callable
that maps a float32 batch (N, 48, 48, 1) in 0..255 to probabilities (N, 7), such as an exported fast model
(:class:`emoj_lib.export.FastModel`).
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable

import numpy as np

from emoj_lib.config import FACE_SIZE
from emoj_lib.labels import N_EMOTIONS

TTA_MODES = ("none", "flip", "tencrop")
TENCROP_SIZE = 44
_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_tta(tta: str | bool | None) -> str:
    """Return the TTA mode name (``True`` means ``"flip"``, ``False``/``None`` mean ``"none"``)."""
    if tta is True:
        return "flip"
    if tta is False or tta is None:
        return "none"
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {list(TTA_MODES)}, got {tta!r}")
    return str(tta)


def as_batch(faces: np.ndarray) -> np.ndarray:
    """Return faces as a float32 batch (N, 48, 48, 1) in 0..255 from (48, 48), (N, 48, 48) or (N, 48, 48, 1)."""
    x = np.asarray(faces)
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != (FACE_SIZE, FACE_SIZE):
        raise ValueError(f"faces must have shape (N, {FACE_SIZE}, {FACE_SIZE}), got {np.asarray(faces).shape}")
    return x.astype(np.float32)[..., None]


def forward(model) -> Callable[[np.ndarray], np.ndarray]:
    """Return a function running ``model`` in inference mode on a float32 batch, giving a numpy array.

    A Keras model is wrapped once in a ``tf.function`` (cached per model); any other callable is returned as is.
    """
    keras = sys.modules.get("keras")  # a Keras model exists only once keras is imported
    if keras is None or not isinstance(model, keras.Model):
        return model
    fn = _FORWARDS.get(model)
    if fn is None:
        import tensorflow as tf

        graph = tf.function(lambda t: model(t, training=False), reduce_retracing=True)

        def fn(x: np.ndarray) -> np.ndarray:
            return np.asarray(graph(tf.convert_to_tensor(x)))

        _FORWARDS[model] = fn
    return fn


def _resize_matrix(src: int, dst: int) -> np.ndarray:
    """Return the (dst, src) matrix of bilinear resizing with half-pixel centres (OpenCV's INTER_LINEAR)."""
    pos = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, src - 1)
    frac = pos - lo
    m = np.zeros((dst, src), np.float32)
    m[np.arange(dst), lo] += 1 - frac
    m[np.arange(dst), hi] += frac
    return m


def tencrop_views(x: np.ndarray, crop: int = TENCROP_SIZE) -> list[np.ndarray]:
    """Return the ten views of a batch (N, H, W, 1), each resized back to (H, W).

    In order: the corner crops (top-left, top-right, bottom-left, bottom-right) and the centre crop of
    side ``crop``, then the mirror image of each.
    """
    h, w = x.shape[1:3]
    if not 0 < crop <= min(h, w):
        raise ValueError(f"crop must be in 1..{min(h, w)}, got {crop}")
    ry, rx = _resize_matrix(crop, h), _resize_matrix(crop, w)
    c0y, c0x = (h - crop) // 2, (w - crop) // 2
    origins = [(0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop), (c0y, c0x)]
    views = [np.einsum("ij,njkc,lk->nilc", ry, x[:, y:y + crop, c:c + crop], rx, optimize=True)
             for y, c in origins]
    return views + [v[:, :, ::-1] for v in views]


def tta_views(x: np.ndarray, tta: str) -> list[np.ndarray]:
    """Return the views of a batch (N, H, W, 1) whose probabilities a TTA mode averages."""
    mode = check_tta(tta)
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x[:, :, ::-1]]  # axis 2 is the width: a left-right mirror
    return tencrop_views(x)


def predict_proba(model, faces: np.ndarray, *, tta: str | bool = "none", batch_size: int = 256) -> np.ndarray:
    """Return a model's class probabilities (N, 7) for faces (N, 48, 48), uint8 or float in 0..255.

    Parameters
    ----------
    model : keras.Model or callable
        A model from :mod:`emoj_lib.models` (float32 0..255 input) or a callable doing the same.
    faces : np.ndarray
        Faces (N, 48, 48), (N, 48, 48, 1) or one face (48, 48).
    tta : {"none", "flip", "tencrop"} or bool
        Test-time augmentation (see the module doc); ``True`` means ``"flip"``.
    batch_size : int
        Faces per forward pass (each view of a batch is one pass).

    Returns
    -------
    np.ndarray
        float32 (N, 7), the mean over the TTA views.

    Raises
    ------
    ValueError
        If the faces are not 48x48 or ``tta`` is unknown.

    """
    mode = check_tta(tta)
    x = as_batch(faces)
    if len(x) == 0:
        return np.zeros((0, N_EMOTIONS), np.float32)
    run = forward(model)
    out = []
    for i in range(0, len(x), batch_size):
        views = tta_views(x[i:i + batch_size], mode)
        out.append(np.mean([np.asarray(run(np.ascontiguousarray(v)), np.float32) for v in views], axis=0))
    return np.concatenate(out).astype(np.float32)
