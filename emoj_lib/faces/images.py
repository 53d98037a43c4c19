"""Loading photographs of any common kind into RGB ``uint8`` arrays.

:func:`load_image` accepts a path, raw bytes, a binary file object, a PIL image or a numpy array and
always returns an ``(H, W, 3)`` RGB ``uint8`` array: JPEG/PNG/BMP/WebP/TIFF files, transparency
(composited on white), grayscale, 16-bit and palette images, and phone pictures whose EXIF
``Orientation`` tag says how to turn them.
"""

from __future__ import annotations

import errno
import io
import math
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeAlias

import cv2
import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from emoj_lib.errors import ImageReadError

ImageSource: TypeAlias = (
    str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | Image.Image | np.ndarray
)
"""Anything :func:`load_image` reads: a path, encoded bytes, a binary file, a PIL image or an array."""

_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, Image.DecompressionBombError)

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest image accepted, in decoded pixels (40 megapixels: an RGBA copy is 160 MB, and no accepted photo
needs more than about 1 GB at its peak). Override with the environment variable ``EMOJ_MAX_PIXELS``."""

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
    (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"),
)


def max_image_pixels() -> int:
    """Return the decoded-size limit: ``$EMOJ_MAX_PIXELS`` if set, else :data:`DEFAULT_MAX_PIXELS`.

    Returns
    -------
    int
        Pixels (width x height).

    Raises
    ------
    ValueError
        If ``EMOJ_MAX_PIXELS`` is not a positive integer.

    """
    raw = os.environ.get("EMOJ_MAX_PIXELS", "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"EMOJ_MAX_PIXELS must be a positive integer, got {raw!r}")
    return int(raw)


def _sniff(fp: IO[bytes]) -> str | None:
    """Return the format an encoded image's first bytes announce (``None`` when none matches)."""
    fp.seek(0)
    head = fp.read(16)
    fp.seek(0)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((fmt for magic, fmt in _MAGIC if head.startswith(magic)), None)


def _damage(fp: IO[bytes], fmt: str) -> str:
    """Return the format plugin's own complaint about a file that announces ``fmt`` but does not open."""
    Image.init()
    factory = Image.OPEN.get(fmt, (None, None))[0]
    try:
        fp.seek(0)
        if factory is not None:
            factory(fp, "")  # as Image.open calls it (fp, filename); "" is the default for a stream
    except Exception as exc:  # the plugin's message is the diagnosis (e.g. a bad header checksum)
        return str(exc) or type(exc).__name__
    return "its header cannot be parsed"


