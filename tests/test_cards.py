import json
import shutil

import numpy as np
import pytest

from emoj_lib.cards import ModelCardError, face_options, load_model, preprocessing, read_card, write_card
from emoj_lib.labels import EMOTIONS


def copy_model(src, dst_dir, name="m"):
    dst = dst_dir / f"{name}.keras"
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_card_records_the_files_sha256_and_loading_checks_it(tiny_model, tmp_path):
    path = copy_model(tiny_model, tmp_path)
    card = read_card(path)
    assert len(card["model_sha256"]) == 64
    load_model(path)
    other = copy_model(tiny_model, tmp_path, "other")
    write_card(other, {**card, "model_sha256": "0" * 64})
    card2 = read_card(other)
    assert card2["model_sha256"] == card["model_sha256"]  # write_card records the real file's hash
    card2["model_sha256"] = "0" * 64
    other.with_suffix(".json").write_text(json.dumps(card2))
    with pytest.raises(ModelCardError, match="SHA-256"):
        load_model(other)


def test_truncated_model_file_says_damaged(tiny_model, tmp_path):
    path = copy_model(tiny_model, tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    write_card(path, read_card(tiny_model))  # a card that matches the damaged bytes: the load itself must fail
    with pytest.raises(ModelCardError, match="damaged model file"):
        load_model(path)
    path.unlink()
    with pytest.raises(FileNotFoundError):
        load_model(path)


def test_wrong_parameter_count_and_logits_are_refused(tiny_model, tmp_path):
    import keras

    path = copy_model(tiny_model, tmp_path)
    card = read_card(path)
    write_card(path, {**card, "parameters": 75})
    with pytest.raises(ModelCardError, match="parameters, its card says 75"):
        load_model(path)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Flatten()(inputs)
    logits = keras.layers.Dense(7, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(-1.0))(x)
    bad = tmp_path / "logits.keras"
    keras.Model(inputs, logits).save(bad)
    write_card(bad, {"labels": list(EMOTIONS)})
    with pytest.raises(ModelCardError, match="not probabilities"):
        load_model(bad)


def test_preprocessing_is_structured_and_read_back():
    from emoj_lib.faces import CropOptions, DetectorOptions

    prep = preprocessing(crop=CropOptions(margin=0.3, equalize=True), detector=DetectorOptions(min_neighbors=7))
    assert prep["crop"] == {"size": 48, "margin": 0.3, "equalize": True, "color": False}
    assert prep["detector"]["name"] == "haar" and prep["detector"]["options"]["min_neighbors"] == 7
    json.dumps(prep)  # plain JSON
    options = face_options({"input": {"preprocessing": prep}})
    assert options == {"decode_side": 512, "crop": CropOptions(margin=0.3, equalize=True),
                       "detector": DetectorOptions(min_neighbors=7)}
    old = face_options({"input": {"preprocessing": "grayscale face crop resized to 48x48"}})
    assert old == {"decode_side": 512, "crop": CropOptions(), "detector": DetectorOptions()}
    with pytest.raises(ModelCardError, match="malformed"):
        face_options({"name": "x", "input": {"preprocessing": {"crop": {}}}})


def test_shipped_card_records_how_the_shipped_model_is_fed():
    from emoj_lib.faces import CropOptions, DetectorOptions
    from emoj_lib.recognizer import default_model_path

    card = read_card(default_model_path())
    assert face_options(card) == {"decode_side": 512, "crop": CropOptions(margin=0.1), "detector": DetectorOptions()}


def test_recognizer_feeds_the_model_as_its_card_says(tiny_model, tmp_path):
    """Golden crop: the recognizer crops the astronaut's face with the card's margin and equalisation."""
    from skimage import data as skdata

    from emoj_lib.faces import CropOptions, crop_face
    from emoj_lib.recognizer import Recognizer

    photo = skdata.astronaut()
    default = Recognizer(tiny_model, fast=False).analyze(photo, policy="largest")[0]
    np.testing.assert_array_equal(default.crop, crop_face(photo, default.box, CropOptions(margin=0.1)))
    path = copy_model(tiny_model, tmp_path)
    card = read_card(path)
    card["input"]["preprocessing"] = preprocessing(crop=CropOptions(margin=0.35, equalize=True))
    write_card(path, card)
    rec = Recognizer(path, fast=False)
    assert rec.face_options["crop"] == CropOptions(margin=0.35, equalize=True)
    reading = rec.analyze(photo, policy="largest")[0]
    assert reading.box == default.box
    np.testing.assert_array_equal(reading.crop, crop_face(photo, reading.box, CropOptions(margin=0.35, equalize=True)))
    assert not np.array_equal(reading.crop, default.crop)
