"""FER-style face crops, and :func:`find_faces` (detect, then crop, under a policy)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import cv2
import numpy as np

from emoj_lib.config import FACE_SIZE
from emoj_lib.errors import MultipleFacesError, NoFaceError
from emoj_lib.faces.detection import Box, _detect_array, check_number, detect_faces
from emoj_lib.faces.images import ImageSource, describe_source, load_array, load_array_reduced

POLICIES: tuple[str, ...] = ("largest", "all", "single")
"""The accepted values of ``find_faces(policy=...)``."""


@dataclass(eq=False)
class Face:
    """A detected face and its crop (compared by identity: ``crop`` is an array).

    Attributes
    ----------
    box : Box
        Where the face is, in original-image pixels.
    crop : np.ndarray
        The face crop from :func:`crop_face`: ``uint8`` ``(48, 48)`` grayscale by default.

    """

    box: Box
    crop: np.ndarray


def crop_square(box: Box | tuple[int, int, int, int], image_size: tuple[int, int], *,
                margin: float = 0.1) -> Box:
    """Return the square region that :func:`crop_face` cuts out, in image pixels.

    Parameters
    ----------
    box : Box or (x, y, w, h)
        The face box.
    image_size : (height, width)
        Size of the image (``array.shape[:2]``).
    margin : float
        Extra room on each side, as a fraction of the box's longer side: the square's side is
        ``max(w, h) * (1 + 2 * margin)`` (> -0.5).

    Returns
    -------
    Box
        A square centred on the box, shifted as little as needed to lie inside the image, and shrunk to
        the image's shorter side if it is larger than that.

    """
    x, y, w, h = box.as_tuple() if isinstance(box, Box) else tuple(box)
    if w <= 0 or h <= 0:
        raise ValueError(f"the face box must have a positive size, got {(x, y, w, h)}")
    check_number("margin", margin, -0.5, strict=True)
    height, width = image_size
    side = max(1, min(round(max(w, h) * (1 + 2 * margin)), height, width))
    x0 = min(max(round(x + w / 2 - side / 2), 0), width - side)
    y0 = min(max(round(y + h / 2 - side / 2), 0), height - side)
    return Box(int(x0), int(y0), int(side), int(side))


def _check_crop_options(*, size: int = FACE_SIZE, margin: float = 0.1, equalize: bool = False,
                        color: bool = False) -> None:
    check_number("size", size, 1, integer=True)
    check_number("margin", margin, -0.5, strict=True)
    if equalize and color:
        raise ValueError("equalize applies to grayscale crops only; pass color=False or equalize=False")


def crop_face(
    image: ImageSource,
    box: Box | tuple[int, int, int, int],
    *,
    size: int = FACE_SIZE,
    margin: float = 0.1,
    equalize: bool = False,
    color: bool = False,
) -> np.ndarray:
    """Cut a square face crop out of an image, FER2013 style.

    Parameters
    ----------
    image : path, bytes, binary file, PIL image or np.ndarray
        Anything :func:`~emoj_lib.faces.load_image` accepts.
    box : Box or (x, y, w, h)
        The face, in the image's pixel coordinates (e.g. from :func:`detect_faces`).
    size : int
        Side of the output (48, the FER2013 size, by default).
    margin : float
        Room around the face: the square's side is ``max(w, h) * (1 + 2 * margin)``, centred on the box,
        shifted inside the image when it sticks out and shrunk when it is larger than the image (see
        :func:`crop_square`).
    equalize : bool
        Histogram-equalise the crop (``cv2.equalizeHist``; grayscale crops only).
    color : bool
        Return an RGB crop ``(size, size, 3)`` (for display) instead of grayscale.

    Returns
    -------
    np.ndarray
        ``uint8`` ``(size, size)`` grayscale, or ``(size, size, 3)`` RGB when ``color``. Resampled with
        ``INTER_AREA`` when shrinking and ``INTER_LINEAR`` when enlarging.

    Raises
    ------
    ValueError
        If the box is empty, ``size < 1``, or ``equalize`` and ``color`` are both set.

    """
    _check_crop_options(size=size, margin=margin, equalize=equalize, color=color)
    array = load_array(image)
    sq = crop_square(box, array.shape[:2], margin=margin)
    region = array[sq.y:sq.y + sq.h, sq.x:sq.x + sq.w]
    if color and region.ndim == 2:
        region = cv2.cvtColor(region, cv2.COLOR_GRAY2RGB)
    elif not color and region.ndim == 3:
        region = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    if sq.w == size:
        out = np.array(region, copy=True)
    else:
        interpolation = cv2.INTER_AREA if sq.w > size else cv2.INTER_LINEAR
        out = cv2.resize(region, (size, size), interpolation=interpolation)
    return cv2.equalizeHist(out) if equalize else out


# ------------------------------------------------------------------------------------------ find_faces

_DETECT_OPTIONS = tuple(p for p in inspect.signature(detect_faces).parameters if p != "image")
_CROP_OPTIONS = tuple(p for p in inspect.signature(crop_face).parameters if p not in ("image", "box"))


def split_options(options: dict[str, object], caller: str) -> tuple[dict[str, object], dict[str, object]]:
    """Split keyword options into those of :func:`detect_faces` and those of :func:`crop_face`.

    Parameters
    ----------
    options : dict
        Keyword arguments.
    caller : str
        Name of the calling function, for the error message.

    Returns
    -------
    (dict, dict)
        The detection options and the crop options.

    Raises
    ------
    TypeError
        If an option belongs to neither function (the message lists the accepted names).

    """
    unknown = sorted(set(options) - set(_DETECT_OPTIONS) - set(_CROP_OPTIONS))
    if unknown:
        raise TypeError(f"{caller}() got unexpected keyword argument(s) {unknown}; accepted: "
                        f"{sorted(_DETECT_OPTIONS + _CROP_OPTIONS)}")
    detect = {k: v for k, v in options.items() if k in _DETECT_OPTIONS}
    crop = {k: v for k, v in options.items() if k in _CROP_OPTIONS}
    return detect, crop


def check_policy(policy: object) -> str:
    """Return ``policy`` if it is one of :data:`POLICIES`, else raise ``ValueError`` listing them.

    Parameters
    ----------
    policy : object
        The value to check.

    Returns
    -------
    str
        The policy.

    """
    if not isinstance(policy, str) or policy not in POLICIES:
        raise ValueError(f"policy must be one of {list(POLICIES)}, got {policy!r}")
    return policy


def find_faces(image: ImageSource, *, policy: str = "largest", decode_side: int | None = None,
               **options: object) -> list[Face]:
    """Detect faces and crop them, keeping the faces a policy asks for.

    Parameters
    ----------
    image : path, bytes, binary file, PIL image or np.ndarray
        Anything :func:`~emoj_lib.faces.load_image` accepts; decoded once.
    policy : {"largest", "all", "single"}
        "largest": a list with the largest face (raises ``NoFaceError`` when there is none); "all": every
        face, largest first (possibly an empty list); "single": the one face, raising ``NoFaceError`` when
        there is none and ``MultipleFacesError`` when there are several.
    decode_side : int, optional
        For a JPEG given as a path or bytes: decode it at a reduced scale (1/2, 1/4 or 1/8, its longer side
        never below ``decode_side``), detect and crop on that, and map the boxes back to the original
        pixels. Much faster on large photos (the recognizer uses 512); the crops are 48x48 anyway.
    **options
        Any keyword of :func:`detect_faces` (``scale_factor``, ``min_size``, ``detect_side``...) or of
        :func:`crop_face` (``size``, ``margin``, ``equalize``, ``color``); anything else is rejected.

    Returns
    -------
    list of Face
        Boxes in original-image pixels and their crops (``uint8`` ``(48, 48)`` with the defaults).

    Raises
    ------
    NoFaceError, MultipleFacesError
        As the policy says; the message names the photo when ``image`` was a path.
    ImageReadError
        If the image cannot be read.
    ValueError
        If ``policy`` or an option value is invalid.
    TypeError
        If an option is unknown.

    """
    check_policy(policy)
    detect_options, crop_options = split_options(options, "find_faces")
    _check_crop_options(**crop_options)  # type: ignore[arg-type]  # even when no face is found
    if decode_side is None:
        array, factor = load_array(image), 1.0
    else:
        array, factor = load_array_reduced(image, decode_side=decode_side)
        size = detect_options.get("min_size", 0)
        if factor != 1.0 and isinstance(size, int | float) and size >= 1:
            detect_options["min_size"] = max(1.0, size / factor)  # given in original pixels
    boxes = _detect_array(array, **detect_options)  # type: ignore[arg-type]
    where = describe_source(image)
    if not boxes and policy != "all":
        raise NoFaceError(f"no face found in {where}")
    if len(boxes) > 1 and policy == "single":
        raise MultipleFacesError(f"{len(boxes)} faces found in {where}, expected exactly one "
                                 "(use policy='largest' or 'all' to accept several)")
    if policy == "largest":
        boxes = boxes[:1]
    return [Face(_scaled(b, factor), crop_face(array, b, **crop_options)) for b in boxes]  # type: ignore[arg-type]


def _scaled(box: Box, factor: float) -> Box:
    """Return a box in original-image pixels from one in pixels of an image reduced by ``factor``."""
    if factor == 1.0:
        return box
    return Box(round(box.x * factor), round(box.y * factor), round(box.w * factor), round(box.h * factor))
