import numpy as np
import pytest

from emoj_lib.inference import TENCROP_SIZE, check_tta, predict_proba, tencrop_views


class Recorder:
    """A fake model: records every batch it sees; answers class 0 when the left half is brighter, else 1."""

    def __init__(self):
        self.batches = []

    def __call__(self, x):
        self.batches.append(np.array(x))
        left = x[:, :, : x.shape[2] // 2].mean(axis=(1, 2, 3))
        right = x[:, :, x.shape[2] // 2:].mean(axis=(1, 2, 3))
        p = np.zeros((len(x), 7), np.float32)
        p[np.arange(len(x)), np.where(left > right, 0, 1)] = 1
        return p


def test_flip_tta_mirrors_left_right_not_up_down():
    face = np.zeros((48, 48), np.uint8)
    face[:, :24] = 200  # bright left half
    face[:10, :] = 255  # and a bright top band: a vertical flip would change it, not the left/right answer
    model = Recorder()
    plain = predict_proba(model, face)
    assert plain[0, 0] == 1
    flip = predict_proba(model, face, tta="flip")
    np.testing.assert_allclose(flip[0, :2], [0.5, 0.5])  # the mirror image is brighter on the right
    mirrored = model.batches[-1][0, :, :, 0]
    np.testing.assert_array_equal(mirrored, face[:, ::-1].astype(np.float32))
    assert predict_proba(model, face, tta=True)[0, 0] == pytest.approx(0.5)


def test_tencrop_views_on_a_known_image():
    yy, xx = np.mgrid[0:48, 0:48]
    img = (yy * 48 + xx).astype(np.float32)[None, :, :, None] / 10  # every pixel tells where it is
    views = tencrop_views(img)
    assert len(views) == 10 and all(v.shape == (1, 48, 48, 1) for v in views)
    c = TENCROP_SIZE
    # a linear ramp stays linear under bilinear resizing: corners of each view are the crop's corners
    expected_top_left = {0: (0, 0), 1: (0, 48 - c), 2: (48 - c, 0), 3: (48 - c, 48 - c), 4: (2, 2)}
    for k, (y0, x0) in expected_top_left.items():
        v = views[k][0, :, :, 0]
        assert v[0, 0] == pytest.approx(img[0, y0, x0, 0], abs=0.6)
        assert v[-1, -1] == pytest.approx(img[0, y0 + c - 1, x0 + c - 1, 0], abs=0.6)
        np.testing.assert_array_equal(views[k + 5][0, :, :, 0], v[:, ::-1])  # its mirror image
    const = np.full((2, 48, 48, 1), 77, np.float32)
    for v in tencrop_views(const):
        np.testing.assert_allclose(v, 77, atol=1e-4)


def test_tencrop_averages_ten_passes_per_batch():
    model = Recorder()
    faces = np.zeros((5, 48, 48), np.uint8)
    faces[:, :, :30] = 200  # bright left, wider than any crop's half: every view says class 0...
    p = predict_proba(model, faces, tta="tencrop", batch_size=4)
    assert p.shape == (5, 7) and len(model.batches) == 20  # 2 batches x 10 views
    np.testing.assert_allclose(p[:, 0], 0.5)  # ...and every mirror view says class 1


def test_predict_proba_checks_its_input(tiny_model, learnable):
    from emoj_lib.cards import load_model

    model, _ = load_model(tiny_model)
    p = predict_proba(model, learnable.images[:9], batch_size=4)
    assert p.shape == (9, 7) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-4)
    np.testing.assert_allclose(predict_proba(model, learnable.images[:9, :, :, None]), p, atol=1e-5)
    ten = predict_proba(model, learnable.images[:9], tta="tencrop")
    np.testing.assert_allclose(ten.sum(axis=1), 1, rtol=1e-4)
    assert predict_proba(model, np.zeros((0, 48, 48))).shape == (0, 7)
    with pytest.raises(ValueError, match="shape"):
        predict_proba(model, np.zeros((2, 40, 40)))
    with pytest.raises(ValueError, match="tta must be one of"):
        check_tta("mirror")
