"""Hostile and broken images: refused at once, in bounded memory, with a message naming the file and the problem."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emoj_lib.errors import ImageReadError
from emoj_lib.faces import load_image
from emoj_lib.faces.images import DEFAULT_MAX_PIXELS, check_photo, max_image_pixels

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT), **env})


@pytest.mark.parametrize("mode", ["1", "P"])
def test_decompression_bomb_is_refused_fast_in_bounded_memory(tmp_path: Path, mode: str) -> None:
    bomb = tmp_path / f"bomb-{mode}.png"
    Image.new(mode, (13300, 13300)).save(bomb)  # 176.9 megapixels, just under Pillow's own hard limit
    assert bomb.stat().st_size < 1_000_000
    done = run_python(f"""
        import resource, time
        from emoj_lib.faces import load_image
        from emoj_lib.errors import ImageReadError
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        try:
            load_image({str(bomb)!r})
        except ImageReadError as exc:
            print("refused:", exc)
        print("seconds", time.perf_counter() - t0)
        print("grew_kb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert f"bomb-{mode}.png: 13300x13300 is 176.9 megapixels, above the limit of 40" in lines["refused:"]
    assert float(lines["seconds"]) < 2.0
    assert int(lines["grew_kb"]) < 50_000  # peak memory grew by less than 50 MB (decoding would take GBs)


def test_the_limit_is_configurable_in_one_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_image_pixels() == DEFAULT_MAX_PIXELS == 40_000_000
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "a.png")
    monkeypatch.setenv("EMOJ_MAX_PIXELS", "1599")
    with pytest.raises(ImageReadError, match=r"a\.png: 40x40 is 0\.0 megapixels, above the limit of 0\.001599"):
        check_photo(tmp_path / "a.png")
    monkeypatch.setenv("EMOJ_MAX_PIXELS", "1600")
    assert load_image(tmp_path / "a.png").shape == (40, 40, 3)
    monkeypatch.setenv("EMOJ_MAX_PIXELS", "lots")
    with pytest.raises(ValueError, match="EMOJ_MAX_PIXELS"):
        max_image_pixels()


def test_a_large_jpeg_is_decoded_reduced_when_a_smaller_size_is_asked(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    Image.fromarray(np.full((800, 1000, 3), 120, np.uint8)).save(tmp_path / "big.jpg")
    monkeypatch.setenv("EMOJ_MAX_PIXELS", "250000")
    with pytest.raises(ImageReadError, match=r"big\.jpg: 1000x800 is 0\.8 megapixels"):
        load_image(tmp_path / "big.jpg")
    assert load_image(tmp_path / "big.jpg", max_side=300).shape == (240, 300, 3)  # drafted at 1/2: 200,000 px
    Image.fromarray(np.full((800, 1000, 3), 120, np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ImageReadError, match=r"big\.png: 1000x800"):
        load_image(tmp_path / "big.png", max_side=300)  # PNG has no reduced decoding


def test_a_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "camera.jpg"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    done = run_python(f"""
        from emoj_lib.faces import load_image
        from emoj_lib.faces.images import check_photo
        for read in (load_image, check_photo):
            try:
                read({str(fifo)!r})
            except Exception as exc:
                print(type(exc).__name__, exc)
    """, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(f"ImageReadError cannot read image {fifo}: it is a named pipe (FIFO), not a "
                             "regular file") == 2
    assert time.perf_counter() - t0 < 60


def test_devices_directories_and_links_name_the_real_problem(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"/dev/null: it is a character device, not a regular file"):
        load_image("/dev/null")
    with pytest.raises(ImageReadError, match="it is a directory"):
        load_image(tmp_path)
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    with pytest.raises(ImageReadError, match=r"a\.jpg: symbolic link loop"):
        load_image(tmp_path / "a.jpg")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(ImageReadError, match=r"gone\.jpg: broken symbolic link"):
        check_photo(tmp_path / "gone.jpg")
    with pytest.raises(ImageReadError, match=r"missing\.jpg: file not found"):
        load_image(tmp_path / "missing.jpg")


def test_damaged_truncated_and_foreign_files(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    data[29] ^= 0xFF  # the IHDR chunk's CRC
    (tmp_path / "crc.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"crc\.png: damaged PNG file \(broken PNG file \(bad header checksum"):
        load_image(tmp_path / "crc.png")
    with pytest.raises(ImageReadError, match="damaged PNG file"):
        load_image(bytes(data))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (200, 200), dtype=np.uint8)).save(tmp_path / "whole.jpg")
    (tmp_path / "cut.jpg").write_bytes((tmp_path / "whole.jpg").read_bytes()[:3000])
    with pytest.raises(ImageReadError, match=r"cut\.jpg: truncated or damaged JPEG file"):
        load_image(tmp_path / "cut.jpg")
    (tmp_path / "notes.png").write_text("this is not an image\n")
    with pytest.raises(ImageReadError, match=r"notes\.png: not an image file"):
        check_photo(tmp_path / "notes.png")


def test_check_photo_reads_the_header_only_and_checks_formats(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((30, 20, 3), np.uint8)).save(tmp_path / "p.webp")
    Image.fromarray(np.zeros((30, 20, 3), np.uint8)).save(tmp_path / "p.gif")
    info = check_photo(tmp_path / "p.webp")
    assert (info.format, info.size) == ("WEBP", (20, 30))
    for name, fmt in (("p.webp", "WEBP"), ("p.gif", "GIF")):
        with pytest.raises(ImageReadError, match=rf"{name}: format {fmt} is not accepted here; use one of JPEG, PNG"):
            check_photo(tmp_path / name, formats=("JPEG", "PNG"))
