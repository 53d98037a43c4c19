import keras
import numpy as np
import pytest

from emoj_lib.models import build_model, get_architecture, list_architectures


def test_registry_lists_three_architectures_with_sources():
    table = list_architectures()
    assert {"baseline", "mini_xception", "emojnet"} <= set(table.index)
    assert (table.parameters > 10_000).all()
    assert "Arriaga" in table.loc["mini_xception", "source"]
    assert table.loc["mini_xception", "parameters"] < 100_000  # a mini network, as published (~60k)


@pytest.mark.parametrize("name", ["baseline", "mini_xception", "emojnet"])
def test_each_architecture_builds_and_trains_one_step(name, rng):
    model = build_model(name)
    assert model.input_shape == (None, 48, 48, 1) and model.output_shape == (None, 7)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    x = rng.integers(0, 256, (8, 48, 48, 1)).astype("float32")
    y = np.eye(7, dtype="float32")[rng.integers(0, 7, 8)]
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    p = np.asarray(model(x, training=False))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-4)


def test_hyperparameters_are_honoured_or_rejected():
    small = build_model("emojnet", width=8, depth=2, dense=16)
    assert small.count_params() < build_model("emojnet").count_params()
    assert small.get_layer("block2_conv1").filters == 16
    with pytest.raises(TypeError, match=r"no hyperparameter.*widht"):
        build_model("emojnet", widht=8)
    with pytest.raises(KeyError, match="unknown architecture 'vgg99'"):
        build_model("vgg99")
    assert get_architecture("emojnet").defaults()["width"] == 32


def test_model_input_takes_raw_pixels():
    model = build_model("emojnet", width=8, depth=1, dense=8)
    assert isinstance(model.layers[1], keras.layers.Rescaling)
