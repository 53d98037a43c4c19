"""The research notebooks: committed clean (they are the sources), ruff-clean, and each runs end to end on smoke data.

Also the face-grid plots the notebooks use (:mod:`emoj_lib.plots`) and the runner (:mod:`emoj_lib.notebooks`).
"""

import ast
import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import learnable_faces

from emoj_lib import config
from emoj_lib.cli import main as emoj
from emoj_lib.data import FerData, read_fer_csv, write_fer_csv
from emoj_lib.data.folders import export_image_folder
from emoj_lib.evaluation import worst_mistakes
from emoj_lib.journal import Entry, Journal
from emoj_lib.labels import EMOTIONS, FERPLUS_COLUMNS
from emoj_lib.notebooks import (
    NOTEBOOKS_DIR,
    NotebookError,
    clean_notebook,
    clean_notebooks,
    copy_notebooks,
    list_notebooks,
    notebook_parameters,
    parse_assignments,
    run_all,
    run_notebook,
)
from emoj_lib.personal import journal_model, personal_versions
from emoj_lib.plots import plot_emotion_grid, plot_faces, plot_mistakes
from emoj_lib.tuning import trials_by_tuner

NOTEBOOKS = list_notebooks()
EXPECTED = {"00_explore_data", "01_stage1_fer2013", "02_stage2_transfer", "03_stage3_personalize", "04_tuning"}


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


# --- the committed notebooks -------------------------------------------------------------------------------


def test_the_notebooks_are_there():
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_notebook_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = code_cells(nb)
    for cell in cells:
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: committed with outputs"
    assert "parameters" in cells[0].metadata.get("tags", []), f"{path.name}: first code cell not tagged parameters"
    assert not any("parameters" in c.metadata.get("tags", []) for c in cells[1:])
    for node in ast.parse(cells[0].source).body:  # plain `name = literal` lines, so papermill can override them
        assert isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name), ast.unparse(node)
        ast.literal_eval(node.value)
    for cell in cells:
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), (
                f"{path.name}: defines {type(node).__name__} in cell {cell.id}: move it into emoj_lib")


def test_committed_notebooks_are_clean_files():
    """Each file is exactly its clean copy (what `emoj notebooks --clean` writes)."""
    assert clean_notebooks(NOTEBOOKS, check=True) == [], "run emoj notebooks --clean"


def test_ruff_lints_the_notebooks():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--show-files", "notebooks"],
                          cwd=config.PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert {p.name for p in NOTEBOOKS} <= {line.rsplit("/", 1)[-1] for line in done.stdout.split()}
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "notebooks"],
                          cwd=config.PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def dirty_copy(nb):
    """A notebook as Jupyter or papermill leaves it: outputs, counts and metadata everywhere."""
    dirty = nbformat.reads(nbformat.writes(nb), as_version=4)
    dirty.metadata["language_info"] = {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"}
    dirty.metadata["papermill"] = {"duration": 1.5}
    dirty.metadata["kernelspec"] = {"name": "emoj", "display_name": "emoj (venv)", "language": "python"}
    for i, cell in enumerate(dirty.cells):
        cell.metadata["collapsed"] = False
        if cell.cell_type == "code":
            cell.execution_count = i
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    return dirty


def test_clean_notebook_strips_a_run_and_keeps_sources_ids_and_tags(tmp_path):
    source = NOTEBOOKS_DIR / "01_stage1_fer2013.ipynb"
    nb = nbformat.read(source, as_version=4)
    dirty = dirty_copy(nb)
    assert clean_notebook(dirty) == nb
    assert dirty.cells[1].outputs, "clean_notebook must not modify its argument"
    path = tmp_path / source.name
    nbformat.write(dirty, path)
    assert clean_notebooks([path], check=True) == [path]
    assert nbformat.read(path, as_version=4) == dirty  # check: nothing written
    assert emoj(["notebooks", "--clean", "--notebooks-dir", str(tmp_path)]) == 0
    assert path.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")
    assert clean_notebooks([path]) == []


# --- the runner ----------------------------------------------------------------------------------------------


def test_notebook_parameters_reads_the_defaults():
    params = notebook_parameters(NOTEBOOKS_DIR / "01_stage1_fer2013.ipynb")
    assert params["epochs"] == 40 and params["fer_path"] is None and params["hyperparameters"] == {}


def test_unknown_parameters_and_notebooks_are_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"has no parameter\(s\) \['epoch'\]; its parameters: .*'epochs'"):
        run_notebook(NOTEBOOKS_DIR / "01_stage1_fer2013.ipynb", tmp_path / "x.ipynb", {"epoch": 1})
    with pytest.raises(FileNotFoundError, match="notebook not found"):
        run_notebook(tmp_path / "missing.ipynb", tmp_path / "x.ipynb")
    with pytest.raises(ValueError, match=r"no notebook\(s\) \['nope'\]"):
        run_all(tmp_path, {"nope": {}})
    assert not list(tmp_path.iterdir())


