"""Model cards: a JSON file beside every saved model, and safe, checked loading.

``models/<name>.keras`` is the model (Keras 3 format) and ``models/<name>.json`` its card: architecture
and hyperparameters, data set with its split and hash, label order, input size and preprocessing,
training configuration, epochs run, metrics on every split, date, git commit and library versions.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from emoj_lib.config import FACE_SIZE, PROJECT_DIR
from emoj_lib.errors import EmojError
from emoj_lib.labels import EMOTIONS

CARD_VERSION = 1
PREPROCESSING = ("grayscale face crop resized to {size}x{size} (emoj_lib.faces.crop_face), float32 0..255 "
                 "input; the model rescales to 0..1 itself")


class ModelCardError(EmojError):
    """A model file or its card does not match what the code expects."""


def card_path(model_path: str | Path) -> Path:
    """Return the card path of a model file (same name, ``.json``)."""
    return Path(model_path).with_suffix(".json")


def library_versions() -> dict[str, str]:
    """Return the versions of Python and of the libraries that matter for a model."""
    out = {"python": platform.python_version()}
    for name in ("emoj_lib", "tensorflow-cpu", "tensorflow", "keras", "keras-tuner", "numpy",
                 "opencv-python-headless", "scikit-learn", "pandas"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def git_commit() -> str | None:
    """Return the project's current git commit (with ``-dirty`` if the work tree has changes), or None."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_DIR,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def make_card(**fields: Any) -> dict[str, Any]:
    """Return a card dict with the standard fields filled in and ``fields`` on top.

    The standard fields are ``card_version``, ``labels`` (the emotion order), ``input`` (size, channels,
    preprocessing), ``date`` (UTC, ISO 8601), ``git_commit`` and ``versions``.
    """
    card: dict[str, Any] = {
        "card_version": CARD_VERSION,
        "labels": list(EMOTIONS),
        "input": {"size": FACE_SIZE, "channels": 1, "dtype": "float32", "range": [0, 255],
                  "preprocessing": PREPROCESSING.format(size=FACE_SIZE)},
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "versions": library_versions(),
    }
    card.update(fields)
    return card


def write_card(model_path: str | Path, card: dict[str, Any]) -> Path:
    """Write ``card`` as JSON beside ``model_path`` and return the card's path."""
    path = card_path(model_path)
    path.write_text(json.dumps(card, indent=2, sort_keys=False, default=_jsonable) + "\n", encoding="utf-8")
    return path


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"cannot write {type(obj).__name__} in a model card")


def read_card(model_path: str | Path) -> dict[str, Any]:
    """Read the card of a model (``ModelCardError`` if it is missing or not JSON)."""
    path = card_path(model_path)
    if not path.is_file():
        raise ModelCardError(f"no model card {path} beside {model_path}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelCardError(f"{path}: not a valid model card: {exc}") from exc


def load_model(model_path: str | Path, *, check: bool = True):
    """Load a ``.keras`` model in Keras' safe mode and check it against its card.

    Parameters
    ----------
    model_path : str or Path
        The ``.keras`` file; its card ``.json`` must sit beside it.
    check : bool
        Check that the card's label order is :data:`~emoj_lib.labels.EMOTIONS` and that the model's input
        and output shapes are (48, 48, 1) and 7.

    Returns
    -------
    (keras.Model, dict)
        The model and its card.

    Raises
    ------
    ModelCardError
        If the card is missing or the model does not fit what the code expects.
    FileNotFoundError
        If the model file does not exist.

    """
    import keras

    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    card = read_card(model_path)
    if check and list(card.get("labels", [])) != list(EMOTIONS):
        raise ModelCardError(f"{model_path}: its label order {card.get('labels')} is not {list(EMOTIONS)}")
    model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    if check:
        shape = tuple(model.input_shape[1:])
        if shape != (FACE_SIZE, FACE_SIZE, 1):
            raise ModelCardError(f"{model_path}: input shape {shape}, expected {(FACE_SIZE, FACE_SIZE, 1)}")
        if model.output_shape[-1] != len(EMOTIONS):
            raise ModelCardError(f"{model_path}: {model.output_shape[-1]} outputs, expected {len(EMOTIONS)}")
    return model, card
