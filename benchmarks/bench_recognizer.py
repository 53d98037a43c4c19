"""Benchmark the recognizer (and the `fer` package beside it when installed).

Prints, for the model (default: the shipped model): load time, FER2013 PrivateTest accuracy and macro F1,
batch classification speed (faces/s) through Keras and through the fast path (the model converted to TFLite,
run by LiteRT, or with ``--format onnx`` to ONNX, run by ONNX Runtime, by ``emoj_lib.export.export_model``
into a temporary folder), measured one after the other in this run, and the per-photo latency of a whole photo
(decode, detect, crop, classify) on the shared photos through
the recognizer as it runs by default. When the `fer` package is importable (``pip install --no-deps
fer==25.10.3``), the same figures for it, measured in the same run, and the ratios.

The last line is one JSON object: ``keras_faces_per_s``, ``fast_faces_per_s``, ``keras_accuracy``,
``fast_accuracy`` (PrivateTest, no TTA), ``photo_median_ms`` (whole photo from file, default recognizer),
``speedup``, ``backend``, ``format`` and ``faces``.

Usage: ``.venv/bin/python benchmarks/bench_recognizer.py [--model PATH|small] [--photos DIR] [--fer CSV] [--int8]
[--format tflite|onnx]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
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


def fast_path(model_path: Path, test, args) -> tuple[dict, Path]:
    """Export the model into a temporary folder and measure both paths on PrivateTest; return figures, copy."""
    from emoj_lib.cards import card_path
    from emoj_lib.export import export_model

    tmp = Path(tempfile.mkdtemp(prefix="emoj-bench-"))
    copy = tmp / model_path.name
    shutil.copy(model_path, copy)
    shutil.copy(card_path(model_path), card_path(copy))
    (out, export_s) = timed(export_model, copy, args.format, int8=args.int8, faces=test.images, labels=test.labels,
                            measured_on="FER2013 PrivateTest", repeat=args.repeat)
    from emoj_lib.cards import read_card

    figures = read_card(out)["fast_path"]
    print(f"fast path: {out.name} ({out.stat().st_size / 1e6:.1f} MB), converted in {export_s:.1f} s")
    print(f"  Keras : {figures['keras_faces_per_s']:.0f} faces/s, PrivateTest accuracy {figures['keras_accuracy']:.4f}")
    print(f"  {args.format:<6}: {figures['fast_faces_per_s']:.0f} faces/s, "
          f"PrivateTest accuracy {figures['fast_accuracy']:.4f}"
          f" ({figures['speedup']:.2f}x; argmax agreement {figures['argmax_agreement']:.4f}, largest probability "
          f"difference {figures['max_abs_diff']:.2g})")
    return figures, copy


def main() -> None:
    from emoj_lib import config
    from emoj_lib.recognizer import default_model_path

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=config.model_path, default=default_model_path(),
                        help="a .keras model with its card, or a shipped model: default, small")
    parser.add_argument("--photos", type=Path, default=config.photos_dir())
    parser.add_argument("--fer", type=Path, default=config.fer2013_path())
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--int8", action="store_true", help="measure the int8-quantised conversion (tflite)")
    parser.add_argument("--format", choices=("tflite", "onnx"), default="tflite", help="the fast path's format")
    args = parser.parse_args()

    import tensorflow as tf  # noqa: F401  (imported first so that load time is the model's own)

    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import image_files
    from emoj_lib.evaluation import accuracy, macro_f1
    from emoj_lib.faces import load_image
    from emoj_lib.recognizer import Recognizer

    rec, load_s = timed(Recognizer, args.model, fast=False)
    print(f"model {args.model} ({args.model.stat().st_size / 1e6:.1f} MB, {rec.model.count_params():,} parameters)")
    print(f"  load (with card checks): {load_s:.2f} s (target <= 3 s)")
    test = read_fer_csv(args.fer, usage=["PrivateTest"])
    rec.predict(test.images[:256])  # warm-up
    runs = [timed(rec.predict, test.images) for _ in range(args.repeat)]
    proba, best = runs[0][0], min(t for _, t in runs)
    ours = {"acc": accuracy(test.labels, proba), "f1": macro_f1(test.labels, proba), "fps": len(test) / best}
    print(f"  PrivateTest ({len(test)} faces): accuracy {ours['acc']:.4f}, macro F1 {ours['f1']:.4f}")
    print(f"  batch classification (Keras): {ours['fps']:.0f} faces/s (best of {args.repeat}; target >= 1000)")
    figures, copy = fast_path(args.model, test, args)
    default = Recognizer(copy)
    print(f"recognizer by default: {default.backend} ({default.fast_reason})")

    photos = image_files(args.photos)
    arrays = [load_image(p) for p in photos]
    for p in photos[:3]:
        default.analyze(p)  # warm-up
    path_times = [timed(default.analyze, p)[1] for p in photos]
    array_times = [timed(default.analyze, a)[1] for a in arrays]
    print(f"  whole photo from file (decode+detect+crop+classify): {summary(path_times)} (target median <= 50 ms)")
    print(f"  whole photo from decoded array (detect+crop+classify): {summary(array_times)}")
    result = {"keras_faces_per_s": figures["keras_faces_per_s"], "fast_faces_per_s": figures["fast_faces_per_s"],
              "keras_accuracy": round(figures["keras_accuracy"], 4),
              "fast_accuracy": round(figures["fast_accuracy"], 4),
              "photo_median_ms": round(1000 * statistics.median(path_times), 1), "speedup": figures["speedup"],
              "backend": default.backend, "format": args.format, "faces": len(test), "int8": args.int8}
    compare_fer(test, photos, path_times, {**ours, "fast_fps": figures["fast_faces_per_s"]}, args)
    shutil.rmtree(copy.parent, ignore_errors=True)
    print(json.dumps(result))


def compare_fer(test, photos, path_times, ours, args) -> None:
    """Measure the `fer` package on the same faces and photos, when it is installed."""
    from emoj_lib.evaluation import accuracy, macro_f1

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
          f"accuracy {ours['acc'] / fer_acc:.3f}, faces/s {ours['fps'] / fer_fps:.2f}x (Keras), "
          f"{ours['fast_fps'] / fer_fps:.2f}x (fast path), "
          f"median photo latency {statistics.median(fer_times) / statistics.median(path_times):.1f}x faster")


if __name__ == "__main__":
    main()
