"""Fake-camera clips for Chromium: a real face photo as a .y4m video (``--use-file-for-fake-video-capture``).

A Y4M file is a one-line text header and raw I420 frames, each after a ``FRAME`` line. Chromium's fake
camera loops the clip, so a few identical frames are enough.

As a script (for trying the app by hand with a fake camera)::

    .venv/bin/python tests/browser/media.py PHOTO.jpg OUT.y4m
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from emoj_lib.faces import find_faces, load_image


def camera_frame(photo, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Return a ``size`` (width, height) RGB frame cut from a photo around its largest face.

    The photo is cropped to the frame's aspect ratio (keeping as much as fits, centred on the face when
    there is one) and resized, so the face is not distorted.
    """
    image = load_image(photo)
    h, w = image.shape[:2]
    width, height = size
    faces = find_faces(image, policy="all")
    cx, cy = (faces[0].box.x + faces[0].box.w / 2, faces[0].box.y + faces[0].box.h / 2) if faces else (w / 2, h / 2)
    cw, ch = (w, round(w * height / width)) if w * height <= h * width else (round(h * width / height), h)
    x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    y0 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    crop = image[y0:y0 + ch, x0:x0 + cw]
    return cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)


def to_i420(frame: np.ndarray) -> np.ndarray:
    """Return the I420 planes (Y, then U, then V; shape ``(H * 3 / 2, W)``) of an RGB frame."""
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"I420 needs an even width and height, got {w}x{h}")
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)


def from_i420(planes: np.ndarray) -> np.ndarray:
    """Return the RGB frame of I420 planes (what a player of the clip shows)."""
    return cv2.cvtColor(planes, cv2.COLOR_YUV2RGB_I420)


def write_y4m(path: str | Path, frame: np.ndarray, *, frames: int = 5, fps: int = 10) -> Path:
    """Write a clip of ``frames`` copies of an RGB frame as a Y4M file (4:2:0); return its path."""
    h, w = frame.shape[:2]
    planes = to_i420(frame).tobytes()
    path = Path(path)
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            fh.write(b"FRAME\n")
            fh.write(planes)
    return path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(write_y4m(sys.argv[2], camera_frame(sys.argv[1])))
