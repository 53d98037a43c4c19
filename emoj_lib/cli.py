"""The ``emoj`` command line: data sets, training, evaluation, prediction and the journal.

Run ``emoj --help`` or ``emoj <command> --help``. Errors in the input print one clear line and exit
with status 2 (bad arguments) or 1 (bad data or a failed step).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.errors import EmojError


def _hp(values: list[str]) -> dict:
    """Parse ``key=value`` hyperparameters (values as JSON when they parse, else strings)."""
    out = {}
    for item in values or []:
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"hyperparameter {item!r} is not key=value")
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def cmd_train_stage1(args: argparse.Namespace) -> int:
    """Train a stage-1 model on FER2013 and optionally export it to ``models/``."""
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.training import TrainConfig, train_stage1

    aug = Augmentation().scaled(args.augment_strength) if args.augment_strength else Augmentation.none()
    config = TrainConfig(
        architecture=args.architecture, hyperparameters=_hp(args.hp), epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing, augmentation=aug, class_weight_power=args.class_weight_power,
        labels=args.labels, drop_leaking=args.drop_leaking, drop_duplicates=args.drop_duplicates,
        drop_conflicting=args.drop_conflicting, patience=args.patience, seed=args.seed,
        mixed_precision=args.mixed_precision, sample=args.sample,
    )
    result = train_stage1(config, fer_path=args.fer, ferplus_path=args.ferplus, run_dir=args.run_dir,
                          verbose=2)
    print(result.metrics.round(4).to_string())
    print(f"model: {result.model_path}")
    if args.export:
        dest = Path(args.export).with_suffix(".keras")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.model_path, dest)
        card = dict(result.card, name=dest.stem, run_dir=str(result.model_path.parent))
        from emoj_lib.cards import write_card

        write_card(dest, card)
        print(f"exported: {dest} and {dest.with_suffix('.json')}")
    return 0


def cmd_train_stage2(args: argparse.Namespace) -> int:
    """Transfer a model to a labelled image folder or FER-format CSV; report before and after."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import read_image_folder
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.transfer import TransferConfig, fine_tune

    if args.data.is_dir():
        data, report = read_image_folder(args.data, progress=True)
        left = report[report.status != "kept"]
        if len(left):
            print(f"left out {len(left)} file(s): {left.status.value_counts().to_dict()}")
    else:
        data = read_fer_csv(args.data)
    reference = None
    if not args.no_reference:
        reference = read_fer_csv(args.fer or cfg.fer2013_path(), usage=["PrivateTest"])
    config = TransferConfig(
        new_head=args.new_head, head_epochs=args.head_epochs, fine_tune_epochs=args.fine_tune_epochs,
        head_learning_rate=args.head_learning_rate, fine_tune_learning_rate=args.fine_tune_learning_rate,
        unfreeze_blocks=args.unfreeze_blocks, holdout=args.holdout, seed=args.seed,
        augmentation=Augmentation() if args.augment else Augmentation.none(),
    )
    result = fine_tune(args.model, data, config, run_dir=args.run_dir, reference=reference, stage=2)
    print(result.comparison().round(4).to_string())
    print(f"model: {result.model_path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model on a FER-format CSV and write the report (metrics.json and figures)."""
    from emoj_lib.cards import load_model
    from emoj_lib.data import read_fer_csv
    from emoj_lib.evaluation import evaluation_report

    model, card = load_model(args.model)
    data = read_fer_csv(args.fer or cfg.fer2013_path(), usage=args.split or None)
    out = args.out or cfg.REPORTS_DIR / f"eval-{args.model.stem}"
    report = evaluation_report(model, data, out, tta=not args.no_tta, name=card.get("name", args.model.stem))
    import pandas as pd

    print(pd.DataFrame(report["table"]).T.round(4).to_string())
    print(f"report: {out}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Print the emotions of the faces in photos, as a table or JSON."""
    from emoj_lib.errors import ImageReadError
    from emoj_lib.recognizer import Recognizer

    rec = Recognizer(args.model)
    results, status = [], 0
    for photo in args.photos:
        try:
            readings = rec.analyze(photo, policy=args.policy)
            results.append({"photo": str(photo), "faces": [r.as_dict() for r in readings]})
        except (ImageReadError, EmojError) as exc:
            results.append({"photo": str(photo), "error": str(exc)})
            status = 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for item in results:
            if "error" in item:
                print(f"{item['photo']}: error: {item['error']}")
            elif not item["faces"]:
                print(f"{item['photo']}: no face found")
            for i, face in enumerate(item.get("faces", [])):
                probs = " ".join(f"{e}={p:.2f}" for e, p in face["probabilities"].items())
                print(f"{item['photo']} face {i + 1} {tuple(face['box'])}: {face['emotion']} "
                      f"({face['confidence']:.2f})  {probs}")
    return status


def cmd_tune(args: argparse.Namespace) -> int:
    """Run a keras-tuner search (alone, or as the chief or a worker of a distributed search)."""
    import os

    from emoj_lib.data import read_fer_csv
    from emoj_lib.training import TrainConfig, stage1_data, train_stage1
    from emoj_lib.tuning import (
        best_train_config,
        distributed_env,
        make_tuner,
        results_table,
        run_search,
        summary_json,
    )

    if args.role != "single":
        os.environ.update(distributed_env(args.role, oracle_ip=args.oracle_ip, oracle_port=args.oracle_port,
                                          tuner_id=args.tuner_id))
    fer = read_fer_csv(args.fer or cfg.fer2013_path())
    prepared = stage1_data(fer, TrainConfig(sample=args.sample, seed=args.seed))
    tuner = make_tuner(args.tuner, directory=args.directory, project_name=args.project, max_trials=args.max_trials,
                       max_epochs=args.max_epochs, seed=args.seed, overwrite=args.overwrite, max_depth=args.max_depth)
    run_search(tuner, prepared["train"], prepared["val"], epochs=args.epochs, verbose=0 if args.quiet else 1)
    if args.role == "worker":
        print(f"worker {os.environ['KERASTUNER_TUNER_ID']}: done")
        return 0
    print(results_table(tuner).head(20).to_string())
    print(summary_json(tuner))
    if args.retrain_epochs:
        config = best_train_config(tuner, epochs=args.retrain_epochs, seed=args.seed, sample=args.sample)
        result = train_stage1(config, fer=fer, run_dir=Path(args.directory) / args.project / "best")
        print(result.metrics.round(4).to_string())
        print(f"best configuration retrained: {result.model_path}")
    return 0


def cmd_data_report(args: argparse.Namespace) -> int:
    """Print the splits, class balance and defects of a FER-format CSV."""
    import pandas as pd

    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.hygiene import hygiene_report

    path = args.fer or cfg.fer2013_path()
    data = read_fer_csv(path, on_error="skip" if args.skip_bad_rows else "raise", allow_unlabelled=True)
    print(f"{path}: {len(data)} faces")
    with pd.option_context("display.width", 160):
        print(data.counts().to_string())
    if len(data.skipped):
        print(f"skipped {len(data.skipped)} bad row(s):")
        print(data.skipped.head(20).to_string(index=False))
    report = hygiene_report(data)
    print("\nhygiene:")
    for key, value in report.summary.items():
        print(f"  {key:24s} {value}")
    return 0


def _print_left_out(report) -> None:
    """Print the files of a crop/folder report that were left out, and why."""
    left = report[report.status != "kept"]
    if len(left):
        print(f"left out ({len(left)}):")
        print(left[["file", "status", "reason"]].to_string(index=False))


def cmd_data_crop(args: argparse.Namespace) -> int:
    """Crop the faces of a folder of photos into a FER-format CSV, with a report of every photo."""
    from emoj_lib.faces import crop_folder

    report = crop_folder(args.photos, args.out, label=args.label, usage=args.usage, policy=args.policy,
                         recursive=args.recursive, progress=not args.quiet)
    counts = report.status.value_counts()
    print(f"{args.out}: {int(counts.get('kept', 0))} face(s) from {len(report)} photo(s)")
    _print_left_out(report)
    return 0


def cmd_data_export(args: argparse.Namespace) -> int:
    """Write a FER-format CSV as an image folder ``root/<split>/<emotion>/<row>.png``."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import export_image_folder

    data = read_fer_csv(args.csv)
    export_image_folder(data, args.root)
    print(f"{args.root}: {len(data)} PNG faces")
    return 0


def cmd_data_import(args: argparse.Namespace) -> int:
    """Read a labelled image folder (faces or photos, cropped automatically) into a FER-format CSV."""
    from emoj_lib.data import write_fer_csv
    from emoj_lib.data.folders import read_image_folder

    data, report = read_image_folder(args.root, usage=args.usage, progress=not args.quiet)
    write_fer_csv(args.out, data.images, data.labels, data.usage)
    print(f"{args.out}: {len(data)} faces")
    _print_left_out(report)
    return 0


def _journal(args: argparse.Namespace):
    from emoj_lib.journal import Journal

    return Journal(args.journal)


def cmd_journal_add(args: argparse.Namespace) -> int:
    """Add the face of a photo to the journal (the largest face unless --face says otherwise)."""
    from emoj_lib.journal import Entry
    from emoj_lib.personal import current_model
    from emoj_lib.recognizer import Recognizer

    journal = _journal(args)
    rec = Recognizer(args.model or current_model(journal.folder))
    readings = rec.analyze(args.photo, policy="all")
    if not readings:
        print(f"emoj: no face found in {args.photo}; nothing saved", file=sys.stderr)
        return 1
    if not 1 <= args.face <= len(readings):
        print(f"emoj: --face {args.face}: the photo has {len(readings)} face(s)", file=sys.stderr)
        return 2
    reading = readings[args.face - 1]
    entry = Entry.from_reading(reading, source=args.source, model=rec.name,
                               model_version=str(rec.card.get("version", rec.card.get("date", ""))),
                               user_label=args.label, note=args.note or "", tags=args.tags or ())
    journal.append(entry, photo=args.photo if args.keep_photo else None)
    print(f"{journal.path}: entry {entry.entry_id}: {reading.emotion} ({reading.confidence:.2f})"
          + (f", your label: {entry.user_label}" if entry.user_label else ""))
    return 0


def cmd_journal_list(args: argparse.Namespace) -> int:
    """List the latest journal entries."""
    entries = _journal(args).read(pixels=False).entries
    cols = [c for c in ("timestamp", "source", "emotion", "confidence", "user_label", "note", "tags") if c in entries]
    last = entries.sort_values("timestamp").tail(args.last)[cols]
    if args.json:
        print(last.reset_index().to_json(orient="records", date_format="iso", indent=2))
    else:
        print(last.to_string() if len(last) else "the journal is empty")
    return 0


def cmd_journal_plot(args: argparse.Namespace) -> int:
    """Draw a mood chart of the journal into a PNG file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emoj_lib.journal import analytics

    entries = _journal(args).read(pixels=False).entries
    draw = {"mood": analytics.plot_mood, "weekly": analytics.plot_weekly_mix, "calendar": analytics.plot_calendar,
            "time": analytics.plot_time_of_day, "corrections": analytics.plot_corrections}[args.kind]
    fig, ax = plt.subplots(figsize=(9, 4))
    draw(entries, ax=ax)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    plt.close(fig)
    Path(args.out).chmod(0o600)  # a chart of someone's feelings: owner-only, like the journal
    print(f"{args.out}: {args.kind} chart of {len(entries)} entries")
    return 0


def cmd_journal_personalize(args: argparse.Namespace) -> int:
    """Fine-tune the user's model on their labelled entries (stage 3) and save a new version."""
    from emoj_lib.personal import personalize

    result = personalize(_journal(args), min_labelled=args.min_labelled, verbose=2)
    print(result.comparison().round(4).to_string())
    print(f"personal model: {result.model_path}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the journal demo: a portrait read by the model, a journal entry, a mood chart."""
    from skimage import data as skdata

    from emoj_lib.journal import Entry, Journal
    from emoj_lib.labels import EMOTIONS
    from emoj_lib.recognizer import Recognizer

    out = Path(args.out)
    journal = Journal(out / "journal")
    photo = skdata.astronaut()  # public domain (NASA), shipped inside scikit-image
    print("== emoJ demo: Eileen Collins' astronaut portrait (scikit-image, public domain) ==")
    rec = Recognizer(args.model)
    readings = rec.analyze(photo, policy="all")
    if not readings:
        print("emoj: no face found in the demo photo", file=sys.stderr)
        return 1
    reading = readings[0]
    print(f"model {rec.name}: {len(readings)} face(s); the largest at {reading.box.as_tuple()}")
    for e, p in sorted(zip(EMOTIONS, reading.probabilities, strict=True), key=lambda t: -t[1]):
        print(f"  {e:9s} {p:6.3f} {'#' * round(40 * p)}")
    entry = journal.append(Entry.from_reading(reading, source="file", model=rec.name,
                                              model_version=str(rec.card.get("date", "")),
                                              note="emoj demo: astronaut portrait"))
    print(f"\njournal entry {entry.entry_id} written to {journal.path} (owner-only permissions)")
    cmd_journal_plot(argparse.Namespace(journal=journal.folder, kind="mood", out=out / "mood.png"))
    print(f"mood over time: {out / 'mood.png'}")
    print("\nOpen the journal app (webcam, upload, corrections, history):\n"
          "  .venv/bin/jupyter lab notebooks/05_journal.ipynb      (as a notebook)\n"
          "  .venv/bin/voila notebooks/05_journal.ipynb            (as an app, no code shown)\n"
          "Your journal lives in ~/emoj-journal (or $EMOJ_JOURNAL_DIR); nothing is sent anywhere.")
    return 0


def cmd_data_demo(args: argparse.Namespace) -> int:
    """Run the data pipeline demo: FER2013 report, then crop the sample photos into a FER-format CSV."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print("== FER2013: splits, classes and defects ==")
    cmd_data_report(argparse.Namespace(fer=args.fer, skip_bad_rows=False))
    photos = args.photos or cfg.photos_dir()
    print(f"\n== faces of the photos in {photos} -> {out / 'photos.csv'} ==")
    cmd_data_crop(argparse.Namespace(photos=photos, out=out / "photos.csv", label=None, usage="Photos",
                                     policy="largest", recursive=False, quiet=args.quiet))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the ``emoj`` argument parser."""
    parser = argparse.ArgumentParser(prog="emoj", description="emoJ: an emotional journal and FER research tools")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model (stage 1: FER2013)")
    tsub = train.add_subparsers(dest="stage", required=True)
    s1 = tsub.add_parser("stage1", help="train on FER2013 Training, select on PublicTest, report PrivateTest")
    s1.add_argument("--architecture", default="emojnet", help="registered architecture name (default emojnet)")
    s1.add_argument("--hp", nargs="*", default=[], metavar="KEY=VALUE", help="architecture hyperparameters")
    s1.add_argument("--epochs", type=int, default=40)
    s1.add_argument("--batch-size", type=int, default=64)
    s1.add_argument("--learning-rate", type=float, default=1e-3)
    s1.add_argument("--weight-decay", type=float, default=1e-4)
    s1.add_argument("--label-smoothing", type=float, default=0.1)
    s1.add_argument("--augment-strength", type=float, default=1.0, help="0 turns augmentation off")
    s1.add_argument("--class-weight-power", type=float, default=0.0, help="0: none, 1: inverse frequency")
    s1.add_argument("--labels", choices=["fer", "ferplus", "ferplus_soft"], default="fer")
    s1.add_argument("--drop-leaking", action="store_true", help="drop Training faces also in a test split")
    s1.add_argument("--drop-duplicates", action="store_true")
    s1.add_argument("--drop-conflicting", action="store_true")
    s1.add_argument("--patience", type=int, default=12)
    s1.add_argument("--seed", type=int, default=0)
    s1.add_argument("--mixed-precision", action="store_true", help="train in mixed_bfloat16 (CPU with AMX)")
    s1.add_argument("--sample", type=int, default=None, help="train on this many faces only (smoke runs)")
    s1.add_argument("--fer", type=Path, default=None, help="FER2013 CSV (default: the shared data)")
    s1.add_argument("--ferplus", type=Path, default=None, help="FER+ fer2013new.csv (default: shared data)")
    s1.add_argument("--run-dir", type=Path, default=None, help="run folder (resumes if it exists)")
    s1.add_argument("--export", type=Path, default=None, help="copy the model and card to this path")
    s1.set_defaults(func=cmd_train_stage1)

    s2 = tsub.add_parser("stage2", help="transfer a model to your labelled faces (folder or FER-format CSV)")
    s2.add_argument("data", type=Path, help="image folder root/<emotion>/* (photos are cropped) or a CSV")
    s2.add_argument("--model", type=Path, default=cfg.MODELS_DIR / "emoj_fer2013.keras", help="starting model")
    s2.add_argument("--new-head", action="store_true", help="re-initialise the classifier head")
    s2.add_argument("--head-epochs", type=int, default=5)
    s2.add_argument("--fine-tune-epochs", type=int, default=5)
    s2.add_argument("--head-learning-rate", type=float, default=1e-3)
    s2.add_argument("--fine-tune-learning-rate", type=float, default=1e-4)
    s2.add_argument("--unfreeze-blocks", type=int, default=2)
    s2.add_argument("--holdout", type=float, default=0.2, help="fraction held out to report accuracy")
    s2.add_argument("--augment", action="store_true", help="augment the new faces")
    s2.add_argument("--seed", type=int, default=0)
    s2.add_argument("--fer", type=Path, default=None, help="FER2013 for the before/after PrivateTest figures")
    s2.add_argument("--no-reference", action="store_true", help="skip the FER2013 PrivateTest figures")
    s2.add_argument("--run-dir", type=Path, default=None)
    s2.set_defaults(func=cmd_train_stage2)

    ev = sub.add_parser("evaluate", help="evaluate a model: accuracy table, per-class report, confusion matrices")
    ev.add_argument("model", type=Path)
    ev.add_argument("--fer", type=Path, default=None, help="FER-format CSV (default: the shared FER2013)")
    ev.add_argument("--split", nargs="*", default=None, help="splits to report (default: all)")
    ev.add_argument("--no-tta", action="store_true", help="skip flip test-time augmentation")
    ev.add_argument("--out", type=Path, default=None, help="report folder (default reports/eval-<model>)")
    ev.set_defaults(func=cmd_evaluate)

    pr = sub.add_parser("predict", help="emotions of the faces in photos")
    pr.add_argument("photos", nargs="+", type=Path)
    pr.add_argument("--model", type=Path, default=None, help="model (default: the shipped model)")
    pr.add_argument("--policy", choices=["all", "largest", "single"], default="all")
    pr.add_argument("--json", action="store_true", help="print JSON")
    pr.set_defaults(func=cmd_predict)

    tu = sub.add_parser("tune", help="hyperparameter search (keras-tuner), alone or distributed")
    tu.add_argument("--tuner", choices=["hyperband", "bayesian", "random"], default="hyperband")
    tu.add_argument("--max-trials", type=int, default=10, help="trials (bayesian, random)")
    tu.add_argument("--max-epochs", type=int, default=10, help="hyperband's largest epoch budget")
    tu.add_argument("--epochs", type=int, default=10, help="epochs per trial (bayesian, random)")
    tu.add_argument("--max-depth", type=int, default=5, help="largest number of blocks searched")
    tu.add_argument("--sample", type=int, default=None, help="tune on this many training faces")
    tu.add_argument("--fer", type=Path, default=None, help="FER-format CSV (default: the shared FER2013)")
    tu.add_argument("--directory", type=Path, default=cfg.RUNS_DIR / "tuning")
    tu.add_argument("--project", default="emojnet")
    tu.add_argument("--seed", type=int, default=0)
    tu.add_argument("--overwrite", action="store_true", help="start afresh instead of resuming")
    tu.add_argument("--retrain-epochs", type=int, default=0, help="retrain the best configuration (0: no)")
    tu.add_argument("--role", choices=["single", "chief", "worker"], default="single",
                    help="distributed search: the chief runs the oracle, workers run trials")
    tu.add_argument("--oracle-ip", default="127.0.0.1", help="where the chief listens")
    tu.add_argument("--oracle-port", type=int, default=8000)
    tu.add_argument("--tuner-id", default=None, help="a worker's unique id (default tuner<pid>)")
    tu.add_argument("--quiet", action="store_true")
    tu.set_defaults(func=cmd_tune)

    data = sub.add_parser("data", help="inspect and convert data sets")
    dsub = data.add_subparsers(dest="action", required=True)
    rep = dsub.add_parser("report", help="splits, class balance, duplicates, leakage and blank images")
    rep.add_argument("--fer", type=Path, default=None, help="FER-format CSV (default: the shared FER2013)")
    rep.add_argument("--skip-bad-rows", action="store_true", help="report bad rows instead of stopping")
    rep.set_defaults(func=cmd_data_report)
    crop = dsub.add_parser("crop", help="crop the faces of a folder of photos into a FER-format CSV")
    crop.add_argument("photos", type=Path, help="folder of photos")
    crop.add_argument("out", type=Path, help="output CSV (a report .report.csv is written beside it)")
    crop.add_argument("--label", default=None, help="emotion of every photo (default: unlabelled)")
    crop.add_argument("--usage", default="Training", help="split name written in the Usage column")
    crop.add_argument("--policy", choices=["single", "largest", "all"], default="single",
                      help="single: only photos with exactly one face; largest: the largest face; all: every face")
    crop.add_argument("--recursive", action="store_true")
    crop.add_argument("--quiet", action="store_true", help="no progress bar")
    crop.set_defaults(func=cmd_data_crop)
    exp = dsub.add_parser("to-folder", help="FER-format CSV -> root/<split>/<emotion>/<row>.png")
    exp.add_argument("csv", type=Path)
    exp.add_argument("root", type=Path)
    exp.set_defaults(func=cmd_data_export)
    imp = dsub.add_parser("from-folder", help="labelled image folder -> FER-format CSV (photos are cropped)")
    imp.add_argument("root", type=Path)
    imp.add_argument("out", type=Path)
    imp.add_argument("--usage", default="Training", help="split name when the folder has no split level")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_data_import)

    sub.add_parser("notebooks", help="execute the notebooks with parameters into reports/ (see --help)",
                   add_help=False)

    ddemo = dsub.add_parser("demo", help="the data pipeline demo: FER2013 report and the sample photos cropped")
    ddemo.add_argument("--fer", type=Path, default=None, help="FER2013 CSV (default: the shared data)")
    ddemo.add_argument("--photos", type=Path, default=None, help="folder of photos (default: the shared photos)")
    ddemo.add_argument("--out", type=Path, default=cfg.LOCAL_DATA_DIR / "processed", help="output folder")
    ddemo.add_argument("--quiet", action="store_true", help="no progress bar")
    ddemo.set_defaults(func=cmd_data_demo)

    jo = sub.add_parser("journal", help="the emotional journal: add a photo, list entries, charts, personalise")
    jsub = jo.add_subparsers(dest="action", required=True)
    jopts = argparse.ArgumentParser(add_help=False)
    jopts.add_argument("--journal", type=Path, default=None, help="journal folder (default ~/emoj-journal)")
    add = jsub.add_parser("add", parents=[jopts], help="add the face of a photo to the journal")
    add.add_argument("photo", type=Path)
    add.add_argument("--label", default=None, help="your own label (confirm or correct the model)")
    add.add_argument("--note", default=None)
    add.add_argument("--tags", nargs="*", default=None)
    add.add_argument("--face", type=int, default=1, help="which face, largest first (default 1)")
    add.add_argument("--source", choices=["file", "upload", "webcam", "camera"], default="file")
    add.add_argument("--keep-photo", action="store_true", help="keep a copy of the photo beside the journal")
    add.add_argument("--model", type=Path, default=None, help="default: your latest personal model, else shipped")
    add.set_defaults(func=cmd_journal_add)
    ls = jsub.add_parser("list", parents=[jopts], help="the latest entries")
    ls.add_argument("--last", type=int, default=20)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_journal_list)
    pl = jsub.add_parser("plot", parents=[jopts], help="draw a mood chart into a PNG")
    pl.add_argument("out", type=Path)
    pl.add_argument("--kind", choices=["mood", "weekly", "calendar", "time", "corrections"], default="mood")
    pl.set_defaults(func=cmd_journal_plot)
    pe = jsub.add_parser("personalize", parents=[jopts], help="stage 3: fine-tune your model on your labels")
    pe.add_argument("--min-labelled", type=int, default=20)
    pe.set_defaults(func=cmd_journal_personalize)

    demo = sub.add_parser("demo", help="the journal demo: a portrait read, a journal entry, a mood chart")
    demo.add_argument("--out", type=Path, default=cfg.LOCAL_DATA_DIR / "demo", help="demo journal folder")
    demo.add_argument("--model", type=Path, default=None, help="model (default: the shipped model)")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``emoj`` command line; return the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["notebooks"]:  # its own parser: python -m emoj_lib.notebooks
        from emoj_lib.notebooks import main as notebooks_main

        return notebooks_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args) or 0)
    except (EmojError, FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        print(f"emoj: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
