"""Paths and defaults: the project folder, the shipped model, the data and the journal.

Two kinds of place, resolved once when this module is imported:

- **Files that ship with the package** (read through :mod:`importlib.resources`, so they are there after
  ``pip install``): the shipped model with its card and evaluation report (:data:`MODELS_DIR`,
  :func:`default_model_path`) and the research notebooks (:data:`NOTEBOOKS_DIR`).
- **The project folder** :data:`PROJECT_DIR`, where runs, reports and local data are written (the
  cookiecutter-data-science layout): ``$EMOJ_PROJECT_DIR`` if set, else the checkout this package sits in
  (an editable install or ``PYTHONPATH``), else the working directory (an installed package).

Environment variables:

``EMOJ_PROJECT_DIR``
    The project folder (see above).
``EMOJ_DATA_DIR``
    The shared data root (with ``fer2013/``, ``ferplus/``, ``photos/``). Fallbacks: ``../shared/data``
    beside the project folder, then ``data/`` inside it.
``EMOJ_JOURNAL_DIR``
    The user's journal folder (default ``~/emoj-journal``).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

PROJECT_ENV = "EMOJ_PROJECT_DIR"
"""The environment variable that sets :data:`PROJECT_DIR`."""


def _package_path(*parts: str) -> Path:
    """Return a file or folder shipped inside ``emoj_lib`` (package data) as a filesystem path."""
    return Path(str(files("emoj_lib").joinpath(*parts)))


def project_dir() -> Path:
    """Return the project folder: ``$EMOJ_PROJECT_DIR``, else the checkout of this package, else the working directory.

    A checkout is recognised by the ``pyproject.toml`` beside the ``emoj_lib`` package (an editable install,
    or ``PYTHONPATH`` pointing at the checkout); an installed package has none, so its project folder is the
    directory the command runs in.

    Returns
    -------
    Path
        An absolute path (which need not exist: runs and reports create their folders).

    """
    env = os.environ.get(PROJECT_ENV)
    if env:
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd()


PACKAGE_DIR = _package_path()
"""The installed ``emoj_lib`` package."""
MODELS_DIR = _package_path("assets")
"""The shipped model, its card and its evaluation report (package data: ``emoj_lib/assets/``)."""
NOTEBOOKS_DIR = _package_path("assets", "notebooks").resolve()
"""The research notebooks (package data; in a checkout, ``emoj_lib/assets/notebooks`` links to ``notebooks/``)."""

PROJECT_DIR = project_dir()
RUNS_DIR = PROJECT_DIR / "runs"
REPORTS_DIR = PROJECT_DIR / "reports"
LOCAL_DATA_DIR = PROJECT_DIR / "data"

DEFAULT_MODEL = "emoj_fer2013"
"""The name of the shipped model (``<name>.keras`` with its card ``<name>.json`` in :data:`MODELS_DIR`)."""
SHIPPED_MODELS = {"default": DEFAULT_MODEL, "small": "emoj_fer2013_small"}
"""The shipped models by the names a user may give instead of a path: ``default`` (the journal's, the most
accurate) and ``small`` (a narrower student distilled from it: several times faster, a little less accurate)."""

FACE_SIZE = 48
"""Side of the square grayscale face that every model takes (the FER2013 convention)."""


def default_model_path() -> Path:
    """Return the shipped model's file (``emoj_lib/assets/emoj_fer2013.keras``; its card is beside it)."""
    return MODELS_DIR / f"{DEFAULT_MODEL}.keras"


def model_path(spec: str | Path | None = None) -> Path:
    """Return a model's file: ``spec`` as a path, or a shipped model by name (:data:`SHIPPED_MODELS`).

    None gives the default model. A name is looked up only when no file or folder of that name exists, so a
    local file called ``small`` is still yours.
    """
    if spec is None:
        return default_model_path()
    path = Path(spec).expanduser()
    if str(spec) in SHIPPED_MODELS and not path.exists():
        return MODELS_DIR / f"{SHIPPED_MODELS[str(spec)]}.keras"
    return path


def data_dir() -> Path:
    """Return the data root: ``$EMOJ_DATA_DIR``, else ``../shared/data``, else the project's ``data/``.

    Returns
    -------
    Path
        The first of the candidates that exists (the environment variable is returned even if it does
        not exist, so that a wrong setting fails loudly where the data is read).

    """
    env = os.environ.get("EMOJ_DATA_DIR")
    if env:
        return Path(env).expanduser()
    shared = PROJECT_DIR.parent / "shared" / "data"
    return shared if shared.is_dir() else LOCAL_DATA_DIR


def fer2013_path() -> Path:
    """Return the default FER2013 CSV path under :func:`data_dir`."""
    return data_dir() / "fer2013" / "fer2013.csv.gz"


def ferplus_path() -> Path:
    """Return the default FER+ ``fer2013new.csv`` path under :func:`data_dir`."""
    return data_dir() / "ferplus" / "fer2013new.csv"


def photos_dir() -> Path:
    """Return the default folder of sample photographs under :func:`data_dir`."""
    return data_dir() / "photos"


def journal_dir() -> Path:
    """Return the user's journal folder: ``$EMOJ_JOURNAL_DIR`` or ``~/emoj-journal``."""
    return Path(os.environ.get("EMOJ_JOURNAL_DIR", "~/emoj-journal")).expanduser()
