"""The fast inference path: a model converted to TensorFlow Lite or ONNX, with its card and measured figures.

:func:`export_model` converts a ``.keras`` model, writes it beside the model with its card
(``<name>.tflite`` / ``<name>-int8.tflite`` / ``<name>.onnx``, card ``<that>.json``), and records in the card
how the converted model compares with the Keras one *measured in the same run*: accuracy on FER2013
PrivateTest (or the faces given), faces per second through each, and how often their readings agree.

- ``tflite``: TensorFlow's own converter (float32, or ``int8=True`` for post-training integer quantisation of
  the weights and activations, calibrated on faces); run by LiteRT's interpreter (``ai-edge-litert``, else
  TensorFlow's ``tf.lite.Interpreter``): :class:`FastModel`.
- ``onnx``: Keras' own ``model.export(format="onnx")`` (through ``tf2onnx``); run by ONNX Runtime:
  :class:`OnnxModel`. Both are optional dependencies (``pip install 'emoj[onnx]'``); ONNX is also the way to
  phones and browsers outside TensorFlow.

Both are callables that :func:`emoj_lib.inference.predict_proba` takes like a Keras model. The
:class:`~emoj_lib.recognizer.Recognizer` uses a converted model beside a ``.keras`` file by default when
:func:`fast_path_ok` accepts its card (made from this very file, faster, and within
:data:`MAX_ACCURACY_LOSS`); of several, the one with the largest measured speed-up.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from emoj_lib.cards import ModelCardError, file_sha256, read_card, write_card
from emoj_lib.config import FACE_SIZE

FORMATS = ("tflite", "onnx")
"""Target formats of :func:`export_model`."""
MAX_ACCURACY_LOSS = 0.003
"""The largest accuracy loss (0.3 points) at which the recognizer prefers the fast model."""


def fast_model_path(model_path: str | Path, *, int8: bool = False, format: str = "tflite") -> Path:
    """Return where :func:`export_model` writes the converted model of a ``.keras`` file."""
    path = Path(model_path)
    return path.with_name(path.stem + ("-int8" if int8 else "") + f".{format}")


CANDIDATES = (("tflite", False), ("tflite", True), ("onnx", False))
"""The converted models the recognizer looks for beside a ``.keras`` file: (format, int8)."""


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # TensorFlow's own copy (deprecated in favour of ai-edge-litert, still shipped)
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter


class FastModel:
    """A converted (TFLite) model as a callable: float32 faces (N, 48, 48, 1) in 0..255 -> probabilities (N, 7).

    Parameters
    ----------
    path : str or Path
        The ``.tflite`` file.
    num_threads : int, optional
        Interpreter threads (default: the CPU count).
    chunk : int
        Faces per interpreter call: larger batches are run in chunks of this size (the interpreter keeps its
        tensors allocated for it; small chunks stay in the CPU caches, measured fastest on 2 cores).
    """

    def __init__(self, path: str | Path, *, num_threads: int | None = None, chunk: int = 32) -> None:
        self.path = Path(path)
        self.chunk = chunk
        if not self.path.is_file():
            raise FileNotFoundError(f"fast model file not found: {self.path}")
        try:
            self._interp = _interpreter_class()(model_path=str(self.path), num_threads=num_threads or os.cpu_count())
        except (ValueError, RuntimeError) as exc:
            raise ModelCardError(f"{self.path}: damaged TFLite model ({str(exc)[:200]})") from exc
        self._input = self._interp.get_input_details()[0]["index"]
        self._output = self._interp.get_output_details()[0]["index"]
        self._batch = None

    format = "tflite"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the probabilities of a float32 batch (N, 48, 48, 1)."""
        x = np.ascontiguousarray(x, np.float32)
        if len(x) > self.chunk:
            return np.concatenate([self(x[i:i + self.chunk]) for i in range(0, len(x), self.chunk)])
        if x.shape[0] != self._batch:
            self._interp.resize_tensor_input(self._input, list(x.shape))
            self._interp.allocate_tensors()
            self._batch = x.shape[0]
        self._interp.set_tensor(self._input, x)
        self._interp.invoke()
        return np.array(self._interp.get_tensor(self._output), np.float32)


