"""The ``tf.data`` input pipeline: batches, epochs of training batches, seeded augmentation, class weights.

:func:`make_dataset` gives the batches of a data set in order, once (evaluation, prediction).
:class:`TrainingBatches` gives training data as a stream of epochs: epoch ``e``'s order and augmentation
come from stateless random ops seeded by ``(seed, e)`` alone, so a run resumed at epoch ``e`` sees exactly
the batches an uninterrupted run sees, on any machine, whatever the number of threads. (With ``tf.data``'s
own reshuffling every resumed run would start again from the first epoch's order and augmentations, and a
run resumed each session would see the same few epochs over and over.) Images enter the model as float32
(N, 48, 48, 1) in 0..255; scaling to 0..1 is the model's first layer, so a face from the webcam and a face
from FER2013 take exactly the same path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np

from emoj_lib.labels import N_EMOTIONS


@dataclass(frozen=True)
class Augmentation:
    """Random changes applied to training faces (all ranges symmetric around "no change").

    Attributes
    ----------
    flip : bool
        Mirror half of the faces left-right.
    rotation : float
        Maximum rotation, degrees.
    shift : float
        Maximum shift, fraction of the image side, in x and y.
    zoom : float
        Maximum zoom in or out, fraction (0.1: scale 0.9..1.1).
    brightness : float
        Maximum brightness change, fraction of the 0..255 range.
    contrast : float
        Maximum contrast change, fraction (0.2: contrast x0.8..x1.2).
    mixup : float
        mixup (Zhang et al. 2018): each face is blended with another face of its batch, and its targets (and
        sample weight) in the same proportion, drawn from Beta(mixup, mixup); 0 turns it off (the default).
        Needs targets; applied after the other changes.
    """

    flip: bool = True
    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    brightness: float = 0.1
    contrast: float = 0.2
    mixup: float = 0.0

    def __post_init__(self) -> None:
        if self.mixup < 0:
            raise ValueError(f"mixup must be 0 (off) or a positive Beta parameter, got {self.mixup}")

    @classmethod
    def none(cls) -> Augmentation:
        """Return an augmentation that changes nothing."""
        return cls(flip=False, rotation=0.0, shift=0.0, zoom=0.0, brightness=0.0, contrast=0.0)

    def scaled(self, strength: float) -> Augmentation:
        """Return this augmentation with every range multiplied by ``strength`` (flip and mixup kept as is)."""
        return replace(self, rotation=self.rotation * strength, shift=self.shift * strength,
                       zoom=self.zoom * strength, brightness=self.brightness * strength,
                       contrast=self.contrast * strength)

    def is_identity(self) -> bool:
        """Return True if this augmentation changes nothing."""
        return self == Augmentation.none()

    def to_dict(self) -> dict:
        """Return the settings as a plain dict (for model cards and run folders).

        ``mixup`` is left out when off, so that the settings of a run without it read as they did before it
        existed (such a run folder still resumes).
        """
        d = asdict(self)
        if not self.mixup:
            del d["mixup"]
        return d


def _augment_batch(x, seed, aug: Augmentation):
    """Augment a float32 batch (B, H, W, 1) with stateless random ops seeded by ``seed`` (shape [2])."""
    import tensorflow as tf

    b = tf.shape(x)[0]
    h = tf.cast(tf.shape(x)[1], tf.float32)
    w = tf.cast(tf.shape(x)[2], tf.float32)
    seeds = tf.random.experimental.stateless_split(seed, 6)
    if aug.flip:
        flip = tf.random.stateless_uniform([b], seeds[0]) < 0.5
        x = tf.where(flip[:, None, None, None], tf.reverse(x, axis=[2]), x)
    if aug.rotation or aug.shift or aug.zoom:
        angle = tf.random.stateless_uniform([b], seeds[1], -1.0, 1.0) * (aug.rotation * math.pi / 180.0)
        scale = 1.0 + tf.random.stateless_uniform([b], seeds[2], -1.0, 1.0) * aug.zoom
        shift = tf.random.stateless_uniform([b, 2], seeds[3], -1.0, 1.0) * aug.shift
        tx, ty = shift[:, 0] * w, shift[:, 1] * h
        cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
        # output pixel p maps to input pixel R(angle) (p - c) / scale + c + t
        a0 = tf.cos(angle) / scale
        a1 = -tf.sin(angle) / scale
        b0 = tf.sin(angle) / scale
        b1 = tf.cos(angle) / scale
        a2 = cx - a0 * cx - a1 * cy + tx
        b2 = cy - b0 * cx - b1 * cy + ty
        zeros = tf.zeros_like(a0)
        transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        x = tf.raw_ops.ImageProjectiveTransformV3(
            images=x, transforms=transforms, output_shape=tf.shape(x)[1:3], fill_value=0.0,
            interpolation="BILINEAR", fill_mode="REFLECT")
    if aug.contrast:
        factor = 1.0 + tf.random.stateless_uniform([b, 1, 1, 1], seeds[4], -1.0, 1.0) * aug.contrast
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = (x - mean) * factor + mean
    if aug.brightness:
        x = x + tf.random.stateless_uniform([b, 1, 1, 1], seeds[5], -1.0, 1.0) * (aug.brightness * 255.0)
    return tf.clip_by_value(x, 0.0, 255.0)


def _mix_batch(batch: tuple, seed, alpha: float) -> tuple:
    """Apply mixup to a batch ``(faces, targets[, weights])``: face i blended with face B-1-i (the batch is shuffled).

    The proportion of each face is drawn from Beta(alpha, alpha) with stateless random ops; the targets and
    weights are blended in the same proportion.
    """
    import tensorflow as tf

    x = batch[0]
    b = tf.shape(x)[0]
    seeds = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, 7), 2)
    g1 = tf.random.stateless_gamma([b], seeds[0], alpha)
    g2 = tf.random.stateless_gamma([b], seeds[1], alpha)
    lam = g1 / tf.maximum(g1 + g2, 1e-12)

    def mix(t):
        shape = tf.concat([[b], tf.ones([tf.rank(t) - 1], tf.int32)], axis=0)
        weight = tf.reshape(tf.cast(lam, t.dtype), shape)
        return weight * t + (1 - weight) * tf.reverse(t, axis=[0])

    return tuple(mix(t) for t in batch)


def _arrays(images: np.ndarray, labels: np.ndarray | None, sample_weight: np.ndarray | None,
            n_classes: int) -> list[np.ndarray]:
    """Check and convert faces, targets and weights to the arrays the pipeline batches (x[, y[, w]])."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 1), got shape {x.shape}")
    parts = [x]
    if labels is not None:
        y = np.asarray(labels)
        if len(y) != len(x):
            raise ValueError(f"{len(y)} labels for {len(x)} images")
        if y.ndim == 1:
            if y.min(initial=0) < 0 or y.max(initial=0) >= n_classes:
                raise ValueError(f"labels must be in 0..{n_classes - 1} (unlabelled faces cannot be trained on)")
            y = np.eye(n_classes, dtype=np.float32)[y]
        elif y.ndim != 2 or y.shape[1] != n_classes:
            raise ValueError(f"soft labels must have shape (N, {n_classes}), got {y.shape}")
        parts.append(y.astype(np.float32))
    if sample_weight is not None:
        if labels is None:
            raise ValueError("sample_weight needs labels")
        parts.append(np.asarray(sample_weight, np.float32))
    return parts