def test_parse_assignments():
    declared = {"a": {"epochs": 1, "out_dir": None}, "b": {"out_dir": None, "photos_dir": None}}
    got = parse_assignments(["out_dir=/tmp/x", "a:epochs=3", "b:photos_dir=~/faces", "a:out_dir={'k': [1]}"],
                            declared)
    assert got == {"a": {"out_dir": {"k": [1]}, "epochs": 3}, "b": {"out_dir": "/tmp/x", "photos_dir": "~/faces"}}
    with pytest.raises(ValueError, match="'sample' is not declared by any notebook run"):
        parse_assignments(["sample=3"], declared)
    with pytest.raises(ValueError, match="'epochs' is not declared by b"):
        parse_assignments(["b:epochs=3"], declared)
    with pytest.raises(ValueError, match="no notebook 'c'"):
        parse_assignments(["c:epochs=3"], declared)
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_assignments(["epochs"], declared)


def test_command_line_lists_and_rejects(capsys):
    assert emoj(["notebooks", "--list", "01_stage1_fer2013"]) == 0
    assert "01_stage1_fer2013\n    fer_path = None\n" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        emoj(["notebooks", "00_explore_data", "-p", "epochs=3"])  # 00 does not train
    assert "'epochs' is not declared by any notebook run" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        emoj(["notebooks", "03_nope"])


def test_copy_notebooks_copies_the_shipped_notebooks_and_never_overwrites(tmp_path, capsys):
    copies = copy_notebooks(tmp_path / "mine", ["04_tuning", "00_explore_data"])
    assert copies == [tmp_path / "mine" / "04_tuning.ipynb", tmp_path / "mine" / "00_explore_data.ipynb"]
    assert copies[0].read_bytes() == (NOTEBOOKS_DIR / "04_tuning.ipynb").read_bytes()
    copies[1].write_text("my edits")
    with pytest.raises(FileExistsError, match=r"not overwriting .*00_explore_data.ipynb"):
        copy_notebooks(tmp_path / "mine")
    assert copies[1].read_text() == "my edits" and not (tmp_path / "mine" / "01_stage1_fer2013.ipynb").exists()
    with pytest.raises(ValueError, match=r"no notebook\(s\) \['nope'\]"):
        copy_notebooks(tmp_path / "other", ["nope"])
    assert emoj(["notebooks", "--copy", str(tmp_path / "all")]) == 0
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [p.name for p in NOTEBOOKS]
    assert str(tmp_path / "all" / "05_journal.ipynb") in capsys.readouterr().out
    with pytest.raises(SystemExit):
        emoj(["notebooks", "--copy", str(tmp_path / "all"), "05_journal"])
    assert "not overwriting" in capsys.readouterr().err


def test_notebook_error_names_every_failure(tmp_path):
    err = NotebookError({"01": (tmp_path / "01.ipynb", RuntimeError("line 1\nboom"))})
    assert "01: RuntimeError: boom (see" in str(err)


# --- the face grids ------------------------------------------------------------------------------------------


def test_plot_faces_tiles_faces_with_captions(rng):
    faces = rng.integers(0, 256, (10, 48, 48), dtype=np.uint8)
    ax = plot_faces(faces, [f"face {i}\nline 2" for i in range(10)], ncols=4)
    [image] = ax.get_images()
    assert image.get_array().shape == (3 * (48 + 2 * 11 + 4), 4 * (48 + 4))
    assert [t.get_text() for t in ax.texts][:2] == ["face 0\nline 2", "face 1\nline 2"]
    assert len(plot_faces(faces[..., None].astype(float)).get_images()) == 1  # (N, H, W, 1), float (mean faces)
    with pytest.raises(ValueError, match="3 titles for 10 faces"):
        plot_faces(faces, ["a", "b", "c"])
    with pytest.raises(ValueError, match="shape"):
        plot_faces(faces[0])
    assert plot_faces(faces[:0], []).texts[0].get_text() == "no faces"


def test_plot_emotion_grid_and_mistakes(small_fer):
    ax = plot_emotion_grid(small_fer, per_emotion=3, seed=1)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    counts = np.bincount(small_fer.labels, minlength=7)
    assert labels[0] == f"angry ({counts[0]})" and len(labels) == 7
    proba = np.eye(7)[(small_fer.labels + 1) % 7] * 0.9 + 0.01
    mistakes = worst_mistakes(small_fer.labels, proba, n=5)
    ax = plot_mistakes(small_fer.images, mistakes)
    assert ax.texts[0].get_text().startswith(f"{mistakes['true'][0]}\nas {mistakes['predicted'][0]} 0.9")


