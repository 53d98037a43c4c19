"""Models on faces unlike FER2013's: JAFFE's posed faces and the shared photos' coarse labels, no adaptation.

The check a new model must pass before it is shipped ("no worse than today on faces unlike FER2013's"):

- **JAFFE** (``--people DIR``, laid out ``DIR/<person>/<emotion>/<photos>`` by ``emoj data people``): every
  photo through the model's own detection and cropping (the largest face), read once; accuracy, macro F1,
  and the mean and worst of the per-person accuracies. Seven Japanese women posing, studio light: far
  from FER2013's web faces.
- **The shared photos** (``--photos DIR``): the 38 with a coarse label in the ``expression`` column of
  their ``README.md`` (18 happy, 20 neutral, judged by eye by whoever assembled the folder, not ground
  truth); the largest face of each, the share read as that label, and each label's recall.

Every model after the first is also compared with the first on the same faces: the faces it reads right
and the first wrong (``gained``), the reverse (``lost``), and the two-sided sign-test p-value of that
difference (151 JAFFE faces: a difference of 3 points is well within chance).

Nothing is fitted here, on either set: these are the models' readings as they ship. (The Haar detector's
false-box filter was fitted on the 43 photos, which only decides which box is cropped.)

Usage::

    .venv/bin/python benchmarks/bench_models.py --people DIR [--photos DIR] [--tta none|flip|tencrop] \
        MODEL [MODEL ...]

MODEL: a ``.keras`` model with its card, ``default`` or ``small``; several joined by ``+`` are an ensemble
(the mean of their probabilities). Last line: one JSON object, ``{"models": [{...}, ...]}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from emoj_lib.config import photos_dir
from emoj_lib.evaluation import accuracy, macro_f1, paired_comparison
from emoj_lib.faces.calibration import read_photo_table
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal.people import largest_face_crops
from emoj_lib.recognizer import Recognizer


def people_figures(pred: np.ndarray, labels: np.ndarray, persons: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1, and the mean and worst per-person accuracy."""
    per_person = [accuracy(labels[persons == p], pred[persons == p]) for p in np.unique(persons)]
    return {"jaffe_accuracy": accuracy(labels, pred), "jaffe_macro_f1": macro_f1(labels, pred),
            "jaffe_person_mean": float(np.mean(per_person)), "jaffe_person_worst": float(np.min(per_person))}


def photo_figures(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Share of the photos read as their by-eye label, and each label's recall."""
    out = {"photos_accuracy": accuracy(labels, pred)}
    for name in ("happy", "neutral"):
        k = EMOTIONS.index(name)
        out[f"photos_{name}_recall"] = accuracy(labels[labels == k], pred[labels == k])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=["default"], help="models; A+B for an ensemble")
    parser.add_argument("--people", type=Path, required=True, help="DIR/<person>/<emotion>/<photos> (JAFFE)")
    parser.add_argument("--photos", type=Path, default=photos_dir(), help="folder with README.md and photos")
    parser.add_argument("--tta", default="none", choices=("none", "flip", "tencrop"))
    args = parser.parse_args()

    from emoj_lib.data.people import read_people

    people = read_people(args.people)
    table = read_photo_table(args.photos, "expression")
    photo_names = sorted(n for n, e in table.items() if e in EMOTIONS)
    photo_paths = [str(args.photos / n) for n in photo_names]
    photo_labels = np.array([EMOTIONS.index(table[n]) for n in photo_names])
    cache: dict[str, tuple] = {}  # face options -> (JAFFE crops, found, photo crops, found)
    rows, rights = [], []  # rights: which JAFFE photos each model reads right
    for spec in args.models:
        t0 = time.perf_counter()
        rec = Recognizer(spec.split("+"), tta=args.tta, fast=False)
        key = json.dumps(rec.face_options, sort_keys=True, default=str)
        if key not in cache:
            cache[key] = (*largest_face_crops(people["path"], rec.face_options),
                          *largest_face_crops(photo_paths, rec.face_options))
        j_crops, j_found, p_crops, p_found = cache[key]
        j_pred, p_pred = rec.predict(j_crops).argmax(1), rec.predict(p_crops).argmax(1)
        j_labels = people["label"].to_numpy()[j_found]
        row = {"model": spec, "name": rec.name, "tta": args.tta,
               "jaffe_faces": int(j_found.sum()), "jaffe_photos": len(people),
               **people_figures(j_pred, j_labels, people["person"].to_numpy(str)[j_found]),
               "photos_faces": int(p_found.sum()), "photos_labelled": len(photo_names),
               **photo_figures(p_pred, photo_labels[p_found]),
               "seconds": time.perf_counter() - t0}
        right = np.zeros(len(people), bool)
        right[j_found] = j_pred == j_labels
        if rights:
            row.update({f"jaffe_{k}_vs_first": v for k, v in paired_comparison(right, rights[0]).items()})
        rights.append(right)
        rows.append(row)
        print(f"{spec} ({rec.name}, TTA {args.tta}): JAFFE {row['jaffe_faces']}/{row['jaffe_photos']} faces, "
              f"accuracy {row['jaffe_accuracy']:.3f}, macro F1 {row['jaffe_macro_f1']:.3f}, per person mean "
              f"{row['jaffe_person_mean']:.3f}, worst {row['jaffe_person_worst']:.3f} | photos "
              f"{row['photos_faces']}/{row['photos_labelled']}: read as labelled {row['photos_accuracy']:.3f} "
              f"(happy {row['photos_happy_recall']:.3f}, neutral {row['photos_neutral_recall']:.3f}) | "
              f"{row['seconds']:.1f} s")
        if "jaffe_gained_vs_first" in row:
            print(f"    JAFFE against {args.models[0]}: {row['jaffe_gained_vs_first']} faces gained, "
                  f"{row['jaffe_lost_vs_first']} lost (sign test p = {row['jaffe_p_vs_first']:.2f})")
    print(json.dumps({"models": [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}
                                 for r in rows]}))


if __name__ == "__main__":
    main()
