from dataclasses import replace

import numpy as np
import pytest

from emoj_lib.data.pipeline import Augmentation, TrainingBatches, class_weights, make_dataset, sample_weights


def _batches(ds, n=3):
    return [tuple(np.asarray(t) for t in b) for b in ds.take(n)]


def test_shapes_types_and_one_hot(small_fer):
    ds = make_dataset(small_fer.images, small_fer.labels, batch_size=8)
    x, y = next(iter(ds))
    assert x.shape == (8, 48, 48, 1) and x.dtype.name == "float32"
    np.testing.assert_array_equal(np.asarray(x)[..., 0], small_fer.images[:8])
    np.testing.assert_array_equal(np.asarray(y).argmax(1), small_fer.labels[:8])
    faces_only = next(iter(make_dataset(small_fer.images, batch_size=4)))
    assert faces_only.shape == (4, 48, 48, 1)


def _epochs(ds, n_epochs, steps):
    batches = _batches(ds, n_epochs * steps)
    return [batches[k * steps:(k + 1) * steps] for k in range(n_epochs)]


def test_training_batches_are_a_function_of_seed_and_epoch(small_fer):
    def epochs(seed, start=0, n=3):
        tb = TrainingBatches(small_fer.images, small_fer.labels, batch_size=8, augment=Augmentation(), seed=seed)
        assert tb.steps_per_epoch == 4  # 30 faces: 8, 8, 8, 6
        return _epochs(tb.stream(start), n, tb.steps_per_epoch)

    a, b, c = epochs(7), epochs(7), epochs(8)
    for ea, eb in zip(a, b, strict=True):
        for (xa, ya), (xb, yb) in zip(ea, eb, strict=True):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
    assert [x.shape[0] for x, _ in a[0]] == [8, 8, 8, 6]
    assert not np.array_equal(a[0][0][0], c[0][0][0])
    assert not np.array_equal(a[0][0][0], a[1][0][0])  # a new epoch: a new order and new augmentations
    resumed = epochs(7, start=1, n=2)  # a run resumed at epoch 1 sees what an uninterrupted run sees
    for ea, er in zip(a[1:], resumed, strict=True):
        for (xa, ya), (xr, yr) in zip(ea, er, strict=True):
            np.testing.assert_array_equal(xa, xr)
            np.testing.assert_array_equal(ya, yr)


def test_every_epoch_visits_every_face_once(small_fer):
    tb = TrainingBatches(small_fer.images, small_fer.labels, batch_size=7, seed=3)  # no augmentation
    for epoch in (0, 5):
        order = tb.order(epoch)
        assert sorted(order) == list(range(30))
        x = np.concatenate([np.asarray(b[0])[..., 0] for b in tb.epoch(epoch)])
        y = np.concatenate([np.asarray(b[1]).argmax(1) for b in tb.epoch(epoch)])
        np.testing.assert_array_equal(x, small_fer.images[order])
        np.testing.assert_array_equal(y, small_fer.labels[order])
    assert not np.array_equal(tb.order(0), tb.order(5))
    with pytest.raises(ValueError, match="no faces"):
        TrainingBatches(small_fer.images[:0], small_fer.labels[:0])


def _first_batch(images, labels, augment, seed, **options):
    """Return the first batch of epoch 0 and the rows of the faces in it."""
    tb = TrainingBatches(images, labels, batch_size=len(images), augment=augment, seed=seed, **options)
    return [np.asarray(t) for t in next(iter(tb.epoch(0)))], tb.order(0)


def test_augmentation_changes_faces_within_range(small_fer):
    (x, _), rows = _first_batch(small_fer.images[:10], small_fer.labels[:10], Augmentation(), 1)
    x0 = small_fer.images[:10][rows].astype(np.float32)
    x = x[..., 0]
    assert x.min() >= 0 and x.max() <= 255
    assert not np.allclose(x, x0)
    flip_only = Augmentation(flip=True, rotation=0, shift=0, zoom=0, brightness=0, contrast=0)
    (xf, _), rows = _first_batch(small_fer.images[:10], small_fer.labels[:10], flip_only, 3)
    x0 = small_fer.images[:10][rows].astype(np.float32)
    xf = xf[..., 0]
    for i in range(10):  # every face is itself or its mirror image, exactly
        assert np.array_equal(xf[i], x0[i]) or np.array_equal(xf[i], x0[i][:, ::-1])
    assert not all(np.array_equal(xf[i], x0[i]) for i in range(10))
    assert Augmentation().scaled(0).rotation == 0 and Augmentation.none().is_identity()


