"""Faces in photographs: load any image, detect faces, crop them FER2013-style, crop whole folders.

>>> from emoj_lib.faces import find_faces
>>> [face] = find_faces("photo.jpg")  # doctest: +SKIP
>>> face.box, face.crop.shape  # doctest: +SKIP
(Box(x=412, y=233, w=310, h=310), (48, 48))

See :mod:`emoj_lib.faces.detection` for how the detector filters false positives.
"""

from emoj_lib.faces.cropping import POLICIES, Face, crop_face, crop_square, find_faces
from emoj_lib.faces.detection import Box, available_cascades, detect_faces
from emoj_lib.faces.folder import IMAGE_EXTENSIONS, REPORT_COLUMNS, STATUSES, crop_folder, image_files
from emoj_lib.faces.images import ImageSource, load_image

__all__ = [
    "IMAGE_EXTENSIONS",
    "POLICIES",
    "REPORT_COLUMNS",
    "STATUSES",
    "Box",
    "Face",
    "ImageSource",
    "available_cascades",
    "crop_face",
    "crop_folder",
    "crop_square",
    "detect_faces",
    "find_faces",
    "image_files",
    "load_image",
]
