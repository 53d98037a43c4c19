"""Face detection on the 43 shared photos (``shared/data/photos``): Haar and BlazeFace, counts and speed.

Usage::

    flock /work/wt/cpu.lock .venv/bin/python benchmarks/bench_faces.py [--photos DIR] [--repeat N] [--calibrate]

For every photo listed in the folder's README table: the expected face count (``faces`` column), the faces
found by ``find_faces(policy="all")`` with ``DetectorOptions(detector="haar")`` (the default) and
``DetectorOptions(detector="blazeface")``, and the median detect-and-crop time on the decoded array over
``--repeat`` runs (wall time, and CPU time summed over OpenCV's threads, which a loaded machine disturbs
less). Only rows marked 0, 1 or 2 are scored: found = faces matched (min of found and expected),
missed = expected - found when fewer, false boxes = found - expected when more.

The photos are split once (:func:`emoj_lib.faces.calibration.split_photos`: sorted by name, even positions
"fit", odd "score"). The Haar filter's constants were fitted on these photos: its "fit" figures are
in-sample; its "score" figures are held out from a re-fit on the fit half (``--calibrate`` prints that
re-fit's admissible threshold interval), though the constants were first chosen on all 43. BlazeFace was
trained by Google on other data and nothing of it was fitted here: both of its halves are out-of-sample.
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
from emoj_lib.faces import DetectorOptions, find_faces, load_image
from emoj_lib.faces.calibration import calibrate, read_photo_table, split_photos

DETECTORS = ("haar", "blazeface")


def median_ms(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall time and median CPU time (summed over threads; load-independent) in ms, and the result."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return float(np.median(times)) * 1e3, float(np.median(cpu)) * 1e3, result


def summary(rows: list[tuple[str, str, int, float, float]], names: list[str]) -> str:
    chosen = [r for r in rows if r[0] in names and r[1] in ("0", "1", "2")]
    right = sum(r[2] == int(r[1]) for r in chosen)
    matched = sum(min(r[2], int(r[1])) for r in chosen)
    missed = sum(max(int(r[1]) - r[2], 0) for r in chosen)
    false = sum(max(r[2] - int(r[1]), 0) for r in chosen)
    faces = sum(int(r[1]) for r in chosen)
    ms = np.median([r[3] for r in rows if r[0] in names])
    cpu = np.median([r[4] for r in rows if r[0] in names])
    return (f"{right}/{len(chosen)} photos counted right; faces found {matched}/{faces}, missed {missed}, "
            f"false boxes {false}; median {ms:.1f} ms wall, {cpu:.1f} ms CPU")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=photos_dir(), help="folder with README.md and photos")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per photo (median kept)")
    parser.add_argument("--calibrate", action="store_true", help="re-fit the confidence threshold on the fit half")
    args = parser.parse_args(argv)
    table = read_photo_table(args.photos)
    if not table:
        print(f"no README table in {args.photos}", file=sys.stderr)
        return 1
    fit, score = split_photos(table)
    options = {name: DetectorOptions(detector=name) for name in DETECTORS}
    for opts in options.values():
        find_faces(np.zeros((64, 64), np.uint8), policy="all", detector=opts)  # load the models
    print(f"photos: {args.photos} ({len(table)} listed: {len(fit)} fit, {len(score)} score); OpenCV "
          f"{cv2.__version__}, {cv2.getNumThreads()} threads; load {os.getloadavg()[0]:.2f}; repeat {args.repeat}")
    print(f"{'file':34s} {'half':5s} {'expect':>6s} {'haar':>5s} {'ms':>6s} {'cpu':>6s} {'blaze':>5s} {'ms':>6s} "
          f"{'cpu':>6s}")
    rows: dict[str, list[tuple[str, str, int, float, float]]] = {name: [] for name in DETECTORS}
    for name, expected in table.items():
        image = load_image(args.photos / name)
        cells = []
        for det, opts in options.items():
            ms, cpu, faces = median_ms(lambda im=image, o=opts: find_faces(im, policy="all", detector=o),
                                       args.repeat)
            rows[det].append((name, expected, len(faces), ms, cpu))  # type: ignore[arg-type]
            cells.append(f"{len(faces):5d} {ms:6.1f} {cpu:6.1f}")
        print(f"{name:34s} {'fit' if name in fit else 'score':5s} {expected:>6s} {' '.join(cells)}")
    print()
    for det in DETECTORS:
        status = {"haar": ("in-sample: the filter's constants were fitted on these photos", "held out from the "
                           "fit-half re-fit"), "blazeface": ("not fitted here", "not fitted here")}[det]
        print(f"{det:9s} fit   ({status[0]}): {summary(rows[det], fit)}")
        print(f"{det:9s} score ({status[1]}): {summary(rows[det], score)}")
        print(f"{det:9s} all 43: {summary(rows[det], fit + score)}")
    if args.calibrate:
        lo, hi = calibrate(args.photos, fit).threshold_interval()
        print(f"re-fit on the fit half (4 sides x 3 resamplings): min_confidence admissible in ({lo:.2f}, {hi:.2f}]"
              f"; the default 3.0 is {'inside' if lo < 3.0 <= hi else 'OUTSIDE'}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