def _change(batch: tuple, seed, augment: Augmentation | None) -> tuple:
    """Augment (then mix) a float32 batch with stateless random ops seeded by ``seed`` (shape [2])."""
    if augment is None or augment.is_identity():
        return batch
    batch = (_augment_batch(batch[0], seed, augment), *batch[1:])
    return _mix_batch(batch, seed, augment.mixup) if augment.mixup else batch


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    batch_size: int = 64,
    n_classes: int = N_EMOTIONS,
    sample_weight: np.ndarray | None = None,
    prefetch: bool = True,
):
    """Build a ``tf.data.Dataset`` of ``(faces, one-hot targets[, weights])`` batches, in order (one pass).

    For training, see :class:`TrainingBatches` (shuffled, augmented, resumable epochs).

    Parameters
    ----------
    images : np.ndarray
        uint8 faces (N, 48, 48) or (N, 48, 48, 1).
    labels : np.ndarray, optional
        Integer labels (N,) (one-hot encoded here) or soft labels (N, n_classes) (used as they are).
        Without labels the data set yields faces only (for prediction).
    batch_size : int
        Faces per batch; the last batch may be smaller.
    n_classes : int
        Number of classes of the one-hot targets.
    sample_weight : np.ndarray, optional
        A weight per face (N,), e.g. from :func:`class_weights`; yielded as the third element.
    prefetch : bool
        Prefetch batches while the model works.

    Returns
    -------
    tf.data.Dataset
        float32 faces (B, 48, 48, 1) in 0..255 and float32 targets (B, n_classes).
    """
    import tensorflow as tf

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    parts = _arrays(images, labels, sample_weight, n_classes)
    ds = tf.data.Dataset.from_tensor_slices(tuple(parts)).batch(batch_size)
    ds = ds.map(lambda *t: (tf.cast(t[0], tf.float32), *t[1:]), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)
    if len(parts) == 1:
        ds = ds.map(lambda t: t)  # faces alone, not a 1-tuple
    return ds.prefetch(tf.data.AUTOTUNE) if prefetch else ds


