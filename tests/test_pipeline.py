from dataclasses import replace

import numpy as np
import pytest

from emoj_lib.data.pipeline import Augmentation, class_weights, make_dataset, sample_weights


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


def test_augmented_shuffled_pipeline_is_deterministic_under_seed(small_fer):
    def run(seed):
        ds = make_dataset(small_fer.images, small_fer.labels, batch_size=10, shuffle=True,
                          augment=Augmentation(), seed=seed)
        return _batches(ds) + _batches(ds)  # two epochs

    a, b, c = run(7), run(7), run(8)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not all(np.array_equal(xa, xc) for (xa, _), (xc, _) in zip(a, c, strict=True))
    # a new epoch brings a new order and new augmentations
    assert not np.array_equal(a[0][0], a[3][0])


def test_augmentation_changes_faces_within_range(small_fer):
    x0 = small_fer.images[:10].astype(np.float32)
    ds = make_dataset(small_fer.images[:10], small_fer.labels[:10], batch_size=10, augment=Augmentation(), seed=1)
    x, _ = next(iter(ds))
    x = np.asarray(x)[..., 0]
    assert x.min() >= 0 and x.max() <= 255
    assert not np.allclose(x, x0)
    flip_only = Augmentation(flip=True, rotation=0, shift=0, zoom=0, brightness=0, contrast=0)
    xf, _ = next(iter(make_dataset(small_fer.images[:10], small_fer.labels[:10], batch_size=10,
                                   augment=flip_only, seed=3)))
    xf = np.asarray(xf)[..., 0]
    for i in range(10):  # every face is itself or its mirror image, exactly
        assert np.array_equal(xf[i], x0[i]) or np.array_equal(xf[i], x0[i][:, ::-1])
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
    x0, y0 = small_fer.images[:10].astype(np.float32), small_fer.labels[:10]
    w0 = np.arange(1, 11, dtype=np.float32)
    mix_only = replace(Augmentation.none(), mixup=0.4)
    x, y, w = (np.asarray(t) for t in next(iter(make_dataset(
        small_fer.images[:10], y0, batch_size=10, augment=mix_only, seed=2, sample_weight=w0))))
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
    again = np.asarray(next(iter(make_dataset(small_fer.images[:10], y0, batch_size=10, augment=mix_only,
                                              seed=2)))[0])
    np.testing.assert_array_equal(again, x)  # seeded


def test_mixup_setting_is_recorded_only_when_on():
    assert "mixup" not in Augmentation().to_dict()  # runs from before mixup existed resume unchanged
    on = Augmentation(mixup=0.2)
    assert on.to_dict()["mixup"] == 0.2 and Augmentation(**on.to_dict()) == on
    assert on.scaled(0.5).mixup == 0.2 and not on.is_identity()
    with pytest.raises(ValueError, match="mixup"):
        Augmentation(mixup=-1)
    with pytest.raises(ValueError, match="needs labels"):
        make_dataset(np.zeros((2, 48, 48), np.uint8), augment=on)
