"""Pictures and small HTML pieces for the journal app: photos with face boxes, enlarged crops, probability bars."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from emoj_lib.journal import EMOTION_COLORS
from emoj_lib.journal.report import figure_png
from emoj_lib.labels import EMOTIONS

__all__ = ["draw_faces", "encode_image", "enlarge", "figure_png", "probability_bars"]

SELECTED_COLOR = (0, 200, 83)
OTHER_COLOR = (255, 255, 255)


def encode_image(image: np.ndarray, fmt: str = "png", *, quality: int = 90) -> bytes:
    """Encode a ``uint8`` image (gray ``(H, W)`` or RGB ``(H, W, 3)``) as PNG or JPEG bytes.

    Parameters
    ----------
    image : np.ndarray
        The image.
    fmt : {"png", "jpeg"}
        The format.
    quality : int
        JPEG quality (1-95).

    Returns
    -------
    bytes

    """
    if fmt not in ("png", "jpeg"):
        raise ValueError(f"fmt must be 'png' or 'jpeg', got {fmt!r}")
    buf = io.BytesIO()
    im = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    if fmt == "jpeg":
        im.save(buf, format="JPEG", quality=quality)
    else:
        im.save(buf, format="PNG")
    return buf.getvalue()


def draw_faces(image: np.ndarray, boxes: Sequence[Any], selected: int | None = 0, *,
               max_side: int = 640) -> np.ndarray:
    """Return a copy of a photo, scaled to at most ``max_side`` pixels, with its face boxes drawn and numbered.

    Parameters
    ----------
    image : np.ndarray
        RGB ``uint8`` ``(H, W, 3)``.
    boxes : sequence of Box or (x, y, w, h)
        Face boxes in ``image`` pixels; they are numbered from 1 in this order.
    selected : int, optional
        The index of the box drawn thick and green (the others are thin and white).
    max_side : int
        The longer side of the result (a smaller photo is not enlarged).

    Returns
    -------
    np.ndarray
        RGB ``uint8``.

    """
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    im = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    if scale < 1:
        im = im.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(im)
    line = max(2, round(max(im.size) / 200))
    for i, box in enumerate(boxes):
        x, y, bw, bh = box.as_tuple() if hasattr(box, "as_tuple") else box
        rect = [x * scale, y * scale, (x + bw) * scale, (y + bh) * scale]
        chosen = i == selected
        color = SELECTED_COLOR if chosen else OTHER_COLOR
        draw.rectangle(rect, outline=color, width=line * (2 if chosen else 1))
        if len(boxes) > 1:
            tx, ty = rect[0] + line * 2, rect[1] + line * 2
            draw.rectangle([tx - 2, ty - 2, tx + 12, ty + 14], fill=color)
            draw.text((tx + 1, ty), str(i + 1), fill=(0, 0, 0))
    return np.asarray(im)


def enlarge(face: np.ndarray, scale: int = 3) -> np.ndarray:
    """Return a face crop enlarged ``scale`` times with visible pixels (nearest neighbour)."""
    face = np.asarray(face, dtype=np.uint8)
    return np.repeat(np.repeat(face, scale, axis=0), scale, axis=1)


def probability_bars(probabilities: Sequence[float], *, highlight: str | None = None) -> str:
    """Return an HTML bar chart of the 7 emotion probabilities (EMOTIONS order, the emotion colours).

    Parameters
    ----------
    probabilities : sequence of 7 floats
        In :data:`~emoj_lib.labels.EMOTIONS` order.
    highlight : str, optional
        An emotion whose name is shown in bold (e.g. the predicted one).

    Returns
    -------
    str
        A ``<table>`` with one row per emotion: name, bar, percentage.

    """
    p = np.asarray(probabilities, dtype=float).ravel()
    if p.shape != (len(EMOTIONS),):
        raise ValueError(f"expected {len(EMOTIONS)} probabilities, got {p.shape}")
    rows = []
    for emotion, value in zip(EMOTIONS, p, strict=True):
        name = f"<b>{emotion}</b>" if emotion == highlight else emotion
        width = max(0.0, min(100.0, 100 * value))
        rows.append(
            f'<tr data-emotion="{emotion}"><td style="padding:1px 8px 1px 0">{name}</td>'
            f'<td style="width:220px;padding:1px 0"><div style="background:{EMOTION_COLORS[emotion]};'
            f'width:{width:.1f}%;height:14px;border-radius:2px"></div></td>'
            f'<td style="padding:1px 0 1px 8px;text-align:right">{100 * value:.1f}%</td></tr>')
    return '<table class="emoj-probabilities" style="border-collapse:collapse">' + "".join(rows) + "</table>"


def escape(text: object) -> str:
    """Escape text for HTML (anything else, e.g. a path or an exception, as its ``str``)."""
    return html.escape(str(text), quote=True)
