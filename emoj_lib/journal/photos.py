"""Photos kept beside a journal: ``photos/<entry id>.jpg`` or ``.png``, owner-only, without metadata.

A photo is re-encoded before it is kept: its EXIF orientation is applied to the pixels, and no metadata
(EXIF, GPS position, XMP, comments, text chunks) is written back. The store writes it and its row under
the journal's lock, photo first; :func:`remove_orphans` removes, under that lock, what a crash can leave
(a photo whose row was never written, a partial ``.tmp`` copy).
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from emoj_lib.errors import ImageReadError
from emoj_lib.faces.images import check_photo

PHOTOS = "photos"
"""The folder of kept photos inside a journal folder."""
PHOTO_EXTENSIONS: tuple[str, ...] = (".jpg", ".png")
_JPEG_QUALITY = 95


def _read_source(photo: Any) -> tuple[bytes | None, str]:
    """Return the encoded bytes of ``photo`` (None for an array) and a name for messages."""
    if isinstance(photo, np.ndarray):
        return None, "the photo array"
    if isinstance(photo, bytes | bytearray | memoryview):
        return bytes(photo), "the photo"
    if isinstance(photo, str | os.PathLike):
        path = Path(photo)
        try:
            st = os.stat(path)
            if not stat.S_ISREG(st.st_mode):
                raise ImageReadError(f"{path}: not a regular file; give a JPEG or PNG photo")
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise ImageReadError(f"{path}: cannot read the photo: {exc.strerror or exc}") from None
    raise TypeError(f"photo must be bytes, a path or an array, got {type(photo).__name__}")


def clean_photo(photo: Any) -> tuple[bytes, str]:
    """Return a photo re-encoded for keeping: orientation applied, no metadata, and its extension.

    Parameters
    ----------
    photo : bytes, str, Path or np.ndarray
        Encoded JPEG or PNG bytes, the path of such a file, or an RGB/grayscale uint8 array (kept as PNG).

    Returns
    -------
    (bytes, str)
        The encoded photo and ``".jpg"`` or ``".png"`` (the format it came in).

    Raises
    ------
    ImageReadError
        Not a JPEG or PNG, too large, damaged, or not a regular file; the message names it.

    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    data, name = _read_source(photo)
    if data is None:
        image = Image.fromarray(np.ascontiguousarray(photo, dtype=np.uint8))
        return _encode(image, "PNG"), ".png"
    if not data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        raise ImageReadError(f"{name}: not a JPEG or PNG file; the journal keeps JPEG or PNG photos only")
    fmt = "JPEG" if data.startswith(b"\xff\xd8\xff") else "PNG"
    ext = ".jpg" if fmt == "JPEG" else ".png"
    try:
        check_photo(data, formats=(fmt,))  # the project-wide size limit, from the header (emoj_lib.faces)
    except ImageReadError as exc:
        raise ImageReadError(f"{name}: {exc}") from None
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            upright = ImageOps.exif_transpose(image)
            upright.load()
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"{name}: damaged {fmt} file (its header cannot be read)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageReadError(f"{name}: damaged {fmt} file ({exc})") from None
    return _encode(upright, fmt), ext


def _encode(image: Any, fmt: str) -> bytes:
    if fmt == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    fresh = image.copy()  # a copy holds no .info (EXIF, XMP, comments, text chunks)
    fresh.info = {}
    buf = io.BytesIO()
    options = {"quality": _JPEG_QUALITY} if fmt == "JPEG" else {}
    fresh.save(buf, format=fmt, **options)
    return buf.getvalue()


def photo_files(folder: Path, entry_id: str) -> list[Path]:
    """Return the kept photo files of an entry (normally one, or none)."""
    return [p for ext in PHOTO_EXTENSIONS if (p := folder / PHOTOS / f"{entry_id}{ext}").is_file()]


def remove_orphans(folder: Path, known: set[str]) -> list[Path]:
    """Remove the photos of entries not in ``known`` and partial ``.tmp`` copies; return what was removed.

    Call it under the journal's exclusive lock (photos are written under that lock too).
    """
    photos = folder / PHOTOS
    if not photos.is_dir():
        return []
    removed = []
    for p in photos.iterdir():
        temporary = p.name.startswith(".") and p.name.endswith(".tmp")
        orphan = p.suffix in PHOTO_EXTENSIONS and p.stem not in known
        if (temporary or orphan) and not p.is_dir():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed
