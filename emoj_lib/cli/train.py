"""``emoj train``: stage 1 (a model trained on FER2013) and stage 2 (a model transferred to your labelled faces).

The options are the fields of :class:`~emoj_lib.training.TrainConfig` and :class:`~emoj_lib.transfer.TransferConfig`
(:func:`~emoj_lib.cli.options.add_config_options`): their defaults and help come from those classes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import MODEL_ARG_HELP, add_command, add_config_options, config_from_args, key_value
from emoj_lib.cli.progress import epoch_progress
from emoj_lib.errors import EmojError
from emoj_lib.inference import TTA_MODES
from emoj_lib.training import LABEL_SOURCES, TrainConfig
from emoj_lib.transfer import REPLAY_TARGETS, TransferConfig

TRAIN_HELP = {
    "architecture": "registered architecture name",
    "epochs": "epoch budget",
    "batch_size": "faces per training step",
    "learning_rate": "AdamW peak learning rate (linear warm-up, then cosine decay)",
    "min_learning_rate": "learning rate reached at the last epoch",
    "warmup_epochs": "epochs of linear learning-rate warm-up",
    "class_weight_power": "class weights: 0 none, 1 inverse frequency",
    "labels": "fer: the original labels; ferplus: FER+ majority; ferplus_soft: FER+ votes as soft targets",
    "drop_blank": "leave out blank Training faces",
    "drop_leaking": "leave out Training faces that are also in a test split",
    "drop_duplicates": "leave out duplicated Training faces",
    "drop_conflicting": "leave out Training faces whose duplicates disagree on the label",
    "patience": "stop after this many epochs without a better validation accuracy",
    "mixed_precision": "train in mixed_bfloat16 (fast on CPUs with AMX); the exported model is float32",
    "sample": "train on this many faces only, stratified (smoke runs)",
}
"""Help of the stage-1 options whose docstring entry describes several fields (the others use the docstring)."""

TRANSFER_HELP = {
    "new_head": "re-initialise the classifier head",
    "head_epochs": "phase 1: epochs training the head only",
    "head_learning_rate": "phase 1: learning rate",
    "fine_tune_epochs": "phase 2: epochs training the top blocks and the head",
    "fine_tune_learning_rate": "phase 2: learning rate",
    "unfreeze_blocks": "phase 2: how many top feature blocks train",
    "batch_size": "faces per training step",
    "label_smoothing": "cross-entropy label smoothing",
    "weight_decay": "AdamW decoupled weight decay",
    "holdout": "fraction of the new faces held out to report accuracy (when the data has no test split)",
    "seed": "seeds the splits, shuffling and augmentation",
    "replay": "FER2013 Training faces mixed in against forgetting, drawn per class so that the mix keeps "
              "FER2013's class shares (none: automatic, twice the new training faces within 1000..4000; 0: no "
              "replay)",
    "replay_targets": "model: train the replayed faces towards the starting model's own probabilities "
                      "(distillation); labels: towards their FER2013 labels",
}
"""Help of the stage-2 options whose docstring entry describes several fields."""

DISTILL_HELP = {
    **{k: TRAIN_HELP[k] for k in ("epochs", "batch_size", "learning_rate", "min_learning_rate", "warmup_epochs",
                                  "patience")},
    "weight_decay": TRANSFER_HELP["weight_decay"],
    "tta": "the teachers' test-time augmentation for the soft targets",
    "temperature": "> 1 softens the teachers' probabilities",
    "label_weight": "weight of the true labels mixed into the targets (0..1)",
    "seed": "seeds shuffling and augmentation",
    "architecture": "the fresh student's registered architecture; none: the first teacher's",
}
"""Help of the distillation options whose docstring entry describes several fields."""

MIXUP_HELP = ("mixup: blend each training face and its targets with another face's, in a proportion drawn from "
              "Beta(ALPHA, ALPHA) (e.g. 0.2); 0: off (default: 0)")


def _augmentation(strength: float | None, mixup: float | None = None, base=None):
    """Return the stage-1 augmentation for ``--augment-strength`` and ``--mixup``.

    ``strength`` None keeps ``base``'s image changes (default: the TrainConfig default), 0 turns them off;
    ``mixup`` None keeps ``base``'s mixup.
    """
    from dataclasses import replace

    from emoj_lib.data.pipeline import Augmentation

    base = base if base is not None else TrainConfig().augmentation
    if strength is None:
        aug = base
    else:
        aug = Augmentation().scaled(strength) if strength else Augmentation.none()
    return replace(aug, mixup=base.mixup if mixup is None else mixup)


def export_model(model_path: Path, card: dict, dest: Path) -> Path:
    """Copy a trained model and its card to ``dest`` (``.keras``; the card beside it as ``.json``)."""
    from emoj_lib.cards import write_card

    dest = Path(dest).with_suffix(".keras")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_path, dest)
    write_card(dest, dict(card, name=dest.stem, run_dir=str(Path(model_path).parent)))
    return dest


def _report(result, export: Path | None) -> int:
    """Print a trained model's accuracy table and path; copy it with its card to ``export`` when given."""
    print(result.metrics.round(4).to_string())
    print(f"model: {result.model_path}")
    if export:
        dest = export_model(result.model_path, result.card, export)
        print(f"exported: {dest} and {dest.with_suffix('.json')}")
    return 0


def _stage1_config(args: argparse.Namespace) -> TrainConfig:
    """Return the stage-1 configuration: the options given, over the run folder's saved one when it exists.

    So ``emoj train stage1 --run-dir FOLDER`` alone resumes a run with the settings it was started with; an
    option that differs from them is refused by the training (a run folder holds one configuration).
    """
    import json

    saved = args.run_dir / "config.json" if args.run_dir is not None else None
    if saved is None or not saved.is_file():
        return config_from_args(TrainConfig, args, hyperparameters=dict(args.hp),
                                augmentation=_augmentation(args.augment_strength, args.mixup))
    base = TrainConfig.from_dict(json.loads(saved.read_text()))
    values = {f: getattr(args, f) for f in vars(base) if f in vars(args)}
    if args.hp:
        values["hyperparameters"] = dict(args.hp)
    if args.augment_strength is not None or args.mixup is not None:
        values["augmentation"] = _augmentation(args.augment_strength, args.mixup, base.augmentation)
    return config_from_args(TrainConfig, argparse.Namespace(parser=args.parser),
                            **{**base.to_dict(), **values})


def cmd_stage1(args: argparse.Namespace) -> int:
    """Train a stage-1 model on FER2013 and optionally export it to ``models/``."""
    from emoj_lib.training import train_stage1

    config = _stage1_config(args)
    result = train_stage1(config, fer_path=args.fer, ferplus_path=args.ferplus, run_dir=args.run_dir, verbose=2,
                          callbacks=[epoch_progress()])
    return _report(result, args.export)


def _read_new_faces(path: Path, pattern: str | None):
    """Read stage 2's faces and their groups (None when the data does not say who is who).

    An image folder (photos cropped; files left out are counted; ``root/<group>/<emotion>/`` gives groups) or
    a FER-format CSV (a ``group`` column gives groups); ``pattern`` takes groups from file names instead.
    """
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import face_groups, guess_layout, read_image_folder
    from emoj_lib.data.people import csv_groups

    if not path.is_dir():
        data = read_fer_csv(path)
        if pattern:
            raise EmojError(f"{path}: --group-pattern applies to image folders; a CSV gives groups in a 'group' column")
        return data, csv_groups(path, data)
    layout = guess_layout(path)
    data, report = read_image_folder(path, layout=layout, progress=True)
    left = report[report.status != "kept"]
    if len(left):
        print(f"left out {len(left)} file(s): {left.status.value_counts().to_dict()}")
    grouped = pattern or layout == "people"
    return data, face_groups(data, report, pattern) if grouped else None


