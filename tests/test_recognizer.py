import io

import numpy as np
import pytest
from PIL import Image

from emoj_lib import config
from emoj_lib.errors import NoFaceError
from emoj_lib.labels import EMOTIONS
from emoj_lib.recognizer import Recognizer, default_model_path


def test_predict_batches_match_single(tiny_model, learnable):
    rec = Recognizer(tiny_model, batch_size=7)
    p = rec.predict(learnable.images[:20])
    assert p.shape == (20, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-4)
    np.testing.assert_allclose(rec.predict(learnable.images[3]), p[3:4], atol=1e-5)
    assert rec.predict(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    with pytest.raises(ValueError, match="shape"):
        rec.predict(np.zeros((2, 10, 10)))


def test_analyze_photo_without_face(tiny_model):
    rec = Recognizer(tiny_model)
    wall = np.full((200, 300, 3), 120, np.uint8)
    assert rec.analyze(wall) == []
    with pytest.raises(NoFaceError):
        rec.analyze(wall, policy="largest")


@pytest.mark.shared_data
def test_shipped_model_reads_a_smile(require_shared):
    photo = require_shared(config.photos_dir() / "deepface__img1.jpg")  # "clear broad smile"
    rec = Recognizer()
    assert rec.card["labels"] == list(EMOTIONS)
    readings = rec.analyze(photo, policy="all")
    assert len(readings) == 1
    top2 = [EMOTIONS[i] for i in np.argsort(readings[0].probabilities)[-2:]]
    assert "happy" in top2
    buf = io.BytesIO()
    Image.open(photo).save(buf, format="PNG")
    again = rec.analyze(buf.getvalue(), policy="largest")[0]  # the same photo as bytes
    assert again.emotion == readings[0].emotion
    assert default_model_path().stat().st_size < 10 * 1024 * 1024


@pytest.mark.shared_data
def test_small_shipped_model_by_name_reads_the_same_smile_faster(require_shared):
    photo = require_shared(config.photos_dir() / "deepface__img1.jpg")
    small, default = Recognizer("small"), Recognizer()
    assert small.card["name"] == "emoj_fer2013_small" and small.card["labels"] == list(EMOTIONS)
    assert small.model.count_params() < default.model.count_params() / 3
    assert small.backend == "tflite"  # its converted model's card shows it faster and as accurate
    assert small.analyze(photo, policy="largest")[0].emotion == "happy"
    assert small.card["metrics"]["PrivateTest"]["accuracy"] < default.card["metrics"]["PrivateTest"]["accuracy"]
