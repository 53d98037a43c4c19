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
