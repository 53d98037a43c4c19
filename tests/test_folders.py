import numpy as np
import pytest
from PIL import Image

from emoj_lib.data import FerData
from emoj_lib.data.folders import export_image_folder, read_image_folder
from emoj_lib.errors import DataFormatError


def test_export_and_read_back_losslessly(tmp_path, small_fer):
    root = export_image_folder(small_fer, tmp_path / "faces")
    assert (root / "Training" / "angry").is_dir()
    back, report = read_image_folder(root)
    np.testing.assert_array_equal(back.images, small_fer.images)
    np.testing.assert_array_equal(back.labels, small_fer.labels)
    np.testing.assert_array_equal(back.usage, small_fer.usage)
    assert (report.status == "kept").all()
    with pytest.raises(FileExistsError):
        export_image_folder(small_fer, root)


def test_synonyms_case_unknown_folders_and_bad_files(tmp_path, rng):
    root = tmp_path / "set"
    for name in ["Happiness", "ANGER", "sadness", "bored"]:
        (root / name).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (48, 48), dtype=np.uint8)).save(root / name / "a.png")
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(root / "sadness" / "b.jpg")
    (root / "sadness" / "broken.png").write_bytes(b"not a png")
    (root / "sadness" / "notes.txt").write_text("hello")
    Image.fromarray(np.full((300, 300, 3), 128, np.uint8)).save(root / "ANGER" / "wall.jpg")  # a photo, no face
    data, report = read_image_folder(root, usage="MySet")
    assert sorted(data.labels.tolist()) == [0, 3, 4, 4]
    assert set(data.usage) == {"MySet"}
    status = dict(zip(report.file.str.rsplit("/", n=2).str[-2:].str.join("/"), report.status, strict=True))
    assert status["set/bored"] == "unknown folder"
    assert status["sadness/broken.png"] == "unreadable"
    assert status["sadness/notes.txt"] == "not an image"
    assert status["ANGER/wall.jpg"] == "no face"
    assert "broken.png" in report.loc[report.status == "unreadable", "reason"].iloc[0]


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="empty: no images found"):
        read_image_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_image_folder(tmp_path / "nowhere")


def test_unlabelled_cannot_be_exported(tmp_path, small_fer):
    data = FerData(small_fer.images[:2], [-1, 2], "Training")
    with pytest.raises(ValueError, match="unlabelled"):
        export_image_folder(data, tmp_path / "x")