class OnnxModel:
    """A model converted to ONNX as a callable: float32 faces (N, 48, 48, 1) in 0..255 -> probabilities (N, 7).

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file.
    num_threads : int, optional
        ONNX Runtime's intra-op threads (default: the CPU count).
    """

    format = "onnx"

    def __init__(self, path: str | Path, *, num_threads: int | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"fast model file not found: {self.path}")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelCardError(f"{self.path}: ONNX Runtime is not installed (pip install 'emoj[onnx]')") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads or os.cpu_count() or 1
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for a damaged file
            raise ModelCardError(f"{self.path}: damaged ONNX model ({str(exc)[:200]})") from exc
        self._input = self._session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the probabilities of a float32 batch (N, 48, 48, 1)."""
        return np.asarray(self._session.run(None, {self._input: np.ascontiguousarray(x, np.float32)})[0], np.float32)


def open_fast_model(path: str | Path) -> FastModel | OnnxModel:
    """Return the runner of a converted model file, by its suffix (``.tflite`` or ``.onnx``)."""
    return OnnxModel(path) if Path(path).suffix == ".onnx" else FastModel(path)


def _convert_onnx(model) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        try:
            model.export(str(Path(tmp) / "model.onnx"), format="onnx")
        except ImportError as exc:
            raise ImportError(f"ONNX export needs tf2onnx and onnx (pip install 'emoj[onnx]'): {exc}") from exc
        return (Path(tmp) / "model.onnx").read_bytes()


def _convert(model, *, int8: bool, calibration: np.ndarray | None, format: str = "tflite") -> bytes:
    import tensorflow as tf

    if format == "onnx":
        return _convert_onnx(model)

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        faces = calibration if calibration is not None else np.random.default_rng(0).integers(
            0, 256, (64, FACE_SIZE, FACE_SIZE)).astype(np.float32)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([f[None, :, :, None].astype(np.float32)] for f in faces[:200])
    with contextlib.redirect_stdout(io.StringIO()):  # Keras' export lists every captured tensor on stdout
        return converter.convert()


def _faces_per_s(model, faces: np.ndarray, repeat: int, batch_size: int) -> tuple[np.ndarray, float]:
    from emoj_lib.inference import predict_proba

    predict_proba(model, faces[:batch_size], batch_size=batch_size)  # warm-up (tracing, tensor allocation)
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    best, proba = float("inf"), np.empty((0, 0))
    for _ in range(repeat):
        t = time.perf_counter()
        proba = predict_proba(model, faces, batch_size=batch_size)
        best = min(best, time.perf_counter() - t)
    return proba, len(faces) / best


def compare_paths(keras_model, fast_model, faces: np.ndarray, labels: np.ndarray | None = None, *,
                  repeat: int = 3, batch_size: int = 256) -> dict[str, Any]:
    """Measure a Keras model and its converted model on the same faces, one after the other.

    Returns
    -------
    dict
        ``faces``, ``keras_faces_per_s``, ``fast_faces_per_s``, ``speedup``, ``argmax_agreement``,
        ``max_abs_diff`` and, with labels, ``keras_accuracy`` and ``fast_accuracy`` (best of ``repeat`` runs).
    """
    p_keras, keras_fps = _faces_per_s(keras_model, faces, repeat, batch_size)
    p_fast, fast_fps = _faces_per_s(fast_model, faces, repeat, batch_size)
    out: dict[str, Any] = {"faces": len(faces), "batch_size": batch_size, "threads": os.cpu_count(),
                           "keras_faces_per_s": round(keras_fps, 1), "fast_faces_per_s": round(fast_fps, 1),
                           "speedup": round(fast_fps / keras_fps, 3),
                           "argmax_agreement": float((p_keras.argmax(1) == p_fast.argmax(1)).mean()),
                           "max_abs_diff": float(np.abs(p_keras - p_fast).max())}
    if labels is not None:
        out["keras_accuracy"] = float((p_keras.argmax(1) == labels).mean())
        out["fast_accuracy"] = float((p_fast.argmax(1) == labels).mean())
    return out


def export_model(model_path: str | Path, format: str = "tflite", *, int8: bool = False,
                 faces: np.ndarray | None = None, labels: np.ndarray | None = None,
                 measured_on: str | None = None, repeat: int = 3) -> Path:
    """Convert a ``.keras`` model for fast inference and write it with its card; return the new file's path.

    Parameters
    ----------
    model_path : str or Path
        The ``.keras`` model (with its card).
    format : {"tflite", "onnx"}
        The target format: TensorFlow Lite (run by LiteRT) or ONNX (run by ONNX Runtime).
    int8 : bool
        Post-training integer quantisation, calibrated on ``faces`` (or random faces when none are given);
        TFLite only.
    faces, labels : np.ndarray, optional
        Faces (N, 48, 48) to measure both paths on, with their labels for accuracy (e.g. FER2013
        PrivateTest); without faces only the conversion is done and the card has no ``fast_path`` figures,
        so the recognizer will not choose the converted model by itself.
    measured_on : str, optional
        What the faces are (written in the card, e.g. ``"FER2013 PrivateTest"``).
    repeat : int
        Timed runs per path (the best counts).

    Returns
    -------
    Path
        ``<name>.tflite``, ``<name>-int8.tflite`` or ``<name>.onnx`` beside the model; its card is
        ``<that>.json``.
    """
    from emoj_lib.cards import load_model

    if format not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}, got {format!r}")
    if int8 and format != "tflite":
        raise ValueError("int8 quantisation is offered for the tflite format only")
    model_path = Path(model_path)
    model, card = load_model(model_path)
    out = fast_model_path(model_path, int8=int8, format=format)
    out.write_bytes(_convert(model, int8=int8, calibration=None if faces is None else np.asarray(faces),
                             format=format))
    new_card = {**card, "format": format, "int8": int8,
                "source_model": {"file": model_path.name, "sha256": file_sha256(model_path)}}
    new_card.pop("model_sha256", None)
    if faces is not None:
        figures = compare_paths(model, open_fast_model(out), np.asarray(faces), labels, repeat=repeat)
        new_card["fast_path"] = {"measured_on": measured_on, **figures}
    write_card(out, new_card)
    return out


def fast_path_ok(card: dict[str, Any], model_path: str | Path) -> tuple[bool, str]:
    """Say whether a converted model's card lets the recognizer use it instead of ``model_path``, and why."""
    source = card.get("source_model") or {}
    figures = card.get("fast_path") or {}
    if source.get("sha256") != file_sha256(model_path):
        return False, "it was converted from another version of the model file"
    if "fast_accuracy" not in figures or "keras_accuracy" not in figures:
        return False, "its card has no measured accuracy"
    if figures["speedup"] <= 1.0:
        return False, f"it was not faster ({figures['speedup']:.2f}x)"
    loss = figures["keras_accuracy"] - figures["fast_accuracy"]
    if loss > MAX_ACCURACY_LOSS:
        return False, f"it loses {100 * loss:.2f} accuracy points (more than {100 * MAX_ACCURACY_LOSS:.1f})"
    return True, (f"{figures['speedup']:.2f}x faster, accuracy {figures['fast_accuracy']:.4f} vs "
                  f"{figures['keras_accuracy']:.4f}")


def load_fast_model(model_path: str | Path) -> tuple[FastModel | OnnxModel | None, str]:
    """Return the converted model beside a ``.keras`` file that :func:`fast_path_ok` accepts (else None), and why.

    Of several accepted (:data:`CANDIDATES`), the one whose card records the largest speed-up over Keras; only
    that one is opened (the next if it cannot be, e.g. ONNX Runtime not installed).
    """
    reasons, accepted = [], []
    for format, int8 in CANDIDATES:
        path = fast_model_path(model_path, int8=int8, format=format)
        if not path.is_file():
            continue
        card = read_card(path)
        ok, why = fast_path_ok(card, model_path)
        if ok and card.get("model_sha256") != file_sha256(path):
            ok, why = False, "the file's SHA-256 is not the one its card records (changed or damaged)"
        if ok:
            accepted.append((card["fast_path"]["speedup"], path, why))
        else:
            reasons.append(f"{path.name}: {why}")
    for _, path, why in sorted(accepted, key=lambda a: -a[0]):
        try:
            return open_fast_model(path), f"{path.name}: {why}"
        except ModelCardError as exc:
            reasons.append(f"{path.name}: {exc}")
    return None, "; ".join(reasons) or "no converted model beside it"
