"""FER-style face crops, the face policies, and :func:`find_faces` (detect, then crop, under a policy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import cv2
import numpy as np

from emoj_lib.config import FACE_SIZE
from emoj_lib.errors import MultipleFacesError, NoFaceError
from emoj_lib.faces.detection import Box, DetectorOptions, check_number, detect_array
from emoj_lib.faces.images import ImageSource, describe_source, load_array, load_array_reduced

POLICIES: tuple[str, ...] = ("largest", "all", "single")
"""The face policies: which of the faces found in a photo are kept (see :func:`apply_policy`)."""

DEFAULT_POLICY = "largest"
"""The library's one default policy (:func:`find_faces`, the folder builder, the command line).

A photo in emoJ is taken to show one person (a journal selfie, a labelled portrait); when it holds
several faces the largest is, nearly always, that person and the others are background faces. "largest"
keeps the photo usable where "single" would drop it, and unlike "all" never gives a background face the
photo's label; "no face" still raises. The folder builder's report records how many faces were found,
so nothing is chosen silently.
"""

DEFAULT_MARGIN = 0.1
"""Room around a face box in a crop, as a fraction of the box's longer side on each side."""

T = TypeVar("T")


@dataclass(frozen=True)
class CropOptions:
    """How a face is cut out of a photo: the one place that holds the crop defaults.

    Attributes
    ----------
    size : int
        Side of the output (48, the FER2013 size).
    margin : float
        Room around the face: the square's side is ``max(w, h) * (1 + 2 * margin)`` (> -0.5; see
        :func:`crop_square`).
    equalize : bool
        Histogram-equalise the crop (``cv2.equalizeHist``; grayscale crops only).
    color : bool
        Return an RGB crop ``(size, size, 3)`` (for display) instead of grayscale.

    """

    size: int = FACE_SIZE
    margin: float = DEFAULT_MARGIN
    equalize: bool = False
    color: bool = False

    def __post_init__(self) -> None:
        check_number("size", self.size, 1, integer=True)
        check_number("margin", self.margin, -0.5, strict=True)
        if self.equalize and self.color:
            raise ValueError("equalize applies to grayscale crops only; use color=False or equalize=False")


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
                margin: float = DEFAULT_MARGIN) -> Box:
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


def crop_face(image: ImageSource, box: Box | tuple[int, int, int, int],
              options: CropOptions | None = None) -> np.ndarray:
    """Cut a square face crop out of an image, FER2013 style.

    Parameters
    ----------
    image : path, bytes, binary file, PIL image or np.ndarray
        Anything :func:`~emoj_lib.faces.load_image` accepts.
    box : Box or (x, y, w, h)
        The face, in the image's pixel coordinates (e.g. from :func:`detect_faces`).
    options : CropOptions, optional
        Size, margin, equalisation and colour (the defaults when omitted: 48x48 grayscale, margin 0.1).

    Returns
    -------
    np.ndarray
        ``uint8`` ``(size, size)`` grayscale, or ``(size, size, 3)`` RGB when ``color``. Resampled with
        ``INTER_AREA`` when shrinking and ``INTER_LINEAR`` when enlarging.

    Raises
    ------
    ValueError
        If the box is empty.

    """
    options = options or CropOptions()
    array = load_array(image)
    sq = crop_square(box, array.shape[:2], margin=options.margin)
    region = array[sq.y:sq.y + sq.h, sq.x:sq.x + sq.w]
    if options.color and region.ndim == 2:
        region = cv2.cvtColor(region, cv2.COLOR_GRAY2RGB)
    elif not options.color and region.ndim == 3:
        region = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
    size = options.size
    if sq.w == size:
        out = np.array(region, copy=True)
    else:
        out = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA if sq.w > size else cv2.INTER_LINEAR)
    return cv2.equalizeHist(out) if options.equalize else out


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
        raise ValueError(f"unknown face policy {policy!r}; use one of: {', '.join(POLICIES)}")
    return policy


def apply_policy(faces: Sequence[T], policy: str, where: str) -> list[T]:
    """Keep the faces a policy asks for (the one place the policies are decided).

    Parameters
    ----------
    faces : sequence
        Faces (or boxes), largest first.
    policy : {"largest", "all", "single"}
        "largest": the largest face, ``NoFaceError`` when there is none; "all": every face (possibly
        none); "single": the one face, ``NoFaceError`` when there is none and ``MultipleFacesError`` when
        there are several.
    where : str
        The photo's name, for the messages.

    Returns
    -------
    list
        The faces kept, largest first.

    Raises
    ------
    NoFaceError, MultipleFacesError
        As the policy says; messages name the photo and the policy values that would accept it.

    """
    check_policy(policy)
    if policy == "all":
        return list(faces)
    if not faces:
        raise NoFaceError(f"no face found in {where}")
    if len(faces) > 1 and policy == "single":
        raise MultipleFacesError(f"{len(faces)} faces found in {where}; use policy largest or all")
    return [faces[0]]


def find_faces(image: ImageSource, *, policy: str = DEFAULT_POLICY, detector: DetectorOptions | None = None,
               crop: CropOptions | None = None, decode_side: int | None = None) -> list[Face]:
    """Detect faces and crop them, keeping the faces a policy asks for.

    Parameters
    ----------
    image : path, bytes, binary file, PIL image or np.ndarray
        Anything :func:`~emoj_lib.faces.load_image` accepts; decoded once.
    policy : {"largest", "all", "single"}
        See :func:`apply_policy` (default :data:`DEFAULT_POLICY`).
    detector : DetectorOptions, optional
        How faces are detected (the defaults when omitted).
    crop : CropOptions, optional
        How they are cut out (the defaults when omitted: 48x48 grayscale, margin 0.1).
    decode_side : int, optional
        For a JPEG given as a path or bytes: decode it at a reduced scale (1/2, 1/4 or 1/8, its longer side
        never below ``decode_side``), detect and crop on that, and map the boxes back to the original
        pixels. Much faster on large photos (the recognizer uses 512); the crops are 48x48 anyway.

    Returns
    -------
    list of Face
        Boxes in original-image pixels and their crops, largest first.

    Raises
    ------
    NoFaceError, MultipleFacesError
        As the policy says; the message names the photo when ``image`` was a path.
    ImageReadError
        If the image cannot be read.
    ValueError
        If ``policy`` is unknown.

    """
    check_policy(policy)
    detector = detector or DetectorOptions()
    if decode_side is None:
        array, factor = load_array(image), 1.0
    else:
        array, factor = load_array_reduced(image, decode_side=decode_side)
        if factor != 1.0 and detector.min_size >= 1:  # given in original pixels
            detector = replace(detector, min_size=max(1.0, detector.min_size / factor))
    boxes = apply_policy(detect_array(array, detector), policy, describe_source(image))
    return [Face(_scaled(b, factor), crop_face(array, b, crop)) for b in boxes]


def _scaled(box: Box, factor: float) -> Box:
    """Return a box in original-image pixels from one in pixels of an image reduced by ``factor``."""
    if factor == 1.0:
        return box
    return Box(round(box.x * factor), round(box.y * factor), round(box.w * factor), round(box.h * factor))
