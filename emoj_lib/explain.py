"""Explanations: where in a face the model looked for the emotion it read (Grad-CAM).

Grad-CAM (Selvaraju et al. 2017, arXiv:1610.02391) weighs the feature maps of the model's last convolutional
block by the gradient of the emotion's score, keeps the positive part and scales it up to the face: bright
where evidence *for* that emotion lies. The score here is the emotion's log-probability (the softmax output's
log, whose gradient is the logit's minus the probability-weighted mean of all logits).

>>> heatmap = explain(rec.model, reading.crop)  # (48, 48) in 0..1  # doctest: +SKIP
>>> save_explanation("why.png", reading.crop, heatmap, title="happy 0.91")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoj_lib.config import FACE_SIZE
from emoj_lib.labels import EMOTIONS

_SPATIAL = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "BatchNormalization", "Activation", "ReLU", "Add")


def target_layer(model):
    """Return the layer Grad-CAM reads: the last convolution-like layer (conv, BN, activation, add) with a
    spatial (N, H, W, C) output, i.e. the end of the last convolutional block before pooling and the head.
    """  # noqa: D205
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None)
        if type(layer).__name__ in _SPATIAL and shape is not None and len(layer.output.shape) == 4:
            return layer
    raise ValueError(f"model {model.name!r} has no convolutional layer to explain")


def _gradcam_model(model):
    import keras

    cache = getattr(model, "_emoj_gradcam", None)
    if cache is None:
        cache = keras.Model(model.inputs, [target_layer(model).output, model.outputs[0]])
        model._emoj_gradcam = cache
    return cache


def explain(model, faces: np.ndarray, *, emotion: int | str | None = None) -> np.ndarray:
    """Return Grad-CAM heatmaps of faces: (48, 48) for one face, (N, 48, 48) for several, in 0..1.

    Parameters
    ----------
    model : keras.Model or Ensemble
        The emotion model (an :class:`~emoj_lib.ensemble.Ensemble`'s maps are its members' weighted mean).
    faces : np.ndarray
        One face (48, 48) or faces (N, 48, 48), uint8 or float in 0..255.
    emotion : int or str, optional
        Explain this emotion (index or name); default: each face's most probable one.

    Returns
    -------
    np.ndarray
        float32 heatmaps scaled so each face's maximum is 1 (all zeros when nothing speaks for the emotion).
    """
    from emoj_lib.ensemble import Ensemble
    from emoj_lib.inference import as_batch

    one = np.asarray(faces).ndim == 2
    x = as_batch(faces)
    if isinstance(model, Ensemble):
        cls = _classes(model(x), emotion)
        maps = sum(w * _gradcam(m, x, cls) for m, w in zip(model.members, model.weights, strict=True))
    else:
        maps = _gradcam(model, x, None if emotion is None else _classes(np.zeros((len(x), 7)), emotion))
    peak = maps.reshape(len(maps), -1).max(axis=1)[:, None, None]
    maps = np.where(peak > 0, maps / np.where(peak > 0, peak, 1), 0).astype(np.float32)
    return maps[0] if one else maps


def _classes(proba: np.ndarray, emotion: int | str | None) -> np.ndarray:
    if emotion is None:
        return np.asarray(proba).argmax(axis=1)
    k = EMOTIONS.index(emotion) if isinstance(emotion, str) else int(emotion)
    if not 0 <= k < len(EMOTIONS):
        raise ValueError(f"emotion must be one of {list(EMOTIONS)} or 0..{len(EMOTIONS) - 1}, got {emotion!r}")
    return np.full(len(proba), k)


def _gradcam(model, x: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    import cv2
    import tensorflow as tf

    grad_model = _gradcam_model(model)
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        fmap, proba = grad_model(xt, training=False)
        cls = tf.argmax(proba, axis=1) if classes is None else tf.constant(classes, tf.int64)
        score = tf.math.log(tf.gather(proba, cls, batch_dims=1) + 1e-7)
    grads = tape.gradient(score, fmap).numpy()
    fmap = fmap.numpy()
    cams = np.maximum((fmap * grads.mean(axis=(1, 2), keepdims=True)).sum(axis=-1), 0)
    return np.stack([cv2.resize(c.astype(np.float32), (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_LINEAR)
                     for c in cams])


def overlay(face: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.45) -> np.ndarray:
    """Return an RGB uint8 image: the face in gray with the heatmap (resized to it) in colour on top.

    Parameters
    ----------
    face : np.ndarray
        A grayscale (H, W) or RGB (H, W, 3) image, e.g. the 48x48 crop or the photo's face region.
    heatmap : np.ndarray
        A map in 0..1 of any size (resized to the face).
    alpha : float
        The heatmap's opacity where it is 1 (it fades with the map's value).
    """
    import cv2

    img = np.asarray(face)
    gray = img if img.ndim == 2 else cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_RGB2GRAY)
    base = np.repeat(gray.astype(np.float32)[..., None], 3, axis=2)
    h = cv2.resize(np.clip(heatmap, 0, 1).astype(np.float32), (gray.shape[1], gray.shape[0]),
                   interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap((h * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1].astype(np.float32)
    a = alpha * h[..., None]
    return np.clip(base * (1 - a) + colour * a, 0, 255).astype(np.uint8)


def save_explanation(path: str | Path, face: np.ndarray, heatmap: np.ndarray, *, title: str | None = None,
                     scale: int = 4) -> Path:
    """Write a PNG: the face and its overlay side by side (each ``scale`` times its size), titled; return the path."""
    import cv2

    side = overlay(face, heatmap)
    gray = np.asarray(face)
    gray = np.repeat(gray[..., None], 3, axis=2) if gray.ndim == 2 else gray
    pair = np.concatenate([gray.astype(np.uint8), np.full((gray.shape[0], 2, 3), 255, np.uint8), side], axis=1)
    pair = cv2.resize(pair, (pair.shape[1] * scale, pair.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    if title:
        band = np.full((22, pair.shape[1], 3), 255, np.uint8)
        cv2.putText(band, title, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        pair = np.concatenate([band, pair])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), pair[..., ::-1]):
        raise OSError(f"could not write {path}")
    return path
