"""``emoj tune``: a keras-tuner search over emojnet, alone or as the chief or a worker of a distributed search.

The defaults of the search options are those of :func:`emoj_lib.tuning.make_tuner` and
:func:`emoj_lib.tuning.run_search` (an option the user does not give is not passed on).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import add_command, given, signature_default
from emoj_lib.tuning import TUNERS, make_tuner, run_search

TUNER_OPTIONS = ("max_trials", "max_epochs", "max_depth", "seed", "overwrite")


def cmd_tune(args: argparse.Namespace) -> int:
    """Run a keras-tuner search (alone, or as the chief or a worker of a distributed search)."""
    from emoj_lib.data import read_fer_csv
    from emoj_lib.training import TrainConfig, stage1_data, train_stage1
    from emoj_lib.tuning import best_train_config, distributed_env, results_table, summary_json

    if args.role != "single":
        os.environ.update(distributed_env(args.role, oracle_ip=args.oracle_ip, oracle_port=args.oracle_port,
                                          tuner_id=args.tuner_id))
    fer = read_fer_csv(args.fer or cfg.fer2013_path())
    prepared = stage1_data(fer, TrainConfig(sample=args.sample, seed=args.seed))
    tuner = make_tuner(args.tuner, directory=args.directory, project_name=args.project,
                       **given(args, *TUNER_OPTIONS))
    run_search(tuner, prepared["train"], prepared["val"], verbose=0 if args.quiet else 1, **given(args, "epochs"))
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


def register(sub) -> None:
    """Add ``emoj tune``."""
    tu = add_command(sub, "tune", cmd_tune, "hyperparameter search (keras-tuner), alone or distributed")
    tu.add_argument("--tuner", choices=TUNERS, default=signature_default(make_tuner, "kind"), help="search method")

    def search_option(flag: str, func, what: str) -> None:
        name = flag[2:].replace("-", "_")
        tu.add_argument(flag, type=int, default=argparse.SUPPRESS, metavar="N",
                        help=f"{what} (default: {signature_default(func, name)})")

    search_option("--max-trials", make_tuner, "trials (bayesian, random)")
    search_option("--max-epochs", make_tuner, "hyperband's largest epoch budget")
    search_option("--epochs", run_search, "epochs per trial (bayesian, random)")
    search_option("--max-depth", make_tuner, "largest number of blocks searched")
    tu.add_argument("--sample", type=int, default=None, help="tune on this many training faces (default: all)")
    tu.add_argument("--fer", type=Path, default=None, help="FER-format CSV (default: the shared FER2013)")
    tu.add_argument("--directory", type=Path, default=cfg.RUNS_DIR / "tuning", help="search folder")
    tu.add_argument("--project", default=signature_default(make_tuner, "project_name"),
                    help="search name (a sub-folder of --directory)")
    tu.add_argument("--seed", type=int, default=signature_default(make_tuner, "seed"), help="random seed")
    tu.add_argument("--overwrite", action="store_true", default=argparse.SUPPRESS,
                    help="start afresh instead of resuming")
    tu.add_argument("--retrain-epochs", type=int, default=0, help="retrain the best configuration (0: no)")
    tu.add_argument("--role", choices=["single", "chief", "worker"], default="single",
                    help="distributed search: the chief runs the oracle, workers run trials")
    tu.add_argument("--oracle-ip", default="127.0.0.1", help="where the chief listens")
    tu.add_argument("--oracle-port", type=int, default=8000, help="the chief's port")
    tu.add_argument("--tuner-id", default=None, help="a worker's unique id (default: tuner<pid>)")
    tu.add_argument("--quiet", action="store_true", help="no keras-tuner progress")
