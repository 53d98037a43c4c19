"""People folders: JAFFE-named photos laid out per person and emotion."""

import numpy as np
import pytest
from PIL import Image

from emoj_lib.data.people import groups_from_names, layout_people, read_people
from emoj_lib.errors import DataFormatError


def _photos(folder, names):
    folder.mkdir(parents=True)
    for name in names:
        Image.fromarray(np.full((64, 64), 128, np.uint8)).save(folder / name)


def test_layout_and_read_people(tmp_path):
    _photos(tmp_path / "flat", ["KA.AN1.39.tiff", "KA.NE2.3.tiff", "YM.HA1.52.tiff", "README.png"])
    table = layout_people(tmp_path / "flat", tmp_path / "people")
    pairs = sorted(zip(table.person, table.emotion, strict=True))
    assert pairs == [("KA", "angry"), ("KA", "neutral"), ("YM", "happy")]
    assert (tmp_path / "people" / "KA" / "angry" / "KA.AN1.39.tiff").is_symlink()
    people = read_people(tmp_path / "people")
    assert list(people.person) == ["KA", "KA", "YM"] and list(people.label) == [0, 6, 3]
    copied = layout_people(tmp_path / "flat", tmp_path / "copied", copy=True)
    assert len(copied) == 3 and not (tmp_path / "copied" / "YM" / "happy" / "YM.HA1.52.tiff").is_symlink()


def test_people_errors(tmp_path):
    _photos(tmp_path / "flat", ["x.png"])
    with pytest.raises(DataFormatError, match="no photo name matches"):
        layout_people(tmp_path / "flat", tmp_path / "people")
    (tmp_path / "bad" / "KA" / "grumpy").mkdir(parents=True)
    with pytest.raises(DataFormatError, match="grumpy: folder name is not an emotion"):
        read_people(tmp_path / "bad")
    with pytest.raises(DataFormatError, match="not a folder"):
        read_people(tmp_path / "missing")


def test_groups_from_names():
    assert groups_from_names(["a/KA.AN1.39.tiff", "YM.SU2.1.tiff"], r"^(?P<person>[A-Z]+)\.") == ["KA", "YM"]
    assert groups_from_names(["s01_x.png"], r"^(s\d+)_") == ["s01"]
    with pytest.raises(DataFormatError, match=r"img\.png: file name does not match"):
        groups_from_names(["img.png"], r"^(?P<person>[A-Z]+)\.")


def test_cli_data_people(tmp_path, capsys):
    from emoj_lib.cli import main

    _photos(tmp_path / "flat", ["KA.AN1.39.tiff", "KA.NE2.3.tiff", "YM.HA1.52.tiff"])
    assert main(["data", "people", str(tmp_path / "flat"), str(tmp_path / "people"), "--copy"]) == 0
    assert "3 photos of 2 persons" in capsys.readouterr().out
    assert (tmp_path / "people" / "YM" / "happy" / "YM.HA1.52.tiff").is_file()


def _faces(folder, names, rng):
    """48x48 images: read as faces as they are (no detection)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(rng.integers(0, 255, (48, 48)).astype(np.uint8)).save(folder / name)


def test_people_layout_gives_each_face_its_group(tmp_path, rng):
    from emoj_lib.data.folders import face_groups, guess_layout, read_image_folder

    _faces(tmp_path / "p" / "KA" / "angry", ["KA.AN1.png", "KA.AN2.png"], rng)
    _faces(tmp_path / "p" / "KA" / "happy", ["KA.HA1.png"], rng)
    _faces(tmp_path / "p" / "YM" / "sad", ["YM.SA1.png", "YM.SA2.png"], rng)
    (tmp_path / "p" / "YM" / "notes.txt").write_text("not an image")
    assert guess_layout(tmp_path / "p") == "people"
    data, report = read_image_folder(tmp_path / "p", layout="people")
    groups = face_groups(data, report)
    assert list(groups) == ["KA", "KA", "KA", "YM", "YM"] and list(data.labels) == [0, 0, 3, 4, 4]
    assert list(face_groups(data, report, r"^(?P<person>[A-Z]+)\.")) == list(groups)
    with pytest.raises(DataFormatError, match="does not match the group pattern"):
        face_groups(data, report, r"^(?P<person>\d+)_")
    _faces(tmp_path / "e" / "happy", ["a.png"], rng)
    assert guess_layout(tmp_path / "e") == "emotions"
    _faces(tmp_path / "s" / "train" / "happy", ["a.png"], rng)
    assert guess_layout(tmp_path / "s") == "emotions"  # a split level is not a group level


def test_csv_group_column(tmp_path, rng):
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.people import csv_groups
    from emoj_lib.data.pixels import encode_pixels

    faces = rng.integers(0, 255, (4, 48, 48)).astype(np.uint8)
    rows = [f'{k},"{encode_pixels(f)}",Training,{g}' for k, f, g in zip([0, 3, 4, 6], faces, "aabb", strict=True)]
    path = tmp_path / "faces.csv"
    path.write_text("emotion,pixels,Usage,group\n" + "\n".join(rows) + "\n")
    data = read_fer_csv(path)
    assert list(csv_groups(path, data)) == ["a", "a", "b", "b"]
    assert list(csv_groups(path, data.subset(np.array([False, True, False, True])))) == ["a", "b"]
    path.write_text("emotion,pixels,Usage,group\n" + "\n".join([*rows[:2], rows[2].rsplit(",", 1)[0] + ","]) + "\n")
    with pytest.raises(DataFormatError, match=r"line 4, field 'group': empty group"):
        csv_groups(path, read_fer_csv(path))
    path.write_text("emotion,pixels,Usage\n" + "\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")
    assert csv_groups(path, read_fer_csv(path)) is None