# --- every notebook, end to end, on smoke-sized data ---------------------------------------------------------


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory, request):
    """A ~400-face FER-format CSV (all three splits) with its matching FER+ votes, and a labelled photo folder.

    Rows of the shared FER2013 (with blank images and a few leaked duplicates among them) when the shared data is
    there; generated faces and votes otherwise (a failure in CI, where the shared data must be present).
    """
    root = tmp_path_factory.mktemp("smoke")
    rng = np.random.default_rng(7)
    shared = config.fer2013_path().exists() and config.ferplus_path().exists()
    if shared:
        from emoj_lib.data.hygiene import hygiene_report

        fer = request.getfixturevalue("shared_fer")
        groups = hygiene_report(fer).groups
        leaked = groups[groups.group.isin(groups.loc[groups.usage != "Training", "group"].head(3))]["index"]
        flat = fer.images.reshape(len(fer), -1)
        blank = np.flatnonzero(flat.min(axis=1) == flat.max(axis=1))[:3]
        picks = [rng.choice(np.flatnonzero(fer.usage == split), n, replace=False)
                 for split, n in (("Training", 280), ("PublicTest", 60), ("PrivateTest", 60))]
        idx = np.unique(np.concatenate([*picks, leaked.to_numpy(), blank]))
        sample = fer.subset(idx)
        votes = pd.read_csv(config.ferplus_path(), dtype=str, keep_default_na=False).iloc[sample.rows]
    elif os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"shared data missing in CI: {config.fer2013_path()}")
    else:
        sample = FerData.concat([learnable_faces(rng, 280, "Training"), learnable_faces(rng, 60, "PublicTest"),
                                 learnable_faces(rng, 60, "PrivateTest")])
        votes = pd.DataFrame(rng.integers(0, 4, (len(sample), len(FERPLUS_COLUMNS))), columns=list(FERPLUS_COLUMNS))
        votes.insert(0, "Image name", [f"fer{i:07d}.png" for i in range(len(sample))])
        votes.insert(0, "Usage", sample.usage)
    fer_path = write_fer_csv(root / "fer.csv", sample.images, sample.labels, sample.usage)
    ferplus_path = root / "fer2013new.csv"
    votes.to_csv(ferplus_path, index=False)

    # a labelled folder: up to 12 faces per emotion (already 48x48: taken as they are), plus files to reject
    fer = read_fer_csv(fer_path)
    train = fer.split("Training")
    per_class = np.concatenate([np.flatnonzero(train.labels == k)[:12] for k in range(7)])
    photos = export_image_folder(train.subset(np.sort(per_class)), root / "photos")
    split = photos / "Training"
    gradient = np.tile(np.linspace(0, 255, 160, dtype=np.uint8), (120, 1))
    from PIL import Image

    Image.fromarray(np.dstack([gradient] * 3)).save(split / "happy" / "landscape.png")  # no face
    (split / "sad" / "broken.jpg").write_bytes(b"not a jpeg")  # unreadable
    (split / "neutral" / "notes.txt").write_text("not an image")
    (split / "bored").mkdir()  # unknown emotion folder
    Image.fromarray(gradient).save(split / "bored" / "x.png")
    if shared and config.photos_dir().is_dir():
        import shutil

        for name, emotion in (("deepface__img5.jpg", "neutral"), ("skimage__chelsea.png", "happy"),
                              ("deepface__couple.jpg", "happy")):  # kept, no face (a cat), several faces
            shutil.copy(config.photos_dir() / name, split / emotion / name)
    return {"fer_path": fer_path, "ferplus_path": ferplus_path, "photos_dir": photos, "shared": shared}


def user_journal(folder, n, labelled, seed=3):
    """A journal of ``n`` entries of one "user" (faces a model trained on learnable faces has not seen).

    The first ``labelled`` entries carry the user's label; the predictions are random, so some are corrections.
    """
    rng = np.random.default_rng(seed)
    faces = learnable_faces(rng, n, "Journal", transpose=True)
    journal = Journal(folder, fsync=False)
    for i, (face, label) in enumerate(zip(faces.images, faces.labels, strict=True)):
        journal.append(Entry(face, (0, 0, 48, 48), rng.dirichlet(np.ones(7)), "webcam", "tiny", "1",
                             user_label=EMOTIONS[label] if i < labelled else None))
    return journal


