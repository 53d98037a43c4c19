"""``emoj evaluate``, ``emoj predict`` and ``emoj export``: what a model reads and how fast.

A model's report on labelled faces, the emotions in photos (with Grad-CAM explanations), and the fast (TFLite)
inference path.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import MODEL_ARG_HELP, add_command, option_error
from emoj_lib.cli.progress import CountingModel, progress_bar
from emoj_lib.errors import EmojError, MultipleFacesError, NoFaceError
from emoj_lib.export import FORMATS
from emoj_lib.faces.cropping import DEFAULT_POLICY, POLICIES
from emoj_lib.inference import TTA_MODES


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model (or several as one ensemble) on a FER-format CSV and write the report.

    The report is ``metrics.json`` and figures; several models are read as :class:`~emoj_lib.recognizer.Recognizer`
    reads them: the mean of their probabilities, refused when their cards say they are fed differently.
    """
    import pandas as pd

    from emoj_lib.data import read_fer_csv
    from emoj_lib.ensemble import Ensemble
    from emoj_lib.evaluation import evaluation_report
    from emoj_lib.recognizer import Recognizer

    rec = Recognizer(args.model, fast=False)
    base = Recognizer(args.against, fast=False) if args.against else None
    data = read_fer_csv(args.fer or cfg.fer2013_path(), usage=args.split or None)
    out = args.out or cfg.REPORTS_DIR / ("eval-" + "+".join(p.stem for p in rec.model_paths))
    tta = "none" if args.no_tta else args.tta
    members = len(rec.model_paths) + (len(base.model_paths) if base else 0)
    passes = (1 + {"none": 0, "flip": 2, "tencrop": 10}[tta]) * members  # plain, then each TTA view

    def counted(r: Recognizer, bar):
        return (Ensemble([CountingModel(m, bar) for m in r.model.members], r.model.weights)
                if isinstance(r.model, Ensemble) else CountingModel(r.model, bar))

    with progress_bar(int((data.labels >= 0).sum()) * passes, "evaluating", unit="face") as bar:
        report = evaluation_report(counted(rec, bar), data, out, tta=tta, name=rec.name,
                                   against=counted(base, bar) if base else None,
                                   against_name=base.name if base else "base")
    print(pd.DataFrame(report["table"]).T.round(4).to_string())
    if base:
        print(f"vs_*: {base.name} on the same faces; vs_gained / vs_lost: faces read right by one and wrong by the "
              "other; vs_p: exact McNemar p-value")
    print(f"report: {out}")
    return 0


def _analyze(rec, photo: Path, policy: str, keep_crops: bool = False) -> dict:
    """Return one photo's result for ``emoj predict``: its faces, or the error in the command's words."""
    try:
        readings = rec.analyze(photo, policy=policy)
        faces = [r.as_dict() | ({"_crop": r.crop} if keep_crops else {}) for r in readings]
        return {"photo": str(photo), "faces": faces}
    except MultipleFacesError:
        n = len(rec.analyze(photo, policy="all"))
        return {"photo": str(photo), "error": f"{n} faces found; --policy single wants exactly one "
                                              "(use --policy largest or --policy all)"}
    except NoFaceError:
        return {"photo": str(photo), "faces": []}
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


def explain_results(rec, results: list[dict], out: Path) -> None:
    """Write a Grad-CAM picture (crop beside its heatmap overlay) per face found; ``out`` names the first."""
    from emoj_lib.explain import explain, save_explanation

    faces = [(item, i, face) for item in results for i, face in enumerate(item.get("faces", []))]
    for n, (item, i, face) in enumerate(faces):
        path = out if n == 0 else out.with_name(f"{out.stem}-{Path(item['photo']).stem}-{i + 1}{out.suffix}")
        crop = face.pop("_crop")
        save_explanation(path, crop, explain(rec.model, crop), title=f"{face['emotion']} {face['confidence']:.2f}")
        face["explanation"] = str(path)
        print(f"explanation: {path}")


def cmd_predict(args: argparse.Namespace) -> int:
    """Print the emotions of the faces in photos, as a table or JSON (and Grad-CAM pictures with --explain)."""
    from emoj_lib.recognizer import Recognizer

    if args.journal is not None:
        from emoj_lib.personal import journal_recognizer

        rec = journal_recognizer(args.journal, model_path=args.model)
    else:
        rec = Recognizer(args.model, tta=args.tta)
    results = [_analyze(rec, photo, args.policy, keep_crops=args.explain is not None) for photo in args.photos]
    if args.explain is not None:
        explain_results(rec, results, args.explain)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_predictions(results)
    return 1 if any("error" in item for item in results) else 0


