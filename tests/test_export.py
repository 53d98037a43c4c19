import shutil

import numpy as np
import pytest

from emoj_lib.cards import ModelCardError, read_card, write_card
from emoj_lib.export import FastModel, export_model, fast_model_path, fast_path_ok
from emoj_lib.inference import predict_proba


@pytest.fixture
def model_copy(tiny_model, tmp_path):
    dst = tmp_path / "m.keras"
    shutil.copy(tiny_model, dst)
    shutil.copy(tiny_model.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_export_round_trip(model_copy, learnable):
    from emoj_lib.cards import load_model

    test = learnable.split("PrivateTest")
    out = export_model(model_copy, faces=test.images, labels=test.labels, measured_on="learnable", repeat=1)
    assert out == fast_model_path(model_copy) and out.suffix == ".tflite"
    card = read_card(out)
    assert card["format"] == "tflite" and card["labels"] == read_card(model_copy)["labels"]
    figures = card["fast_path"]
    assert figures["faces"] == 70 and figures["argmax_agreement"] == 1.0 and figures["max_abs_diff"] < 1e-4
    assert figures["fast_accuracy"] == figures["keras_accuracy"]
    keras_model, _ = load_model(model_copy)
    fast = FastModel(out)
    p_keras = predict_proba(keras_model, learnable.images[:50], batch_size=16)
    p_fast = predict_proba(fast, learnable.images[:50], batch_size=16)  # batch sizes 16 and 2: resized inputs
    np.testing.assert_array_equal(p_keras.argmax(1), p_fast.argmax(1))
    np.testing.assert_allclose(p_fast, p_keras, atol=1e-4)
    np.testing.assert_allclose(predict_proba(fast, learnable.images[:5], tta="flip"),
                               predict_proba(keras_model, learnable.images[:5], tta="flip"), atol=1e-4)


def test_int8_export_stays_close(model_copy, learnable):
    test = learnable.split("PrivateTest")
    out = export_model(model_copy, int8=True, faces=test.images, labels=test.labels, repeat=1)
    assert out.name == "m-int8.tflite"
    figures = read_card(out)["fast_path"]
    assert figures["argmax_agreement"] >= 0.9 and figures["max_abs_diff"] < 0.2


def test_the_recognizer_uses_the_fast_model_only_when_its_card_allows(model_copy, learnable):
    from emoj_lib.recognizer import Recognizer

    out = export_model(model_copy)  # no figures: never chosen by itself
    assert Recognizer(model_copy).backend == "keras"
    with pytest.raises(ModelCardError, match="no measured accuracy"):
        Recognizer(model_copy, fast=True)
    card = read_card(out)
    good = {"speedup": 2.0, "keras_accuracy": 0.700, "fast_accuracy": 0.698}
    write_card(out, {**card, "fast_path": good})
    rec = Recognizer(model_copy)
    assert rec.backend == "tflite" and "2.00x faster" in rec.fast_reason
    np.testing.assert_allclose(rec.predict(learnable.images[:8]),
                               Recognizer(model_copy, fast=False).predict(learnable.images[:8]), atol=1e-4)
    assert fast_path_ok({**card, "fast_path": {**good, "fast_accuracy": 0.690}}, model_copy)[0] is False
    assert fast_path_ok({**card, "fast_path": {**good, "speedup": 0.9}}, model_copy)[0] is False
    out.write_bytes(out.read_bytes()[:-8] + b"\0" * 8)  # the converted file damaged after its card was written
    assert Recognizer(model_copy).backend == "keras"
    model_copy.write_bytes(model_copy.read_bytes())  # same bytes: still the same model
    assert fast_path_ok({**card, "fast_path": good}, model_copy)[0] is True
    stale = {**card, "fast_path": good, "source_model": {"file": "m.keras", "sha256": "0" * 64}}
    assert fast_path_ok(stale, model_copy) == (False, "it was converted from another version of the model file")


def test_damaged_fast_model_is_named(tmp_path):
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ModelCardError, match="damaged TFLite model"):
        FastModel(bad)


def test_onnx_export_round_trip_and_the_fastest_accepted_path_is_chosen(model_copy, learnable):
    from emoj_lib.cards import load_model
    from emoj_lib.export import OnnxModel
    from emoj_lib.recognizer import Recognizer

    test = learnable.split("PrivateTest")
    out = export_model(model_copy, "onnx", faces=test.images, labels=test.labels, repeat=1)
    assert out == fast_model_path(model_copy, format="onnx") and out.name == "m.onnx"
    card = read_card(out)
    assert card["format"] == "onnx" and card["fast_path"]["argmax_agreement"] == 1.0
    keras_model, _ = load_model(model_copy)
    onnx_model = OnnxModel(out)
    p_keras = predict_proba(keras_model, learnable.images[:50], batch_size=16)
    p_onnx = predict_proba(onnx_model, learnable.images[:50], batch_size=16)
    np.testing.assert_array_equal(p_keras.argmax(1), p_onnx.argmax(1))
    np.testing.assert_allclose(p_onnx, p_keras, atol=1e-4)

    tflite = export_model(model_copy)  # both beside the model: the larger measured speed-up wins
    good = {"speedup": 1.5, "keras_accuracy": 0.700, "fast_accuracy": 0.700}
    write_card(tflite, {**read_card(tflite), "fast_path": good})
    write_card(out, {**card, "fast_path": {**good, "speedup": 1.8}})
    rec = Recognizer(model_copy)
    assert rec.backend == "onnx" and rec.fast_reason.startswith("m.onnx: 1.80x faster")
    write_card(out, {**card, "fast_path": {**good, "speedup": 1.2}})
    assert Recognizer(model_copy).backend == "tflite"
    with pytest.raises(ValueError, match="tflite format only"):
        export_model(model_copy, "onnx", int8=True)
    bad = out.with_name("bad.onnx")
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(ModelCardError, match="damaged ONNX model"):
        OnnxModel(bad)
