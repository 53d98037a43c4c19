"""``emoj train``: stage 1 (a model trained on FER2013) and stage 2 (a model transferred to your labelled faces).

The options are the fields of :class:`~emoj_lib.training.TrainConfig` and :class:`~emoj_lib.transfer.TransferConfig`
(:func:`~emoj_lib.cli.options.add_config_options`): their defaults and help come from those classes.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import add_command, add_config_options, config_from_args, key_value
from emoj_lib.cli.progress import epoch_progress
from emoj_lib.training import LABEL_SOURCES, TrainConfig
from emoj_lib.transfer import TransferConfig

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
    "replay": "FER2013 Training faces mixed in against forgetting (none: automatic, twice the new training "
              "faces within 1000..4000; 0: no replay)",
}
"""Help of the stage-2 options whose docstring entry describes several fields."""


def _augmentation(strength: float | None):
    """Return the stage-1 augmentation for ``--augment-strength`` (None: the TrainConfig default; 0: none)."""
    from emoj_lib.data.pipeline import Augmentation

    if strength is None:
        return TrainConfig().augmentation
    return Augmentation().scaled(strength) if strength else Augmentation.none()


def export_model(model_path: Path, card: dict, dest: Path) -> Path:
    """Copy a trained model and its card to ``dest`` (``.keras``; the card beside it as ``.json``)."""
    from emoj_lib.cards import write_card

    dest = Path(dest).with_suffix(".keras")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_path, dest)
    write_card(dest, dict(card, name=dest.stem, run_dir=str(Path(model_path).parent)))
    return dest


def cmd_stage1(args: argparse.Namespace) -> int:
    """Train a stage-1 model on FER2013 and optionally export it to ``models/``."""
    from emoj_lib.training import train_stage1

    config = config_from_args(TrainConfig, args, hyperparameters=dict(args.hp),
                              augmentation=_augmentation(args.augment_strength))
    result = train_stage1(config, fer_path=args.fer, ferplus_path=args.ferplus, run_dir=args.run_dir, verbose=2,
                          callbacks=[epoch_progress()])
    print(result.metrics.round(4).to_string())
    print(f"model: {result.model_path}")
    if args.export:
        dest = export_model(result.model_path, result.card, args.export)
        print(f"exported: {dest} and {dest.with_suffix('.json')}")
    return 0


def _read_new_faces(path: Path):
    """Read stage 2's faces: an image folder (photos cropped; files left out are counted) or a FER-format CSV."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import read_image_folder

    if not path.is_dir():
        return read_fer_csv(path)
    data, report = read_image_folder(path, progress=True)
    left = report[report.status != "kept"]
    if len(left):
        print(f"left out {len(left)} file(s): {left.status.value_counts().to_dict()}")
    return data


def cmd_stage2(args: argparse.Namespace) -> int:
    """Transfer a model to a labelled image folder or FER-format CSV; report before and after."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.pipeline import Augmentation
    from emoj_lib.recognizer import default_model_path
    from emoj_lib.transfer import fine_tune

    config = config_from_args(TransferConfig, args,
                              augmentation=Augmentation() if args.augment else Augmentation.none())
    data = _read_new_faces(args.data)
    reference = None if args.no_reference else read_fer_csv(args.fer or cfg.fer2013_path(), usage=["PrivateTest"])
    result = fine_tune(args.model or default_model_path(), data, config, run_dir=args.run_dir, reference=reference,
                       stage=2)
    print(result.comparison().round(4).to_string())
    print(f"model: {result.model_path}")
    return 0


def register(sub) -> None:
    """Add ``emoj train stage1`` and ``emoj train stage2``."""
    train = add_command(sub, "train", None, "train a model (stage 1: FER2013; stage 2: your labelled faces)")
    stages = train.add_subparsers(dest="stage", required=True, metavar="STAGE", help="which stage")

    s1 = add_command(stages, "stage1", cmd_stage1,
                     "train on FER2013 Training, select on PublicTest, report PrivateTest")
    add_config_options(s1, TrainConfig, choices={"labels": LABEL_SOURCES}, help=TRAIN_HELP)
    s1.add_argument("--hp", nargs="*", type=key_value, default=[], metavar="KEY=VALUE",
                    help="architecture hyperparameters (values read as JSON)")
    s1.add_argument("--augment-strength", type=float, default=None, metavar="X",
                    help="scale the augmentation ranges; 0 turns augmentation off (default: 1)")
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
    s2.add_argument("data", type=Path, help="image folder root/<emotion>/* (photos are cropped) or a FER-format CSV")
    s2.add_argument("--model", type=Path, default=None, metavar="PATH",
                    help="starting model (default: the shipped model)")
    add_config_options(s2, TransferConfig, help=TRANSFER_HELP)
    s2.add_argument("--augment", action="store_true", help="augment the new faces (default: no)")
    s2.add_argument("--fer", type=Path, default=None, metavar="CSV",
                    help="FER2013 for the before/after PrivateTest figures")
    s2.add_argument("--no-reference", action="store_true", help="skip the FER2013 PrivateTest figures")
    s2.add_argument("--run-dir", type=Path, default=None, metavar="FOLDER",
                    help="run folder")