def cmd_stage2(args: argparse.Namespace) -> int:
    """Transfer a model to a labelled image folder or FER-format CSV; report before and after."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.recognizer import default_model_path
    from emoj_lib.transfer import fine_tune

    config = config_from_args(TransferConfig, args,
                              augmentation=Augmentation() if args.augment else Augmentation.none())
    data, groups = _read_new_faces(args.data, args.group_pattern)
    reference = None if args.no_reference else read_fer_csv(args.fer or cfg.fer2013_path(), usage=["PrivateTest"])
    result = fine_tune(args.model or default_model_path(), data, config, run_dir=args.run_dir, reference=reference,
                       stage=2, groups=groups, callbacks=[epoch_progress()])
    print(result.comparison().round(4).to_string())
    print(f"holdout: {result.card['data']['holdout']}")
    print(f"model: {result.model_path}")
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    """Distil teacher models into one student on FER2013 and optionally export it."""
    from emoj_lib.distill import DistillConfig, train_student

    config = config_from_args(DistillConfig, args, augmentation=_augmentation(args.augment_strength, args.mixup),
                              hyperparameters=dict(args.hp))
    result = train_student(args.teachers, config, init=args.init, fer_path=args.fer, run_dir=args.run_dir,
                           verbose=2, callbacks=[epoch_progress()])
    return _report(result, args.export)


def register(sub) -> None:
    """Add ``emoj train stage1``, ``emoj train stage2`` and ``emoj train distill``."""
    train = add_command(sub, "train", None, "train a model (stage 1: FER2013; stage 2: your labelled faces)")
    stages = train.add_subparsers(dest="stage", required=True, metavar="STAGE", help="which stage")

    s1 = add_command(stages, "stage1", cmd_stage1,
                     "train on FER2013 Training, select on PublicTest, report PrivateTest")
    add_config_options(s1, TrainConfig, choices={"labels": LABEL_SOURCES}, help=TRAIN_HELP)
    s1.add_argument("--hp", nargs="*", type=key_value, default=[], metavar="KEY=VALUE",
                    help="architecture hyperparameters (values read as JSON)")
    s1.add_argument("--augment-strength", type=float, default=None, metavar="X",
                    help="scale the augmentation ranges; 0 turns augmentation off (default: 1)")
    s1.add_argument("--mixup", type=float, default=None, metavar="ALPHA", help=MIXUP_HELP)
    s1.add_argument("--fer", type=Path, default=None, metavar="CSV",
                    help="FER2013 CSV (default: the shared data)")
    s1.add_argument("--ferplus", type=Path, default=None, metavar="CSV",
                    help="FER+ fer2013new.csv (default: the shared data)")
    s1.add_argument("--run-dir", type=Path, default=None, metavar="FOLDER",
                    help="run folder (resumes if it exists)")
    s1.add_argument("--export", type=Path, default=None, metavar="PATH",
                    help="copy the model and its card to this path")

    s2 = add_command(stages, "stage2", cmd_stage2,
                     "transfer a model to your labelled faces (image folder or FER-format CSV)")
    s2.add_argument("data", type=Path, help="image folder root/<emotion>/* or root/<group>/<emotion>/* (photos are "
                                            "cropped) or a FER-format CSV (an optional 'group' column)")
    s2.add_argument("--model", type=cfg.model_path, default=None, metavar="PATH",
                    help="starting model: " + MODEL_ARG_HELP + " (default: default)")
    add_config_options(s2, TransferConfig, help=TRANSFER_HELP, choices={"replay_targets": REPLAY_TARGETS})
    s2.add_argument("--group-pattern", default=None, metavar="REGEX",
                    help="groups (people) from file names: the regex's 'person' group, e.g. '^(?P<person>[A-Z]{2})\\.' "
                         "for JAFFE; no group is on both sides of the holdout or validation split")
    s2.add_argument("--augment", action="store_true", help="augment the new faces (default: no)")
    s2.add_argument("--fer", type=Path, default=None, metavar="CSV",
                    help="FER2013 for the before/after PrivateTest figures")
    s2.add_argument("--no-reference", action="store_true", help="skip the FER2013 PrivateTest figures")
    s2.add_argument("--run-dir", type=Path, default=None, metavar="FOLDER",
                    help="run folder")

    from emoj_lib.distill import DistillConfig

    d = add_command(stages, "distill", cmd_distill,
                    "distil trained models (their mean, with test-time augmentation) into one student on FER2013")
    d.add_argument("teachers", type=cfg.model_path, nargs="+", metavar="TEACHER",
                   help="teacher models: each " + MODEL_ARG_HELP)
    d.add_argument("--init", type=cfg.model_path, default=None, metavar="PATH",
                   help="start the student from this model (default: a fresh model shaped like the first teacher, "
                        "or as --architecture and --hp say)")
    add_config_options(d, DistillConfig, choices={"tta": TTA_MODES}, help=DISTILL_HELP)
    d.add_argument("--hp", nargs="*", type=key_value, default=[], metavar="KEY=VALUE",
                   help="the fresh student's hyperparameters (values read as JSON), e.g. width=16 for a faster "
                        "emojnet")
    d.add_argument("--augment-strength", type=float, default=None, metavar="X",
                   help="scale the augmentation ranges; 0 turns augmentation off (default: 1)")
    d.add_argument("--mixup", type=float, default=None, metavar="ALPHA", help=MIXUP_HELP)
    d.add_argument("--fer", type=Path, default=None, metavar="CSV", help="FER2013 CSV (default: the shared data)")
    d.add_argument("--run-dir", type=Path, required=True, metavar="FOLDER", help="run folder (resumes if it exists)")
    d.add_argument("--export", type=Path, default=None, metavar="PATH", help="copy the student and its card here")
