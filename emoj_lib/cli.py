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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``emoj`` command line; return the exit status."""
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