class TrainingBatches:
    """Training data as epochs of shuffled, augmented batches, each epoch a function of ``(seed, epoch)`` alone.

    Parameters
    ----------
    images : np.ndarray
        uint8 faces (N, 48, 48) or (N, 48, 48, 1).
    targets : np.ndarray
        Integer labels (N,) or soft labels (N, n_classes).
    batch_size : int
        Faces per batch; the last batch of an epoch may be smaller.
    augment : Augmentation, optional
        Random changes applied to every batch; ``None`` for none.
    seed : int
        Seed of the order and of the augmentation of every epoch.
    sample_weight : np.ndarray, optional
        A weight per face (N,), yielded as the third element.
    n_classes : int
        Number of classes of the one-hot targets.

    Notes
    -----
    Epoch ``e`` visits every face once, in the order of a stateless shuffle seeded by ``(seed, e)``; batch
    ``b`` of it is augmented with seeds folded from ``(seed, e)`` and ``b``. :func:`emoj_lib.training.fit_model`
    starts the stream at the epoch a run resumes from.
    """

    def __init__(self, images: np.ndarray, targets: np.ndarray, *, batch_size: int = 64,
                 augment: Augmentation | None = None, seed: int = 0, sample_weight: np.ndarray | None = None,
                 n_classes: int = N_EMOTIONS) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if augment is not None and augment.mixup and targets is None:
            raise ValueError("mixup blends the targets too: it needs labels")
        self.parts = _arrays(images, targets, sample_weight, n_classes)
        if len(self.parts[0]) == 0:
            raise ValueError("no faces to train on")
        self.batch_size, self.augment, self.seed = int(batch_size), augment, int(seed)

    def __len__(self) -> int:
        return len(self.parts[0])

    @property
    def steps_per_epoch(self) -> int:
        """Batches in an epoch."""
        return math.ceil(len(self) / self.batch_size)

    def _key(self, epoch):
        import tensorflow as tf

        return tf.stack([tf.constant(self.seed, tf.int64), tf.cast(epoch, tf.int64)])

    def _order(self, key):
        import tensorflow as tf

        return tf.random.experimental.stateless_shuffle(tf.range(len(self), dtype=tf.int64), seed=key)

    def order(self, epoch: int) -> np.ndarray:
        """Return the rows of the faces in the order epoch ``epoch`` visits them."""
        return self._order(self._key(epoch)).numpy()

    def _epoch(self, tensors: tuple, epoch):
        import tensorflow as tf

        key = self._key(epoch)
        order = self._order(key)
        batches = tf.data.Dataset.zip((tf.data.Dataset.from_tensor_slices(order).batch(self.batch_size),
                                       tf.data.Dataset.range(self.steps_per_epoch)))

        def load(rows, b):
            batch = tuple(tf.gather(t, rows) for t in tensors)
            batch = (tf.cast(batch[0], tf.float32), *batch[1:])
            return _change(batch, tf.random.experimental.stateless_fold_in(key, b), self.augment)

        return batches.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def epoch(self, epoch: int):
        """Return the batches of one epoch (a finite ``tf.data.Dataset``)."""
        import tensorflow as tf

        return self._epoch(tuple(tf.constant(t) for t in self.parts), epoch)

    def stream(self, start_epoch: int = 0):
        """Return the endless stream of batches from epoch ``start_epoch`` on (fit with :attr:`steps_per_epoch`)."""
        import tensorflow as tf

        tensors = tuple(tf.constant(t) for t in self.parts)
        epochs = tf.data.Dataset.range(int(start_epoch), 2**62)
        return epochs.flat_map(lambda e: self._epoch(tensors, e)).prefetch(tf.data.AUTOTUNE)


def class_weights(labels: np.ndarray, n_classes: int = N_EMOTIONS, power: float = 1.0) -> dict[int, float]:
    """Return a weight per class that balances an imbalanced label set.

    The weight of class ``k`` is ``(n / (n_classes * count_k)) ** power``, rescaled so that the mean
    weight over the faces is 1; absent classes get 0. ``power=0.5`` is a milder balance.

    Parameters
    ----------
    labels : np.ndarray
        Integer labels (N,) or soft labels (N, n_classes) (their column sums count).
    n_classes : int
        Number of classes.
    power : float
        0: no balancing; 1: full inverse-frequency balancing.

    Returns
    -------
    dict of int to float
        The weight of every class, as Keras' ``class_weight`` expects.
    """
    y = np.asarray(labels)
    counts = y.sum(axis=0) if y.ndim == 2 else np.bincount(y[y >= 0], minlength=n_classes).astype(float)
    counts = np.asarray(counts, float)[:n_classes]
    n = counts.sum()
    if n <= 0:
        raise ValueError("no labelled faces to weigh")
    with np.errstate(divide="ignore"):
        w = np.where(counts > 0, (n / (n_classes * np.maximum(counts, 1e-12))) ** power, 0.0)
    w = w * n / float((w * counts).sum())
    return {k: float(w[k]) for k in range(n_classes)}


def sample_weights(labels: np.ndarray, weights: dict[int, float]) -> np.ndarray:
    """Return the weight of every face (N,) from per-class weights (soft labels: expected weight)."""
    y = np.asarray(labels)
    w = np.array([weights[k] for k in range(len(weights))], np.float32)
    return (y @ w).astype(np.float32) if y.ndim == 2 else w[y]
