"""Benchmark the recognizer (and the `fer` package beside it when installed).

Prints, for the model (default: the shipped model): load time, FER2013 PrivateTest accuracy and macro F1,
batch classification speed (faces/s), and the per-photo latency of a whole photo (decode, detect, crop,
classify) on the shared photos. When the `fer` package is importable (``pip install --no-deps fer==25.10.3``),
the same figures for it, measured in the same run, and the ratios.

Usage: ``.venv/bin/python benchmarks/bench_recognizer.py [--model PATH] [--photos DIR] [--fer CSV]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def summary(times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    return f"median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms, n={len(ms)}"


def main() -> None:
    from emoj_lib import config
    from emoj_lib.recognizer import default_model_path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=default_model_path())
    parser.add_argument("--photos", type=Path, default=config.photos_dir())
    parser.add_argument("--fer", type=Path, default=config.fer2013_path())
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import tensorflow as tf  # noqa: F401  (imported first so that load time is the model's own)

    from emoj_lib.data import read_fer_csv
    from emoj_lib.evaluation import accuracy, macro_f1
    from emoj_lib.faces import image_files, load_image
    from emoj_lib.recognizer import Recognizer

    rec, load_s = timed(Recognizer, args.model)
    print(f"model {args.model} ({args.model.stat().st_size / 1e6:.1f} MB, {rec.model.count_params():,} parameters)")
    print(f"  load: {load_s:.2f} s (target <= 3 s)")
    test = read_fer_csv(args.fer, usage=["PrivateTest"])
    rec.predict(test.images[:256])  # warm-up
    runs = [timed(rec.predict, test.images) for _ in range(args.repeat)]
    proba, best = runs[0][0], min(t for _, t in runs)
    ours = {"acc": accuracy(test.labels, proba), "f1": macro_f1(test.labels, proba), "fps": len(test) / best}
    print(f"  PrivateTest ({len(test)} faces): accuracy {ours['acc']:.4f}, macro F1 {ours['f1']:.4f}")
    print(f"  batch classification: {ours['fps']:.0f} faces/s (best of {args.repeat}; target >= 1000)")

    photos = image_files(args.photos)
    arrays = [load_image(p) for p in photos]
    for p in photos[:3]:
        rec.analyze(p)  # warm-up
    path_times = [timed(rec.analyze, p)[1] for p in photos]
    array_times = [timed(rec.analyze, a)[1] for a in arrays]
    print(f"  whole photo from file (decode+detect+crop+classify): {summary(path_times)} (target median <= 50 ms)")
    print(f"  whole photo from decoded array (detect+crop+classify): {summary(array_times)}")

    try:
        import cv2
        from fer.fer import FER
    except ImportError:
        print("fer package not installed: `pip install --no-deps fer==25.10.3` to compare")
        return
    detector, fer_load = timed(FER)
    print(f"fer 25.10.3 (its default: Haar cascade + quantised TFLite mini-Xception), load {fer_load:.2f} s")
    faces64 = np.stack([cv2.resize(img, (64, 64)) for img in test.images]).astype(np.float32)
    faces64 = (faces64 / 255.0 - 0.5) * 2.0
    fer_runs = [timed(detector._classify_emotions, faces64) for _ in range(args.repeat)]
    fer_proba = np.asarray(fer_runs[0][0])
    fer_fps = len(test) / min(t for _, t in fer_runs)
    fer_acc, fer_f1 = accuracy(test.labels, fer_proba), macro_f1(test.labels, fer_proba)
    print(f"  PrivateTest: accuracy {fer_acc:.4f}, macro F1 {fer_f1:.4f}; classification {fer_fps:.0f} faces/s")
    fer_times = [timed(lambda p: detector.detect_emotions(cv2.imread(str(p))), p)[1] for p in photos]
    print(f"  whole photo from file: {summary(fer_times)}")
    print("ratios (emoj / fer): "
          f"accuracy {ours['acc'] / fer_acc:.3f}, faces/s {ours['fps'] / fer_fps:.1f}x, "
          f"median photo latency {statistics.median(fer_times) / statistics.median(path_times):.1f}x faster")


if __name__ == "__main__":
    main()