@pytest.mark.slow
@pytest.mark.shared_data
def test_all_notebooks_run_on_smoke_data(tmp_path, smoke_data, tiny_model):
    small = {"fer_path": smoke_data["fer_path"]}
    parameters = {
        "00_explore_data": {**small, "ferplus_path": smoke_data["ferplus_path"], "faces_per_emotion": 4},
        "01_stage1_fer2013": {**small, "architecture": "emojnet", "epochs": 1, "sample": 200, "n_mistakes": 8,
                              "hyperparameters": {"width": 8, "depth": 2, "dense": 32},
                              "train_options": {"batch_size": 32, "patience": None},
                              "run_dir": tmp_path / "runs" / "stage1"},
        "02_stage2_transfer": {**small, "photos_dir": smoke_data["photos_dir"], "base_model": tiny_model,
                               "head_epochs": 1, "fine_tune_epochs": 1, "transfer_options": {"batch_size": 16},
                               "run_dir": tmp_path / "runs" / "stage2"},
        "03_stage3_personalize": {**small, "journal_dir": user_journal(tmp_path / "journal", 120, 120).folder,
                                  "base_model": tiny_model, "head_epochs": 1, "fine_tune_epochs": 1, "replay": 40},
        "04_tuning": {**small, "tuner": "random", "max_trials": 2, "epochs": 1, "max_depth": 2, "sample": 300,
                      "retrain_epochs": 1, "directory": tmp_path / "tuning"},
        "05_journal": {"journal_dir": tmp_path / "journal5", "model_path": tiny_model},
    }
    done = run_all(tmp_path / "reports", parameters, timeout=600)
    assert set(done) == {p.stem for p in NOTEBOOKS}

    for name, path in done.items():
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(o.get("text", "") for c in code_cells(nb) for o in c.outputs if o.output_type == "stream")
        # the kernel is this interpreter (the project's virtual environment), not another Jupyter's python
        assert f"python {sys.executable}\n" in text, f"{name} ran on another interpreter"
        assert nb.cells[2].metadata.get("tags") == ["injected-parameters"]

    figures = tmp_path / "reports"  # each notebook's out_dir defaults to reports/<name>/
    for name, figure in (("00_explore_data", "duplicates.png"), ("01_stage1_fer2013", "worst_mistakes.png"),
                         ("02_stage2_transfer", "before_after.png"), ("03_stage3_personalize", "before_after.png"),
                         ("04_tuning", "tuning_results.png")):
        assert (figures / name / figure).stat().st_size > 1000
    assert (tmp_path / "runs" / "stage1" / "model.keras").is_file()
    assert (tmp_path / "runs" / "stage2" / "model.keras").is_file()
    stage2 = nbformat.writes(nbformat.read(done["02_stage2_transfer"], as_version=4))
    for status in ("unreadable", "no face", "not an image", "unknown folder"):
        assert status in stage2

    [(version, personal)] = personal_versions(tmp_path / "journal")  # stage 3: one new version, with replay
    card = personal.with_suffix(".json").read_text()
    assert version == 1 and '"replay_faces": 40' in card and '"stage": 3' in card
    choice = json.loads(card)["choice"]  # the held-out evidence decides whether the fine-tuned model is used
    assert isinstance(choice["use_finetuned"], bool)
    uses = personal if choice["use_finetuned"] else journal_model(tmp_path / "journal")[0]
    assert uses == journal_model(tmp_path / "journal")[0]
    assert f"the journal now uses {uses}" in nbformat.writes(nbformat.read(done["03_stage3_personalize"], as_version=4))
    assert len(trials_by_tuner(tmp_path / "tuning", "emojnet")) == 2  # stage 4: two trials, the best retrained
    assert (tmp_path / "tuning" / "emojnet" / "best" / "model.keras").is_file()


@pytest.mark.slow
def test_stage3_notebook_stops_cleanly_with_too_few_labels(tmp_path, small_fer):
    """Below min_labelled the notebook says why and runs to its end without training anything."""
    journal = user_journal(tmp_path / "journal", 12, 5)
    fer_path = write_fer_csv(tmp_path / "fer.csv", small_fer.images, small_fer.labels, small_fer.usage)
    out = run_notebook(NOTEBOOKS_DIR / "03_stage3_personalize.ipynb", tmp_path / "03.ipynb",
                       {"journal_dir": journal.folder, "fer_path": fer_path, "out_dir": tmp_path / "figures"},
                       timeout=300)
    text = nbformat.writes(nbformat.read(out, as_version=4))
    assert "not personalised: only 5 labelled journal entries" in text and "needs at least 20" in text
    assert personal_versions(journal.folder) == [] and not (tmp_path / "figures" / "before_after.png").exists()
    assert (tmp_path / "figures" / "corrections.png").is_file()
