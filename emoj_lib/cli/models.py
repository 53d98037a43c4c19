"""``emoj evaluate`` and ``emoj predict``: a model's report on labelled faces, and the emotions in photos."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import add_command
from emoj_lib.cli.progress import CountingModel, progress_bar
from emoj_lib.errors import EmojError, MultipleFacesError
from emoj_lib.faces.cropping import DEFAULT_POLICY, POLICIES


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model on a FER-format CSV and write the report (metrics.json and figures)."""
    import pandas as pd

    from emoj_lib.cards import load_model
    from emoj_lib.data import read_fer_csv
    from emoj_lib.evaluation import evaluation_report

    model, card = load_model(args.model)
    data = read_fer_csv(args.fer or cfg.fer2013_path(), usage=args.split or None)
    out = args.out or cfg.REPORTS_DIR / f"eval-{args.model.stem}"
    passes = 1 if args.no_tta else 3  # plain, then each face and its mirror image
    with progress_bar(int((data.labels >= 0).sum()) * passes, "evaluating", unit="face") as bar:
        report = evaluation_report(CountingModel(model, bar), data, out, tta=not args.no_tta,
                                   name=card.get("name", args.model.stem))
    print(pd.DataFrame(report["table"]).T.round(4).to_string())
    print(f"report: {out}")
    return 0


def _analyze(rec, photo: Path, policy: str) -> dict:
    """Return one photo's result for ``emoj predict``: its faces, or the error in the command's words."""
    try:
        return {"photo": str(photo), "faces": [r.as_dict() for r in rec.analyze(photo, policy=policy)]}
    except MultipleFacesError:
        n = len(rec.analyze(photo, policy="all"))
        return {"photo": str(photo), "error": f"{n} faces found; --policy single wants exactly one "
                                              "(use --policy largest or --policy all)"}
    except EmojError as exc:
        return {"photo": str(photo), "error": str(exc)}


def print_predictions(results: list[dict]) -> None:
    """Print ``emoj predict`` results as lines: photo, face number, box, emotion, probabilities."""
    for item in results:
        if "error" in item:
            print(f"{item['photo']}: error: {item['error']}")
        elif not item["faces"]:
            print(f"{item['photo']}: no face found")
        for i, face in enumerate(item.get("faces", [])):
            probs = " ".join(f"{e}={p:.2f}" for e, p in face["probabilities"].items())
            print(f"{item['photo']} face {i + 1} {tuple(face['box'])}: {face['emotion']} "
                  f"({face['confidence']:.2f})  {probs}")


def cmd_predict(args: argparse.Namespace) -> int:
    """Print the emotions of the faces in photos, as a table or JSON."""
    from emoj_lib.recognizer import Recognizer

    rec = Recognizer(args.model)
    results = [_analyze(rec, photo, args.policy) for photo in args.photos]
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_predictions(results)
    return 1 if any("error" in item for item in results) else 0


def register(sub) -> None:
    """Add ``emoj evaluate`` and ``emoj predict``."""
    ev = add_command(sub, "evaluate", cmd_evaluate,
                     "evaluate a model: accuracy table, per-class report, confusion matrices")
    ev.add_argument("model", type=Path, help="the model (.keras, with its card .json beside it)")
    ev.add_argument("--fer", type=Path, default=None, help="FER-format CSV (default: the shared FER2013)")
    ev.add_argument("--split", nargs="*", default=None, help="splits to report (default: all)")
    ev.add_argument("--no-tta", action="store_true", help="skip flip test-time augmentation")
    ev.add_argument("--out", type=Path, default=None, help="report folder (default: reports/eval-<model>)")

    pr = add_command(sub, "predict", cmd_predict, "emotions of the faces in photos")
    pr.add_argument("photos", nargs="+", type=Path, help="photos (JPEG, PNG...)")
    pr.add_argument("--model", type=Path, default=None, help="model (default: the shipped model)")
    pr.add_argument("--policy", choices=POLICIES, default=DEFAULT_POLICY,
                    help="all: every face; largest: the largest face; single: only photos with exactly one face "
                    "(default: %(default)s)")
    pr.add_argument("--json", action="store_true", help="print JSON")
