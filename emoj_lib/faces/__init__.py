"""Faces in photographs: image -> boxes -> crops (this package imports nothing above it).

>>> from emoj_lib.faces import find_faces
>>> [face] = find_faces("photo.jpg")  # doctest: +SKIP
>>> face.box, face.crop.shape  # doctest: +SKIP
(Box(x=412, y=233, w=310, h=310), (48, 48))

Options live in two frozen dataclasses, :class:`DetectorOptions` and :class:`CropOptions`, which hold every
default once. See :mod:`emoj_lib.faces.detection` for how the Haar detector filters false positives.
Folders of photos become data sets in :mod:`emoj_lib.data.folders`.
"""

from emoj_lib.faces.cropping import (
    DEFAULT_MARGIN,
    DEFAULT_POLICY,
    POLICIES,
    CropOptions,
    Face,
    apply_policy,
    check_policy,
    crop_face,
    crop_square,
    find_faces,
)
from emoj_lib.faces.detection import DETECTORS, Box, DetectorOptions, available_cascades, detect_faces
from emoj_lib.faces.images import DEFAULT_MAX_PIXELS, ImageSource, PhotoInfo, check_photo, load_image, max_image_pixels

__all__ = [
    "DEFAULT_MARGIN",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_POLICY",
    "DETECTORS",
    "POLICIES",
    "Box",
    "CropOptions",
    "DetectorOptions",
    "Face",
    "ImageSource",
    "PhotoInfo",
    "apply_policy",
    "available_cascades",
    "check_photo",
    "check_policy",
    "crop_face",
    "crop_square",
    "detect_faces",
    "find_faces",
    "load_image",
    "max_image_pixels",
]
