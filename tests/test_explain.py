import numpy as np
import pytest

from emoj_lib.explain import explain, overlay, save_explanation, target_layer


@pytest.fixture
def tiny(tiny_model):
    from emoj_lib.cards import load_model

    return load_model(tiny_model)[0]


def test_gradcam_peaks_on_the_band_that_carries_the_emotion(tiny, learnable):
    """Learnable faces carry their emotion in a bright band at rows 6k..6k+6: the map must peak there."""
    from emoj_lib.inference import predict_proba

    faces, labels = learnable.images[:70], learnable.labels[:70]
    right = predict_proba(tiny, faces).argmax(1) == labels
    maps = explain(tiny, faces[right])
    assert maps.shape == (right.sum(), 48, 48) and maps.dtype == np.float32
    assert maps.min() >= 0 and np.allclose(maps.reshape(len(maps), -1).max(1), 1)
    peak_row = maps.mean(axis=2).argmax(axis=1)  # the row with most evidence
    # the band's box, widened by one band: a map blind to the band would land there about 18/48 of the time
    inside = (peak_row >= 6 * labels[right] - 6) & (peak_row < 6 * labels[right] + 12)
    assert inside.mean() >= 0.8
    one = explain(tiny, faces[0], emotion="happy")
    assert one.shape == (48, 48)


def test_target_layer_is_the_last_convolutional_block(tiny):
    layer = target_layer(tiny)
    assert layer.name.startswith("block2_") and len(layer.output.shape) == 4


def test_overlay_and_picture(tmp_path):
    face = np.full((48, 48), 100, np.uint8)
    heat = np.zeros((12, 12), np.float32)
    heat[0:3, 0:3] = 1  # top-left corner
    img = overlay(face, heat)
    assert img.shape == (48, 48, 3) and img.dtype == np.uint8
    assert (img[40:, 40:] == 100).all()  # no heat: the face unchanged
    assert not (img[2, 2] == 100).all()
    path = save_explanation(tmp_path / "x.png", face, heat, title="happy 0.91")
    from PIL import Image

    assert Image.open(path).size == (4 * 98, 4 * 48 + 22)
