"""The package outside its checkout: paths, package data, and a wheel that installs and runs `emoj demo`."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emoj_lib import config
from emoj_lib.cards import read_card
from emoj_lib.notebooks import NOTEBOOKS_DIR, list_notebooks

CHECKOUT = Path(__file__).resolve().parent.parent


def test_project_dir_is_the_checkout_unless_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.delenv(config.PROJECT_ENV, raising=False)
    assert config.project_dir() == CHECKOUT == config.PROJECT_DIR
    assert config.RUNS_DIR == CHECKOUT / "runs" and config.REPORTS_DIR == CHECKOUT / "reports"
    monkeypatch.setenv(config.PROJECT_ENV, str(tmp_path / "elsewhere"))
    assert config.project_dir() == tmp_path / "elsewhere"


def test_the_shipped_model_and_notebooks_are_package_data():
    model = config.default_model_path()
    assert model == config.PACKAGE_DIR / "assets" / "emoj_fer2013.keras" and model.is_file()
    assert read_card(model)["name"] == config.DEFAULT_MODEL
    assert (config.MODELS_DIR / "emoj_fer2013-eval" / "metrics.json").is_file()
    for name, stem in config.SHIPPED_MODELS.items():  # every shipped model by name, with its own card
        path = config.model_path(name)
        assert path == config.MODELS_DIR / f"{stem}.keras" and path.is_file() and read_card(path)["name"] == stem
    assert config.model_path(None) == config.model_path("default") == model
    # in a checkout the shipped notebooks are notebooks/ itself (a link), so there is one copy to edit
    assert NOTEBOOKS_DIR == CHECKOUT / "notebooks"
    assert [p.name for p in list_notebooks(config.PACKAGE_DIR / "assets" / "notebooks")] == [
        p.name for p in list_notebooks(CHECKOUT / "notebooks")]


def test_model_names_resolve_unless_a_file_has_that_name(tmp_path, monkeypatch):
    assert config.model_path(tmp_path / "m.keras") == tmp_path / "m.keras"
    monkeypatch.chdir(tmp_path)
    assert config.model_path("small").parent == config.MODELS_DIR
    (tmp_path / "small").write_text("mine")
    assert config.model_path("small") == Path("small")  # the user's own file wins over the name
    assert config.model_path("tiny") == Path("tiny")  # not a shipped name: a path (loading says it is missing)


def source_tree(dest: Path) -> Path:
    """Copy what a wheel is built from (not the worktree: a build writes build/ and *.egg-info beside it)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(CHECKOUT / "emoj_lib", dest / "emoj_lib", symlinks=True, ignore=ignore)
    shutil.copytree(CHECKOUT / "notebooks", dest / "notebooks", ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(CHECKOUT / name, dest / name)
    return dest


def run(args, **kwargs):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_wheel_installs_and_runs_from_another_directory(tmp_path):
    """pip wheel + pip install --target (dependencies from this environment), then `emoj demo` in an empty folder."""
    src = source_tree(tmp_path / "src")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src])
    [wheel] = (tmp_path / "dist").glob("emoj_lib-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(CHECKOUT).as_posix() for p in (CHECKOUT / "emoj_lib").rglob("*.py")}
    assert modules <= names, f"missing from the wheel: {sorted(modules - names)}"
    assert {f"emoj_lib/assets/notebooks/{p.name}" for p in list_notebooks(CHECKOUT / "notebooks")} <= names

    site = tmp_path / "site"
    run([*pip, "install", "--no-deps", "--no-build-isolation", "--target", site, wheel])
    home = tmp_path / "cwd"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", config.PROJECT_ENV, "EMOJ_MODEL")}
    env |= {"PYTHONPATH": str(site), "EMOJ_JOURNAL_DIR": str(tmp_path / "journal")}
    where = run([sys.executable, "-c", "import emoj_lib.config as c; print(c.__file__); print(c.PROJECT_DIR)"],
                cwd=home, env=env).split("\n")
    assert where[:2] == [str(site / "emoj_lib" / "config.py"), str(home)]
    run(["git", "init", "-q"], cwd=home)  # an unrelated repository around the working directory
    run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"], cwd=home)
    commit = run([sys.executable, "-c", "from emoj_lib.cards import git_commit; print(git_commit())"],
                 cwd=home, env=env).strip()
    assert commit == "None"  # an installed copy records no commit, not the unrelated repository's

    out = run([site / "bin" / "emoj", "demo"], cwd=home, env=env)
    assert "emoj_fer2013" in out  # the model that read the portrait
    demo = home / "data" / "demo"  # the project folder of an installed package is the working directory
    assert (demo / "journal" / "journal.csv").is_file() and (demo / "mood.png").is_file()
    run([site / "bin" / "emoj", "notebooks", "--copy", "nb"], cwd=home, env=env)
    assert sorted(p.name for p in (home / "nb").iterdir()) == [p.name for p in list_notebooks(CHECKOUT / "notebooks")]
