"""Paths and defaults, anchored at the package and overridable by environment variables.

``EMOJ_DATA_DIR``
    The shared data root (with ``fer2013/``, ``ferplus/``, ``photos/``). Fallbacks: ``../shared/data``
    beside the checkout, then ``data/`` inside it.
``EMOJ_JOURNAL_DIR``
    The user's journal folder (default ``~/emoj-journal``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
MODELS_DIR = PROJECT_DIR / "models"
RUNS_DIR = PROJECT_DIR / "runs"
REPORTS_DIR = PROJECT_DIR / "reports"
LOCAL_DATA_DIR = PROJECT_DIR / "data"

FACE_SIZE = 48
"""Side of the square grayscale face that every model takes (the FER2013 convention)."""


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
