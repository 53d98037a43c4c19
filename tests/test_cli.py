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


@pytest.mark.shared_data
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
    assert "1 face(s)" in out and "emoj app " in out and "emoj app --lab" in out
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


# --- behaviour through the installed `emoj` script -------------------------------------------------------------------


def emoj(*args, env=None, timeout=120):
    """Run the installed ``emoj`` script; return the finished process (text)."""
    import os

    full = {**os.environ, **(env or {})}
    full.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user's shell has: nothing
    return subprocess.run([EMOJ, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=full)


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory):
    """A JPEG with two faces (the astronaut portrait, and a half-size copy beside it): larger on the left."""
    from skimage import data as skdata

    portrait = skdata.astronaut()
    image = np.zeros((512, 768, 3), np.uint8)
    image[:, :512] = portrait
    image[128:384, 512:] = np.asarray(Image.fromarray(portrait).resize((256, 256)))
    path = tmp_path_factory.mktemp("photos") / "two.jpg"
    Image.fromarray(image).save(path, quality=92)
    return path


@pytest.fixture
def small_journal(tmp_path):
    """A journal of 3 entries written with the library (no model needed)."""
    from datetime import datetime, timedelta, timezone

    from emoj_lib.journal import Entry, Journal

    journal = Journal(tmp_path / "journal", fsync=False)
    start = datetime(2026, 3, 2, 8, 30, tzinfo=timezone(timedelta(hours=2)))
    p = np.array([0.05, 0.05, 0.05, 0.7, 0.05, 0.05, 0.05])
    for i, (label, note) in enumerate([(None, ""), ("sad", "rain all day, and the bus was late " * 3),
                                       ("happy", "short")]):
        journal.append(Entry(face=np.full((48, 48), 100, np.uint8), box=(1, 2, 30, 30), probabilities=p,
                             source="file", model="m", model_version="1", timestamp=start + timedelta(days=i),
                             user_label=label, note=note, tags=("work",) if i else ()))
    return journal


@pytest.mark.slow
def test_quiet_by_default_and_verbose_on_request(tmp_path, tiny_model, two_faces):
    done = emoj("predict", two_faces, "--model", tiny_model, "--policy", "single")
    assert done.returncode == 1
    assert done.stderr == ""  # no TensorFlow log lines
    # the command's own words, not Python's
    assert "--policy single wants exactly one (use --policy largest or --policy all)" in done.stdout
    assert "policy='" not in done.stdout


def test_journal_list_is_a_readable_table(small_journal):
    done = emoj("journal", "list", "--journal", small_journal.folder)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["when", "id", "your", "label", "model", "note", "tags"]
    entries = small_journal.read(pixels=False).entries
    first, second, third = lines[1:]
    assert first.startswith("Mon 02 Mar 2026 08:30")  # local time, where the entry was written
    assert entries.index[0][:8] in first and entries.index[0] not in first  # a short id
    assert "happy 70%" in first and " - " in first  # the model's reading; no label of yours
    assert "sad" in second and "rain all day, and the bus was late rain\u2026" in second and "work" in second
    assert third.split()[5:9] == [entries.index[2][:8], "happy", "happy", "70%"]
    assert third.rstrip().endswith("short work")
    assert max(len(line) for line in lines) < 150
    done = emoj("journal", "list", "--journal", small_journal.folder, "--json", "--last", "2")
    rows = json.loads(done.stdout)
    assert [r["user_label"] for r in rows] == ["sad", "happy"]
    assert set(rows[0]) == {"entry_id", "timestamp", "source", "emotion", "confidence", "user_label", "note", "tags"}


def test_read_commands_refuse_a_missing_journal(tmp_path):
    typo = tmp_path / "jorunal"
    for command in (["journal", "list"], ["journal", "plot", tmp_path / "mood.png"], ["journal", "personalize"]):
        done = emoj(*command, "--journal", typo)
        assert done.returncode == 1, command
        assert done.stderr.strip() == f"emoj: error: no emoJ journal in {typo} (check the folder, or create one " \
                                      "by adding an entry)"
        assert not typo.exists()


@pytest.mark.slow
def test_journal_add_says_which_face_it_chose(tmp_path, tiny_model, two_faces):
    j = tmp_path / "journal"
    done = emoj("journal", "add", two_faces, "--model", tiny_model, "--journal", j)
    assert done.returncode == 0, done.stderr
    assert "2 faces in" in done.stderr and "saved face 1" in done.stderr and "--face N" in done.stderr
    done = emoj("journal", "add", two_faces, "--model", tiny_model, "--journal", j, "--face", "2", "--note", "n2")
    assert done.returncode == 0 and "saved face 2" in done.stderr
    from emoj_lib.journal import read_journal

    entries = read_journal(j / "journal.csv").entries
    assert list(entries["w"]) == sorted(entries["w"], reverse=True) and entries["x"].iloc[1] > 400  # the smaller


