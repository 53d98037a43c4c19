import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emoj_lib.cli import main
from emoj_lib.data import read_fer_csv, write_fer_csv

EMOJ = str(Path(sys.executable).with_name("emoj"))


@pytest.fixture
def fer_csv(tmp_path, learnable):
    return write_fer_csv(tmp_path / "faces.csv", learnable.images, learnable.labels, learnable.usage)


def test_data_report(fer_csv, capsys):
    assert main(["data", "report", "--fer", str(fer_csv)]) == 0
    out = capsys.readouterr().out
    assert "350 faces" in out and "duplicate_groups" in out and "PrivateTest" in out


def test_bad_data_exits_1_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    assert main(["data", "report", "--fer", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv, line 2" in err and "3 values" in err
    assert main(["data", "report", "--fer", str(bad), "--skip-bad-rows"]) == 0


def test_folder_round_trip(tmp_path, fer_csv):
    assert main(["data", "to-folder", str(fer_csv), str(tmp_path / "folder")]) == 0
    assert main(["data", "from-folder", str(tmp_path / "folder"), str(tmp_path / "back.csv"), "--quiet"]) == 0
    a, b = read_fer_csv(fer_csv), read_fer_csv(tmp_path / "back.csv")
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_crop_folder_reports_photos_left_out(tmp_path, capsys):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(photos / "wall.jpg")
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    assert main(["data", "crop", str(photos), str(tmp_path / "out.csv"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "0 face(s) from 2 photo(s)" in out and "no face" in out and "unreadable" in out


def test_evaluate_and_predict(tmp_path, tiny_model, fer_csv, capsys):
    assert main(["evaluate", str(tiny_model), "--fer", str(fer_csv), "--out", str(tmp_path / "rep")]) == 0
    assert (tmp_path / "rep" / "metrics.json").is_file()
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "wall.png"), "--model", str(tiny_model), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"photo": str(tmp_path / "wall.png"), "faces": []}]
    assert main(["predict", str(tmp_path / "missing.png"), "--model", str(tiny_model)]) == 1


def test_real_entry_point_help_and_bad_arguments():
    done = subprocess.run([EMOJ, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "demo" in done.stdout
    done = subprocess.run([EMOJ, "train", "stage1", "--epochs", "many"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and "invalid int value" in done.stderr


def test_journal_commands(tmp_path, tiny_model, capsys, require_shared):
    from emoj_lib import config

    photo = require_shared(config.photos_dir() / "deepface__couple.jpg")
    j = ["--journal", str(tmp_path / "j")]
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(wall)
    assert main(["journal", "add", str(wall), "--model", str(tiny_model), *j]) == 1
    assert "no face found" in capsys.readouterr().err
    assert main(["journal", "add", str(photo), "--model", str(tiny_model), "--face", "3", *j]) == 2
    assert main(["journal", "add", str(photo), "--model", str(tiny_model), "--face", "2", "--label", "happy",
                 "--note", "a, \"quoted\" note", *j]) == 0
    capsys.readouterr()
    assert main(["journal", "list", "--json", *j]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["user_label"] == "happy" and row["note"] == 'a, "quoted" note'
    assert main(["journal", "plot", str(tmp_path / "mood.png"), *j]) == 0
    assert (tmp_path / "mood.png").stat().st_size > 1000
    assert main(["journal", "personalize", *j]) == 1
    assert "needs at least 20" in capsys.readouterr().err


def test_demo_writes_a_journal_entry_and_a_chart(tmp_path, tiny_model, capsys):
    import stat

    from emoj_lib.journal import read_journal

    assert main(["demo", "--out", str(tmp_path / "demo"), "--model", str(tiny_model)]) == 0
    out = capsys.readouterr().out
    assert "1 face(s)" in out and "voila notebooks/05_journal.ipynb" in out
    entries = read_journal(tmp_path / "demo" / "journal" / "journal.csv").entries
    assert len(entries) == 1 and entries.note.iloc[0] == "emoj demo: astronaut portrait"
    assert stat.S_IMODE((tmp_path / "demo" / "journal" / "journal.csv").stat().st_mode) == 0o600
    assert (tmp_path / "demo" / "mood.png").stat().st_size > 1000
    assert stat.S_IMODE((tmp_path / "demo" / "mood.png").stat().st_mode) == 0o600


# --- the parser: every argument documented, defaults from the configuration dataclasses ------------------------------


def _parsers(parser, path=()):
    """Yield (command words, parser) for the parser and every sub-command."""
    import argparse

    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def test_every_argument_has_help():
    from emoj_lib.cli import build_parser

    missing = [(" ".join(path), action.dest) for path, p in _parsers(build_parser()) for action in p._actions
               if not action.help and action.dest != "help"]
    assert missing == []


def test_options_take_their_defaults_from_the_configuration_classes():
    from emoj_lib.cli import build_parser
    from emoj_lib.cli.options import config_from_args
    from emoj_lib.training import TrainConfig
    from emoj_lib.transfer import TransferConfig

    parser = build_parser()
    args = parser.parse_args(["train", "stage1"])
    assert config_from_args(TrainConfig, args) == TrainConfig()
    args = parser.parse_args(["train", "stage1", "--epochs", "3", "--patience", "none", "--no-drop-blank",
                              "--min-learning-rate", "0.5", "--labels", "ferplus"])
    config = config_from_args(TrainConfig, args)
    assert (config.epochs, config.patience, config.drop_blank, config.min_learning_rate, config.labels) == (
        3, None, False, 0.5, "ferplus")
    assert config.batch_size == TrainConfig().batch_size
    args = parser.parse_args(["train", "stage2", "faces", "--holdout", "0.3", "--validation", "0"])
    config = config_from_args(TransferConfig, args)
    assert (config.holdout, config.validation, config.head_epochs) == (0.3, 0.0, TransferConfig().head_epochs)
    # a value the configuration refuses is a usage error of the command
    args = parser.parse_args(["train", "stage2", "faces", "--holdout", "2"])
    with pytest.raises(SystemExit) as stop:
        config_from_args(TransferConfig, args)
    assert stop.value.code == 2


def test_only_project_errors_become_one_line(tmp_path, capsys, monkeypatch):
    import emoj_lib.cli.data as data_cli
    from emoj_lib.cli import main

    assert main(["data", "report", "--fer", str(tmp_path / "nowhere.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("emoj: error:") and "nowhere.csv" in err and len(err.strip().splitlines()) == 1

    def bug(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(data_cli, "print_data_report", bug)
    with pytest.raises(TypeError, match="a bug"):  # a bug shows its traceback
        main(["data", "report"])


def test_version():
    from emoj_lib import __version__

    done = subprocess.run([EMOJ, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"emoj {__version__}"