def _open_path(path: Path, name: str) -> IO[bytes]:
    """Open a regular file for reading, refusing at once anything else (FIFO, device, directory, socket)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        what = "broken symbolic link (its target does not exist)" if path.is_symlink() else "file not found"
        raise ImageReadError(f"cannot read image {name}: {what}") from exc
    except OSError as exc:
        reasons = {errno.ELOOP: "symbolic link loop", errno.EACCES: "permission denied",
                   errno.ENXIO: "not a regular file (a socket or an unconnected device)"}
        raise ImageReadError(f"cannot read image {name}: {reasons.get(exc.errno or 0, exc.strerror)}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kinds = ((stat.S_ISDIR, "it is a directory"), (stat.S_ISFIFO, "it is a named pipe (FIFO)"),
                 (stat.S_ISCHR, "it is a character device"), (stat.S_ISBLK, "it is a block device"),
                 (stat.S_ISSOCK, "it is a socket"))
        what = next((text for test, text in kinds if test(mode)), "it is not a regular file")
        raise ImageReadError(f"cannot read image {name}: {what}, not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _check_pixels(size: tuple[int, int], name: str) -> None:
    limit = max_image_pixels()
    if size[0] * size[1] > limit:
        raise ImageReadError(f"cannot read image {name}: {size[0]}x{size[1]} is {size[0] * size[1] / 1e6:.1f} "
                             f"megapixels, above the limit of {limit / 1e6:g} (EMOJ_MAX_PIXELS)")


def describe_source(source: object) -> str:
    """Return a short human-readable name of an image source, for error messages.

    Parameters
    ----------
    source : object
        Anything accepted by :func:`load_image`.

    Returns
    -------
    str
        The path for a path, the file object's ``name`` if it has one, else a description such as
        ``"<array 480x640x3 uint8>"``.

    """
    if isinstance(source, str | os.PathLike):
        return str(source)
    if isinstance(source, np.ndarray):
        return f"<array {'x'.join(map(str, source.shape))} {source.dtype}>"
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "")
        return str(name) if name else f"<PIL image {source.width}x{source.height} {source.mode}>"
    if isinstance(source, bytes | bytearray | memoryview):
        return f"<{len(source)} bytes>"
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, str | os.PathLike) else "<stream>"


@dataclass(frozen=True)
class PhotoInfo:
    """What an image file's header says, read without decoding its pixels.

    Attributes
    ----------
    format : str
        Pillow's format name (``"JPEG"``, ``"PNG"``...).
    size : (int, int)
        ``(width, height)`` as stored (before any EXIF rotation).

    """

    format: str
    size: tuple[int, int]


def check_photo(source: ImageSource, *, formats: tuple[str, ...] | None = None) -> PhotoInfo:
    """Check an encoded image from its header, without decoding a pixel (call it before any model runs).

    Parameters
    ----------
    source : path, bytes or binary file
        An encoded image.
    formats : tuple of str, optional
        Accepted Pillow format names (e.g. ``("JPEG", "PNG")``); any format Pillow reads when omitted.

    Returns
    -------
    PhotoInfo
        Its format and stored size.

    Raises
    ------
    ImageReadError
        If it is not a regular file, is missing, a symbolic link loop, not an image, a damaged image, larger
        than :func:`max_image_pixels`, or of a format not in ``formats``; the message names the file and
        the problem.

    """
    name = describe_source(source)
    with _opened(source, name) as im:
        info = PhotoInfo(str(im.format), (int(im.width), int(im.height)))
    if formats is not None and info.format not in formats:
        raise ImageReadError(f"cannot use image {name}: format {info.format} is not accepted here; use one of "
                             f"{', '.join(formats)}")
    return info


@contextmanager
def _opened(source: object, name: str, *, check_size: bool = True) -> Iterator[Image.Image]:
    """Open an encoded image (header only), turning every failure into one message naming the file."""
    fp = _open_source(source, name)
    try:
        try:
            im = Image.open(fp)  # type: ignore[arg-type]
        except UnidentifiedImageError as exc:
            fmt = _sniff(fp)  # type: ignore[arg-type]
            if fmt is None:
                raise ImageReadError(f"cannot read image {name}: not an image file (no known image format "
                                     "starts like this)") from exc
            raise ImageReadError(f"cannot read image {name}: damaged {fmt} file "
                                 f"({_damage(fp, fmt)})") from exc  # type: ignore[arg-type]
        except Image.DecompressionBombError as exc:
            raise ImageReadError(f"cannot read image {name}: {exc}") from exc
        except _ERRORS as exc:
            fmt = _sniff(fp) or "image"  # type: ignore[arg-type]
            raise ImageReadError(f"cannot read image {name}: truncated or damaged {fmt} file ({exc})") from exc
        if check_size:
            _check_pixels(im.size, name)
        with im:
            yield im
    finally:
        if isinstance(source, str | os.PathLike):
            fp.close()  # type: ignore[attr-defined]


def load_image(source: ImageSource, *, max_side: int | None = None) -> np.ndarray:
    """Read an image into an RGB ``uint8`` array of shape ``(H, W, 3)``.

    Parameters
    ----------
    source : str, PathLike, bytes, binary file, PIL.Image.Image or np.ndarray
        A path to an image file (JPEG, PNG, BMP, WebP, TIFF, GIF... anything Pillow decodes), the encoded
        bytes of such a file, a binary file object, a PIL image, or an array. Files and PIL images are
        turned upright according to their EXIF ``Orientation`` tag. Arrays are taken as they are:
        ``(H, W)`` grayscale, ``(H, W, 1)``, ``(H, W, 3)`` **RGB** or ``(H, W, 4)`` **RGBA** (an array from
        ``cv2.imread`` is BGR: convert it with ``cv2.cvtColor(a, cv2.COLOR_BGR2RGB)`` first).
        ``uint16`` values are scaled from 0..65535 to 0..255; floats are taken as 0..1 when their maximum
        is at most 1, else as 0..255 (and clipped); other integer types must lie in 0..255.
    max_side : int, optional
        If given, the result's longer side is at most ``max_side`` pixels (smaller images are not
        enlarged). Large JPEGs are then decoded directly at a reduced scale (``Image.draft``: 1/2, 1/4 or
        1/8, never below ``max_side``), which is several times faster, before the final area downscale.

    Returns
    -------
    np.ndarray
        A new, writable ``uint8`` array ``(H, W, 3)``, RGB, C-contiguous. Transparent pixels are
        composited on white; grayscale, palette and 16-bit images are converted (16-bit values are
        scaled, not clipped).

    Raises
    ------
    ImageReadError
        If the file is missing, is not an image, or cannot be decoded; the message names the file and
        the reason.

    """
    array = load_array(source, max_side=max_side)
    if array.ndim == 2:
        array = cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    elif not array.flags.writeable or (isinstance(source, np.ndarray) and np.shares_memory(array, source)):
        array = array.copy()  # a writable array of its own (PIL exports read-only buffers)
    return array


def load_array(source: ImageSource, *, max_side: int | None = None) -> np.ndarray:
    """Like :func:`load_image` but keep grayscale sources as 2-D ``(H, W)`` arrays (no RGB copy).

    Parameters
    ----------
    source : str, PathLike, bytes, binary file, PIL.Image.Image or np.ndarray
        See :func:`load_image`.
    max_side : int, optional
        See :func:`load_image`.

    Returns
    -------
    np.ndarray
        ``uint8``, either ``(H, W)`` grayscale or ``(H, W, 3)`` RGB, C-contiguous; possibly read-only, and
        possibly the caller's own array (no copy is made when none is needed).

    """
    if max_side is not None and (isinstance(max_side, bool) or not isinstance(max_side, int) or max_side < 1):
        raise ValueError(f"max_side must be a positive int or None, got {max_side!r}")
    if isinstance(source, np.ndarray):
        array = _from_array(source, describe_source(source))
    elif isinstance(source, Image.Image):
        array = _from_pil(source, describe_source(source), max_side, opened=False)
    else:
        array = _from_encoded(source, max_side)
    if max_side is not None and max(array.shape[:2]) > max_side:
        h, w = array.shape[:2]
        scale = max_side / max(h, w)
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        array = cv2.resize(array, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(array)


def load_array_reduced(source: ImageSource, *, decode_side: int) -> tuple[np.ndarray, float]:
    """Decode an image cheaply for detection: JPEGs at 1/2, 1/4 or 1/8 scale, never below ``decode_side``.

    Only the decoder's own reduction is used (``Image.draft``; no resampling afterwards), so this is never
    slower than a full decode. Arrays, PIL images and non-JPEG files come back at full size.

    Parameters
    ----------
    source : path, bytes, PIL image or np.ndarray
        See :func:`load_image`.
    decode_side : int
        The decoded image's longer side stays at least this long.

    Returns
    -------
    (np.ndarray, float)
        The array (as :func:`load_array` returns it) and the factor from its pixels to the original
        image's pixels (1.0 when decoded at full size).

    """
    if isinstance(decode_side, bool) or not isinstance(decode_side, int) or decode_side < 1:
        raise ValueError(f"decode_side must be a positive int, got {decode_side!r}")
    if not isinstance(source, str | os.PathLike | bytes | bytearray | memoryview):
        return load_array(source), 1.0
    array = _from_encoded(source, decode_side)  # draft only: no final resize
    try:
        with Image.open(source if isinstance(source, str | os.PathLike) else io.BytesIO(bytes(source))) as im:
            full = max(im.size)  # the header only; the long side is the same after EXIF rotation
    except (OSError, ValueError):  # pragma: no cover - it was just decoded
        return np.ascontiguousarray(array), 1.0
    return np.ascontiguousarray(array), full / max(array.shape[:2])


def _open_source(source: object, name: str) -> object:
    if isinstance(source, str | os.PathLike):
        fp: object = _open_path(Path(source), name)
    elif isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ImageReadError(f"cannot read image {name}: no data")
        fp = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        fp = source
    else:
        raise TypeError(f"cannot read an image from {type(source).__name__}; expected a path, bytes, a "
                        "binary file, a PIL image or a numpy array")
    return fp


def _from_encoded(source: object, max_side: int | None) -> np.ndarray:
    name = describe_source(source)
    with _opened(source, name, check_size=False) as im:  # the size is checked after a JPEG draft
        return _from_pil(im, name, max_side, opened=True)


def _from_pil(im: Image.Image, name: str, max_side: int | None, *, opened: bool) -> np.ndarray:
    """Decode (when ``opened`` from a file), turn upright and convert a PIL image."""
    try:
        if opened and max_side is not None and max(im.size) > max_side:
            scale = max_side / max(im.size)
            # JPEG only (a no-op for other formats): decode at 1/2, 1/4 or 1/8 scale, never below the request
            im.draft(None, (math.ceil(im.width * scale), math.ceil(im.height * scale)))
        if opened:
            _check_pixels(im.size, name)  # from the header (after a JPEG draft), before any pixel is decoded
        im.load()
    except ImageReadError:
        raise
    except _ERRORS as exc:
        raise ImageReadError(f"cannot read image {name}: truncated or damaged {im.format or 'image'} file "
                             f"({exc})") from exc
    try:
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation in range(2, 9):
            im = ImageOps.exif_transpose(im)
    except Exception:  # a damaged EXIF block must not make an otherwise decodable picture unreadable
        pass
    try:
        return _pil_to_array(im, name)
    except ImageReadError:
        raise
    except (ValueError, OSError) as exc:
        raise ImageReadError(f"cannot read image {name}: cannot convert mode {im.mode} to RGB ({exc})") from exc


def _pil_to_array(im: Image.Image, name: str) -> np.ndarray:
    mode = im.mode
    if mode == "P" and "transparency" in im.info:
        im, mode = im.convert("RGBA"), "RGBA"
    if mode in ("LA", "La", "PA", "RGBa"):
        im, mode = im.convert("RGBA"), "RGBA"
    if mode.startswith("I;16"):
        return _from_array(np.asarray(im).astype(np.uint16), name)
    if mode in ("I", "F"):
        return _from_array(np.asarray(im), name)
    if mode == "1":
        im, mode = im.convert("L"), "L"
    if mode not in ("L", "RGB", "RGBA"):
        im = im.convert("RGB")
    return _from_array(np.asarray(im), name)


def _to_uint8(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        return ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        if a.size and not np.isfinite(a).all():
            raise ImageReadError(f"cannot read image {name}: the array holds NaN or infinite values")
        top = float(a.max()) if a.size else 0.0
        scaled = a * 255.0 if top <= 1.0 else a
        return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    if np.issubdtype(a.dtype, np.integer):
        lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        if lo >= 0 and hi <= 65535:  # e.g. a 16-bit image held in a 32-bit PIL "I" image
            return _to_uint8(a.astype(np.uint16), name)
        raise ImageReadError(f"cannot read image {name}: integer values {lo}..{hi} outside 0..65535")
    raise ImageReadError(f"cannot read image {name}: unsupported array dtype {a.dtype}")


def _from_array(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ImageReadError(f"cannot read image {name}: expected an array (H, W), (H, W, 1), (H, W, 3) or "
                             f"(H, W, 4), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageReadError(f"cannot read image {name}: the image is empty ({a.shape[1]}x{a.shape[0]})")
    a = _to_uint8(a, name)
    if a.ndim == 3 and a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.uint16)
        rgb = a[:, :, :3].astype(np.uint16)
        a = ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.ascontiguousarray(a)