@pytest.mark.slow
def test_progress_bar_on_evaluate(tmp_path, tiny_model, fer_csv):
    shown = {"EMOJ_PROGRESS": "1"}
    done = emoj("evaluate", tiny_model, "--fer", fer_csv, "--out", tmp_path / "rep", env=shown)
    assert done.returncode == 0, done.stderr
    assert "evaluating" in done.stderr and "face/s" in done.stderr and "100%" in done.stderr
    assert "evaluating" not in emoj("evaluate", tiny_model, "--fer", fer_csv, "--out", tmp_path / "rep").stderr


@pytest.mark.slow
def test_progress_bars_on_notebooks(tmp_path):
    import nbformat

    shown = {"EMOJ_PROGRESS": "1"}
    folder = tmp_path / "nbs"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("print(x * 2)")]
    for name in ("a", "b"):
        nbformat.write(nb, folder / f"{name}.ipynb")
    done = emoj("notebooks", "--notebooks-dir", folder, "--out", tmp_path / "out", "-p", "x=21", env=shown)
    assert done.returncode == 0, done.stderr
    assert "notebooks: 100%" in done.stderr and "2/2" in done.stderr  # per notebook
    assert "Executing" in done.stderr and "cell/s" in done.stderr  # per cell (papermill's bar)
    assert "42" in json.dumps(nbformat.read(tmp_path / "out" / "b.ipynb", as_version=4).cells[-1].outputs)


@pytest.mark.slow
def test_epoch_progress_callback(monkeypatch, capsys):
    import keras

    from emoj_lib.cli.progress import epoch_progress

    monkeypatch.setenv("EMOJ_PROGRESS", "1")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.zeros((64, 3), np.float32), np.zeros(64, np.int64)
    model.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), verbose=0, callbacks=[epoch_progress()])
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "4/4" in err and "val_accuracy=" in err
    assert "batch/s" in err or "s/batch" in err


def test_journal_edit_and_list_filters(small_journal):
    entries = small_journal.read(pixels=False).entries
    target = entries.index[0]
    done = emoj("journal", "edit", target[:6], "--label", "angry", "--note", "edited", "--tags", "a", "b",
                "--journal", small_journal.folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"entry {target[:8]}: changed label, note, tags"
    row = small_journal.read(pixels=False).entries.loc[target]
    assert (row["user_label"], row["note"], row["tags"]) == ("angry", "edited", ("a", "b"))
    done = emoj("journal", "edit", target, "--label", "none", "--journal", small_journal.folder)
    assert done.returncode == 0 and small_journal.read(pixels=False).entries.loc[target].isna()["user_label"]
    done = emoj("journal", "edit", "zzz", "--note", "x", "--journal", small_journal.folder)
    assert done.returncode == 1 and "no entry 'zzz'" in done.stderr
    done = emoj("journal", "edit", target, "--journal", small_journal.folder)
    assert done.returncode == 2 and "nothing to change" in done.stderr

    listed = emoj("journal", "list", "--journal", small_journal.folder, "--json", "--emotion", "sad").stdout
    assert [r["note"][:4] for r in json.loads(listed)] == ["rain"]
    listed = emoj("journal", "list", "--journal", small_journal.folder, "--json", "--since", "2026-03-03",
                  "--search", "SHORT").stdout
    assert [r["note"] for r in json.loads(listed)] == ["short"]


def test_journal_delete_asks_first(small_journal):
    import subprocess as sp

    from emoj_lib.personal.finetune import install_model

    entries = small_journal.read(pixels=False).entries
    target = entries.index[1]
    models = small_journal.folder / "models"
    models.mkdir()
    (models / "weights").write_bytes(b"stand-in")  # only the card is read
    personal = install_model(models / "weights", {"stage": 3, "version": 1, "entries": [target]},
                             models / "personal-v1.keras")
    command = [EMOJ, "journal", "delete", target[:8], "--journal", str(small_journal.folder)]
    done = sp.run(command, input="n\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "for good?" in done.stderr and "nothing deleted" in done.stderr
    assert "and your personal model personal-v1 made from it" in done.stderr and personal.is_file()
    assert target in small_journal.read(pixels=False).entries.index
    done = sp.run(command, input="y\n", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and target not in small_journal.read(pixels=False).entries.index
    assert "removed personal-v1, made from it; the journal now reads faces with emoj_fer2013.keras" in done.stdout
    assert not personal.exists()
    assert "exports" not in done.stdout
    (small_journal.folder / "exports").mkdir()
    (small_journal.folder / "exports" / "emoj-journal.csv").write_text("entry_id\n")
    done = emoj("journal", "delete", entries.index[0], "--yes", "--journal", small_journal.folder)
    assert done.returncode == 0 and len(small_journal.read(pixels=False).entries) == 1
    assert "exports you made earlier" in done.stdout
    assert (small_journal.folder / "exports" / "emoj-journal.csv").is_file()


def test_journal_export_writes_csv_and_report(small_journal, tmp_path):
    import csv
    import stat

    small_journal.amend(small_journal.read(pixels=False).entries.index[2], note="=1+1 looks like a formula")
    done = emoj("journal", "export", tmp_path / "export", "--journal", small_journal.folder, "--no-charts")
    assert done.returncode == 0, done.stderr
    csv_path, html_path = (tmp_path / "export" / n for n in ("emoj-journal.csv", "emoj-journal.html"))
    assert done.stdout.split() == [str(csv_path), str(html_path)]
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and "pixels" not in rows[0]
    assert not any(v.startswith(("=", "+", "-", "@")) for row in rows for v in row.values())
    html = html_path.read_text(encoding="utf-8")
    assert html.count('alt="face"') == 3 and "=1+1 looks like a formula" in html
    assert stat.S_IMODE(html_path.stat().st_mode) == stat.S_IMODE(csv_path.stat().st_mode) == 0o600


def test_journal_add_keep_photo_refuses_other_formats_before_the_model(tmp_path, capsys):
    from PIL import Image

    gif = tmp_path / "me.gif"
    Image.new("RGB", (64, 64)).save(gif, "GIF")
    missing_model = tmp_path / "no-model.keras"  # never loaded: the photo is refused first
    code = main(["journal", "add", str(gif), "--keep-photo", "--model", str(missing_model),
                 "--journal", str(tmp_path / "j")])
    err = capsys.readouterr().err
    assert code == 1 and "me.gif" in err and "format GIF" in err and "no-model" not in err
    assert not (tmp_path / "j").exists()


def test_stage2_holds_out_whole_people_and_resumes_stage1_from_its_folder(tmp_path, tiny_model, rng, capsys,
                                                                          monkeypatch):
    from conftest import learnable_faces

    from emoj_lib.labels import EMOTIONS

    faces = learnable_faces(rng, 84, "Training", transpose=True)
    for i, (face, label) in enumerate(zip(faces.images, faces.labels, strict=True)):
        for folder in (tmp_path / "people" / f"P{i % 4}" / EMOTIONS[label], tmp_path / "flat" / EMOTIONS[label]):
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(face).save(folder / f"P{i % 4}.{i}.png")
    args = ["train", "stage2", str(tmp_path / "people"), "--model", str(tiny_model), "--no-reference",
            "--replay", "0", "--head-epochs", "1", "--fine-tune-epochs", "0", "--validation", "0"]
    monkeypatch.setenv("EMOJ_PROGRESS", "1")
    assert main([*args, "--run-dir", str(tmp_path / "s2")]) == 0
    shown = capsys.readouterr()
    assert "holdout: group-aware: 1 of 4 groups held out" in shown.out
    assert "epoch 1/1" in shown.err  # the epoch progress bar, on stderr
    monkeypatch.delenv("EMOJ_PROGRESS")
    args[2] = str(tmp_path / "flat")
    assert main([*args, "--run-dir", str(tmp_path / "s2b"), "--group-pattern", r"^(?P<person>P\d)\."]) == 0
    assert "holdout: group-aware: 1 of 4 groups held out" in capsys.readouterr().out
    assert main([*args, "--run-dir", str(tmp_path / "s2c")]) == 0
    assert "holdout: random, stratified; no groups" in capsys.readouterr().out

    fer = tmp_path / "fer.csv"
    small = learnable_faces(rng, 140, "Training")
    write_fer_csv(fer, small.images, small.labels, np.array(["Training"] * 100 + ["PublicTest"] * 20
                                                            + ["PrivateTest"] * 20, dtype=object))
    stage1 = ["train", "stage1", "--fer", str(fer), "--ferplus", str(tmp_path / "none.csv"), "--epochs", "1",
              "--hp", "width=4", "depth=2", "dense=8", "--seed", "5", "--run-dir", str(tmp_path / "s1")]
    assert main(stage1) == 0
    capsys.readouterr()
    assert main(["train", "stage1", "--fer", str(fer), "--run-dir", str(tmp_path / "s1")]) == 0  # its settings
    assert main(["train", "stage1", "--fer", str(fer), "--run-dir", str(tmp_path / "s1"), "--seed", "6"]) == 1
    assert "holds a run with another configuration" in capsys.readouterr().err
    # mixup: recorded in the card; the run folder resumes with its own settings, mixup included
    mixed = [*stage1[:-1], str(tmp_path / "s1m"), "--mixup", "0.3"]
    assert main(mixed) == 0
    card = json.loads((tmp_path / "s1m" / "model.json").read_text())
    assert card["training"]["augmentation"]["mixup"] == 0.3
    assert main(["train", "stage1", "--fer", str(fer), "--run-dir", str(tmp_path / "s1m")]) == 0
    resumed = ["train", "stage1", "--fer", str(fer), "--run-dir", str(tmp_path / "s1m"), "--augment-strength", "1"]
    assert main(resumed) == 0  # another option given: mixup still the folder's
    assert main([*stage1[:-1], str(tmp_path / "s1m"), "--mixup", "0"]) == 1  # without mixup: another run