def test_soft_labels_and_weights(small_fer):
    soft = np.full((30, 7), 1 / 7, np.float32)
    w = np.arange(30, dtype=np.float32)
    _x, y, sw = next(iter(make_dataset(small_fer.images, soft, batch_size=5, sample_weight=w)))
    np.testing.assert_allclose(np.asarray(y), soft[:5])
    np.testing.assert_array_equal(np.asarray(sw), w[:5])


def test_bad_input():
    with pytest.raises(ValueError, match="3 labels for 2 images"):
        make_dataset(np.zeros((2, 48, 48), np.uint8), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="unlabelled faces cannot be trained"):
        make_dataset(np.zeros((2, 48, 48), np.uint8), np.array([0, -1]))


def test_class_weights_balance():
    labels = np.array([0] * 80 + [1] * 20)
    w = class_weights(labels)
    assert w[1] / w[0] == pytest.approx(4.0)
    assert w[2] == 0.0
    per_face = sample_weights(labels, w)
    assert per_face.mean() == pytest.approx(1.0)
    assert class_weights(labels, power=0)[0] == pytest.approx(1.0)
    soft = np.eye(7)[labels]
    assert sample_weights(soft, w)[0] == pytest.approx(w[0])


def test_mixup_blends_faces_targets_and_weights_alike(small_fer):
    mix_only = replace(Augmentation.none(), mixup=0.4)
    (x, y, w), rows = _first_batch(small_fer.images[:10], small_fer.labels[:10], mix_only, 2,
                                   sample_weight=np.arange(1, 11, dtype=np.float32))
    x0, y0 = small_fer.images[:10][rows].astype(np.float32), small_fer.labels[:10][rows]
    w0 = np.arange(1, 11, dtype=np.float32)[rows]
    onehot = np.eye(7, dtype=np.float32)[y0]
    # face i is lam_i * face i + (1 - lam_i) * face 9-i; read lam_i off its own class's target, check the rest with it
    lam = np.array([y[i, y0[i]] if y0[i] != y0[9 - i] else np.nan for i in range(10)])
    known = ~np.isnan(lam)
    assert known.sum() >= 4 and np.all((lam[known] >= 0) & (lam[known] <= 1))
    assert np.ptp(lam[known]) > 0.05  # a proportion per face, not one per batch
    for i in np.flatnonzero(known):
        np.testing.assert_allclose(x[i, ..., 0], lam[i] * x0[i] + (1 - lam[i]) * x0[9 - i], atol=0.05)
        np.testing.assert_allclose(w[i], lam[i] * w0[i] + (1 - lam[i]) * w0[9 - i], rtol=1e-4)
        np.testing.assert_allclose(y[i], lam[i] * onehot[i] + (1 - lam[i]) * onehot[9 - i], atol=1e-6)
    np.testing.assert_allclose(y.sum(axis=1), 1, atol=1e-5)
    (again, _), _ = _first_batch(small_fer.images[:10], small_fer.labels[:10], mix_only, 2)
    np.testing.assert_array_equal(again, x)  # seeded


def test_mixup_setting_is_recorded_only_when_on():
    assert "mixup" not in Augmentation().to_dict()  # runs from before mixup existed resume unchanged
    on = Augmentation(mixup=0.2)
    assert on.to_dict()["mixup"] == 0.2 and Augmentation(**on.to_dict()) == on
    assert on.scaled(0.5).mixup == 0.2 and not on.is_identity()
    with pytest.raises(ValueError, match="mixup"):
        Augmentation(mixup=-1)
    with pytest.raises(ValueError, match="needs labels"):
        TrainingBatches(np.zeros((2, 48, 48), np.uint8), None, augment=on)
