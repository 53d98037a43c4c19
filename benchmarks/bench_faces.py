"""Face detection accuracy and speed on the shared photos (``shared/data/photos``).

Usage::

    .venv/bin/python benchmarks/bench_faces.py [--photos DIR] [--repeat N]

For every photo listed in the folder's README table: the expected face count (``faces`` column), the count
found by ``emoj_lib.faces.find_faces(policy="all")`` and by a plain Haar pass (``frontalface_default``,
scaleFactor 1.1, minNeighbors 5, on the same 480-pixel grayscale copy, no filter), the decode time
(``load_image``, full size and with ``max_side=1024``) and the detect-and-crop time on the decoded array.
Each time is the best of ``--repeat`` runs (as ``timeit`` advises: the least disturbed by other processes
on a shared machine); the summary also gives the per-photo medians of the runs. Only the rows marked 0, 1
or 2 are scored (``1+``/``7+`` photos have background faces a detector may or may not find).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from emoj_lib.config import photos_dir
from emoj_lib.faces import find_faces, load_image


def read_table(folder: Path) -> dict[str, str]:
    """File name -> ``faces`` column of the folder's README table."""
    rows: dict[str, str] = {}
    header: list[str] | None = None
    for line in (folder / "README.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif cells[0] and not set(cells[0]) <= set("-: "):
            rows[cells[header.index("file")]] = cells[header.index("faces")]
    return rows


def plain_haar(image: np.ndarray, clf: cv2.CascadeClassifier) -> int:
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, 480 / max(gray.shape))
    if scale < 1:
        gray = cv2.resize(gray, (round(gray.shape[1] * scale), round(gray.shape[0] * scale)),
                          interpolation=cv2.INTER_AREA)
    return len(clf.detectMultiScale(gray, 1.1, 5))


def timed(fn, repeat: int) -> tuple[float, float, float, object]:
    """Best and median wall time, best CPU time (all threads) of ``repeat`` calls, and the last result."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return min(times), float(np.median(times)), min(cpu), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=photos_dir(), help="folder with README.md and photos")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per photo (median kept)")
    args = parser.parse_args(argv)
    table = read_table(args.photos)
    if not table:
        print(f"no README table in {args.photos}", file=sys.stderr)
        return 1
    plain_clf = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    find_faces(np.zeros((64, 64), np.uint8), policy="all")  # load and cache the cascades
    print(f"photos: {args.photos} ({len(table)} listed); OpenCV {cv2.__version__}, {cv2.getNumThreads()} "
          f"threads; load average {os.getloadavg()[0]:.2f}; repeat {args.repeat}")
    print(f"{'file':34s} {'expect':>6s} {'found':>5s} {'plain':>5s} {'decode':>8s} {'dec@1024':>8s} "
          f"{'detect':>8s}  note")
    decode, decode_small, detect, total, detect_med, detect_cpu = [], [], [], [], [], []
    miss, miss_plain, scored = [], [], 0
    no_face: list[str] = []
    for name, expected in table.items():
        path = args.photos / name
        t_dec, _, _, image = timed(lambda p=path: load_image(p), args.repeat)
        t_small, _, _, _ = timed(lambda p=path: load_image(p, max_side=1024), args.repeat)
        t_det, t_det_med, t_cpu, faces = timed(lambda im=image: find_faces(im, policy="all"), args.repeat)
        detect_med.append(t_det_med)
        detect_cpu.append(t_cpu)
        found, plain = len(faces), plain_haar(image, plain_clf)
        decode.append(t_dec)
        decode_small.append(t_small)
        detect.append(t_det)
        total.append(t_dec + t_det)
        note = ""
        if expected in ("0", "1", "2"):
            scored += 1
            if found != int(expected):
                miss.append(name)
                note += " MISCOUNT"
            if plain != int(expected):
                miss_plain.append(name)
                note += " (plain miscounts)"
        if expected == "0":
            no_face.append(f"{name}: {found} (plain {plain})")
        print(f"{name:34s} {expected:>6s} {found:5d} {plain:5d} {t_dec * 1e3:6.1f}ms {t_small * 1e3:6.1f}ms "
              f"{t_det * 1e3:6.1f}ms {note}")

    def stats(xs: list[float]) -> str:
        return f"median {np.median(xs) * 1e3:6.1f} ms, p90 {np.percentile(xs, 90) * 1e3:6.1f} ms"

    print()
    print(f"miscounts among the {scored} photos marked 0/1/2: ours {len(miss)} {miss}; "
          f"plain Haar {len(miss_plain)} {miss_plain}")
    print(f"no-face photos (found, plain): {'; '.join(no_face)}")
    print(f"decode (full size)      : {stats(decode)}")
    print(f"decode (max_side=1024)  : {stats(decode_small)}")
    print(f"detect + crop (array)   : {stats(detect)}   [target: median <= 40 ms; fer package: 165 ms]")
    print(f"detect + crop, per-photo median of {args.repeat} runs instead of best: {stats(detect_med)}")
    print(f"detect + crop, CPU time summed over threads (load-independent): {stats(detect_cpu)}")
    print(f"total (full decode + detect + crop): median {np.median(total) * 1e3:6.1f} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
