"""Model cards: a JSON file beside every saved model, and safe, checked loading.

``models/<name>.keras`` is the model (Keras 3 format) and ``models/<name>.json`` its card: architecture
and hyperparameters, data set with its split and hash, label order, input size and preprocessing,
training configuration, epochs run, metrics on every split, date, git commit and library versions.

The card is tied to its model file: :func:`write_card` records the file's SHA-256 (``model_sha256``) and
:func:`load_model` checks it, with the parameter count, the input and output shapes, and that the outputs are
probabilities. The preprocessing is structured data (:func:`preprocessing`): how photos are decoded, which
detector finds the faces and how they are cropped; the recognizer reads it back (:func:`face_options`), so a
model is fed the way it was trained.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from emoj_lib.config import FACE_SIZE
from emoj_lib.errors import EmojError
from emoj_lib.labels import EMOTIONS

CARD_VERSION = 1
DECODE_SIDE = 512
"""Default: JPEG photos are decoded at a reduced scale, their longer side at least this (see ``find_faces``)."""
_DESCRIPTION = ("grayscale square face crop (side max(w, h) * (1 + 2 * margin)) resized to {size}x{size} "
                "(emoj_lib.faces.crop_face), float32 0..255 input; the model rescales to 0..1 itself")


class ModelCardError(EmojError):
    """A model file or its card does not match what the code expects."""


def card_path(model_path: str | Path) -> Path:
    """Return the card path of a model file: ``m.keras`` -> ``m.json``, others ``m.tflite`` -> ``m.tflite.json``."""
    path = Path(model_path)
    return path.with_suffix(".json") if path.suffix == ".keras" else path.with_name(path.name + ".json")


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
    """Return the commit of the checkout this library runs from (``-dirty`` if it has changes), or None.

    The repository is looked for around the ``emoj_lib`` package itself, and must track it: an installed
    copy (a wheel in ``site-packages``), even run from inside some other repository, has no commit.
    """
    package = Path(__file__).resolve().parent
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=package, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        subprocess.run(["git", "ls-files", "--error-unmatch", str(package / "__init__.py")], cwd=top,
                       capture_output=True, timeout=5, check=True)  # this package is tracked there
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=top, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=top,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def preprocessing(*, crop=None, detector=None, decode_side: int | None = DECODE_SIDE) -> dict[str, Any]:
    """Return the card's structured preprocessing: how a photo becomes the model's input.

    Parameters
    ----------
    crop : emoj_lib.faces.CropOptions, optional
        How faces are cut out (default: its defaults, written out as values).
    detector : emoj_lib.faces.DetectorOptions, optional
        Which detector finds them and its options (default: its defaults, written out as values).
    decode_side : int or None
        Reduced-scale JPEG decoding (see :func:`emoj_lib.faces.find_faces`); None decodes at full size.

    Returns
    -------
    dict
        ``{"decode_side", "detector": {"name", "options"}, "crop": {"size", "margin", "equalize", "color"},
        "description"}``: plain JSON, every option written out, so that a later change of a default does not
        change how this model is fed.
    """
    import dataclasses

    from emoj_lib.faces import CropOptions, DetectorOptions

    crop = crop or CropOptions()
    det = dataclasses.asdict(detector or DetectorOptions())
    name = det.pop("detector")
    det = {k: (str(v) if isinstance(v, Path) else v) for k, v in det.items()}
    return {"decode_side": decode_side, "detector": {"name": name, "options": det},
            "crop": dataclasses.asdict(crop), "description": _DESCRIPTION.format(size=crop.size)}


def face_options(card: dict[str, Any]) -> dict[str, Any]:
    """Return the :func:`emoj_lib.faces.find_faces` options (``decode_side``, ``detector``, ``crop``) that feed
    a model the way its card says.

    A card from before structured preprocessing (a sentence) gets :func:`preprocessing`'s defaults, which
    are how those models were made.

    Raises
    ------
    ModelCardError
        If the preprocessing is neither a sentence nor the structure :func:`preprocessing` writes.
    """  # noqa: D205
    from emoj_lib.faces import CropOptions, DetectorOptions

    prep = (card.get("input") or {}).get("preprocessing")
    if prep is None or isinstance(prep, str):
        prep = preprocessing()
    try:
        crop = CropOptions(**prep["crop"])
        detector = DetectorOptions(detector=prep["detector"]["name"], **dict(prep["detector"].get("options") or {}))
        return {"decode_side": prep["decode_side"], "detector": detector, "crop": crop}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelCardError(f"model card {card.get('name')!r}: input.preprocessing is malformed ({exc!r})") from exc


def make_card(**fields: Any) -> dict[str, Any]:
    """Return a card dict with the standard fields filled in and ``fields`` on top.

    The standard fields are ``card_version``, ``labels`` (the emotion order), ``input`` (size, channels,
    preprocessing), ``date`` (UTC, ISO 8601), ``git_commit`` and ``versions``.
    """
    card: dict[str, Any] = {
        "card_version": CARD_VERSION,
        "labels": list(EMOTIONS),
        "input": {"size": FACE_SIZE, "channels": 1, "dtype": "float32", "range": [0, 255],
                  "preprocessing": preprocessing()},
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "versions": library_versions(),
    }
    card.update(fields)
    return card


def file_sha256(path: str | Path) -> str:
    """Return the SHA-256 (hex) of a file's bytes."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_card(model_path: str | Path, card: dict[str, Any]) -> Path:
    """Write ``card`` as JSON beside ``model_path`` and return the card's path.

    When the model file exists, the card records its SHA-256 as ``model_sha256`` (write the card after the
    model), which :func:`load_model` checks.
    """
    path = card_path(model_path)
    if Path(model_path).is_file():
        card = {**card, "model_sha256": file_sha256(model_path)}
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
        Check the card's label order (:data:`~emoj_lib.labels.EMOTIONS`), the file's SHA-256 and the
        parameter count when the card records them, the input (48, 48, 1) and output (7) shapes, and that
        the outputs are probabilities (non-negative, summing to 1) on a probe input.

    Returns
    -------
    (keras.Model, dict)
        The model and its card.

    Raises
    ------
    ModelCardError
        If the card is missing, the file is damaged, or the model does not fit its card or the code.
    FileNotFoundError
        If the model file does not exist.

    """
    import keras

    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model file not found: {model_path}")
    card = read_card(model_path)
    if check:
        _check_card(model_path, card)
    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as exc:  # a truncated zip, a bad config, missing weights: all mean a damaged file
        raise ModelCardError(f"{model_path}: damaged model file, it cannot be loaded "
                             f"({type(exc).__name__}: {str(exc)[:200]})") from exc
    if check:
        check_model(model, card, where=str(model_path))
    return model, card


def _check_card(model_path: Path, card: dict[str, Any]) -> None:
    if list(card.get("labels", [])) != list(EMOTIONS):
        raise ModelCardError(f"{model_path}: its label order {card.get('labels')} is not {list(EMOTIONS)}")
    expected = card.get("model_sha256")
    if expected is not None and file_sha256(model_path) != expected:
        raise ModelCardError(f"{model_path}: the file's SHA-256 is not the one its card records: the model "
                             "was changed or damaged after its card was written")


def check_model(model, card: dict[str, Any], *, where: str = "model") -> None:
    """Check a loaded model against its card and the code: shapes, parameter count, probability outputs.

    Raises
    ------
    ModelCardError
        Naming ``where`` and the first check that failed.
    """
    import numpy as np

    shape = tuple(model.input_shape[1:])
    if shape != (FACE_SIZE, FACE_SIZE, 1):
        raise ModelCardError(f"{where}: input shape {shape}, expected {(FACE_SIZE, FACE_SIZE, 1)}")
    if model.output_shape[-1] != len(EMOTIONS):
        raise ModelCardError(f"{where}: {model.output_shape[-1]} outputs, expected {len(EMOTIONS)}")
    params = card.get("parameters")
    if params is not None and int(model.count_params()) != int(params):
        raise ModelCardError(f"{where}: {model.count_params():,} parameters, its card says {int(params):,}")
    probe = np.stack([np.zeros((FACE_SIZE, FACE_SIZE)), np.tile(np.linspace(0, 255, FACE_SIZE), (FACE_SIZE, 1))])
    out = np.asarray(model(probe.astype(np.float32)[..., None], training=False), np.float64)
    if not (np.isfinite(out).all() and (out >= 0).all() and np.allclose(out.sum(axis=1), 1, atol=1e-3)):
        raise ModelCardError(f"{where}: its outputs are not probabilities (non-negative, summing to 1) on a "
                             f"probe input: {np.round(out[0], 3).tolist()}")