def cmd_export(args: argparse.Namespace) -> int:
    """Convert a model for fast inference, measure it beside the Keras model, and write it with its card."""
    from emoj_lib.cards import read_card
    from emoj_lib.data import read_fer_csv
    from emoj_lib.export import export_model, fast_path_ok, load_fast_model

    if args.int8 and args.format != "tflite":
        option_error(args, "--int8 applies to --format tflite only")
    fer = args.fer or cfg.fer2013_path()
    faces = labels = None
    if not args.no_measure:
        test = read_fer_csv(fer, usage=["PrivateTest"])
        faces, labels = test.images, test.labels
    out = export_model(args.model, args.format, int8=args.int8, faces=faces, labels=labels,
                       measured_on=None if faces is None else f"{fer} PrivateTest ({len(faces)} faces)")
    card = read_card(out)
    figures = card.get("fast_path")
    if figures:
        print(f"Keras : {figures['keras_faces_per_s']:.0f} faces/s, accuracy {figures['keras_accuracy']:.4f}")
        print(f"{args.format}: {figures['fast_faces_per_s']:.0f} faces/s, accuracy {figures['fast_accuracy']:.4f}")
    ok, why = fast_path_ok(card, args.model)
    print(f"wrote {out} and its card; {'acceptable' if ok else 'not used'} as a fast path: {why}")
    chosen, reason = load_fast_model(args.model)
    print(f"the recognizer uses {reason if chosen is not None else 'Keras (' + reason + ')'} by default")
    return 0


def register(sub) -> None:
    """Add ``emoj evaluate``, ``emoj predict`` and ``emoj export``."""
    ev = add_command(sub, "evaluate", cmd_evaluate,
                     "evaluate a model: accuracy table, per-class report, confusion matrices")
    ev.add_argument("model", nargs="+", type=cfg.model_path,
                    help=MODEL_ARG_HELP + "; several: their ensemble (the mean of their probabilities)")
    ev.add_argument("--fer", type=Path, default=None, help="FER-format CSV (default: the shared FER2013)")
    ev.add_argument("--split", nargs="*", default=None, help="splits to report (default: all)")
    ev.add_argument("--tta", choices=TTA_MODES, default="flip",
                    help="test-time augmentation reported beside the plain figures (default: %(default)s)")
    ev.add_argument("--no-tta", action="store_true", help="no test-time augmentation (same as --tta none)")
    ev.add_argument("--out", type=Path, default=None, help="report folder (default: reports/eval-<model>)")
    ev.add_argument("--against", nargs="+", type=cfg.model_path, default=None, metavar="MODEL",
                    help="compare with this model (several: their ensemble) on the same faces: its accuracy, the "
                    "faces gained and lost, and the exact McNemar p-value")

    pr = add_command(sub, "predict", cmd_predict, "emotions of the faces in photos")
    pr.add_argument("photos", nargs="+", type=Path, help="photos (JPEG, PNG...)")
    pr.add_argument("--model", type=cfg.model_path, default=None,
                    help=MODEL_ARG_HELP + " (default: default)")
    pr.add_argument("--policy", choices=POLICIES, default=DEFAULT_POLICY,
                    help="all: every face; largest: the largest face; single: only photos with exactly one face "
                    "(default: %(default)s)")
    pr.add_argument("--journal", type=Path, default=None, metavar="DIR",
                    help="read as this journal does: its model and its personal adapter (learnt from the entries "
                    "you labelled; no test-time augmentation)")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.add_argument("--tta", choices=TTA_MODES, default="none", help="test-time augmentation (default: %(default)s)")
    pr.add_argument("--explain", type=Path, default=None, metavar="OUT.png",
                    help="write a Grad-CAM picture (where the model looked) per face; OUT.png for the first, "
                    "OUT-<photo>-<n>.png for the others")

    ex = add_command(sub, "export", cmd_export,
                     "convert a model for fast inference (TFLite or ONNX) with its card and measured figures")
    ex.add_argument("model", type=cfg.model_path, help=MODEL_ARG_HELP)
    ex.add_argument("--format", choices=FORMATS, default="tflite", help="target format (default: %(default)s)")
    ex.add_argument("--int8", action="store_true", help="post-training integer quantisation (tflite only)")
    ex.add_argument("--fer", type=Path, default=None,
                    help="FER-format CSV whose PrivateTest measures both paths (default: the shared FER2013)")
    ex.add_argument("--no-measure", action="store_true",
                    help="convert only (the recognizer then never chooses the converted model by itself)")
