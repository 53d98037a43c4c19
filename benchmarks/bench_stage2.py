"""Stage 2 without forgetting: transfer to a labelled people folder that lacks one emotion, whole people held out.

``--people DIR`` is ``DIR/<person>/<emotion>/<photos>`` (lay out JAFFE with
``emoj data people ../shared/data/jaffe DIR``). The emotion ``--without`` (default neutral) is left out of the new
data, as a posed-expression set without a neutral class would be; the model is then transferred with
:func:`emoj_lib.transfer.fine_tune` (its defaults unless options say otherwise), whole people held out, and
measured before and after on the held-out person(s) and on FER2013 PrivateTest with per-class recall.

Fitted on what: the transfer sees only the training persons' photos (and FER2013 Training replay); the best
epoch is chosen on validation persons; PrivateTest and the held-out person are looked at once, for the report.

With ``--each-person`` every person is held out in turn (their photos become the data's own test split) and
the figures are the means over the runs, with the worst person; a single held-out person is a small sample.

Usage: ``python benchmarks/bench_stage2.py --people DIR [--without neutral] [--replay N] [--replay-targets model]
[--seed 0] [--each-person]``. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=Path, required=True, help="DIR/<person>/<emotion>/<photos>")
    parser.add_argument("--without", default="neutral", help="the emotion the new data lacks")
    parser.add_argument("--replay", type=int, default=None, help="replay faces (default: automatic; 0: none)")
    parser.add_argument("--replay-targets", default="model", choices=("model", "labels"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=Path, help="default: the shipped model")
    parser.add_argument("--each-person", action="store_true", help="hold out every person in turn")
    args = parser.parse_args()

    import pandas as pd

    from emoj_lib import config
    from emoj_lib.data import FerData, read_fer_csv
    from emoj_lib.data.folders import face_groups, read_image_folder
    from emoj_lib.labels import emotion_index
    from emoj_lib.transfer import TransferConfig, fine_tune

    t0 = time.perf_counter()
    missing = emotion_index(args.without)
    reference = read_fer_csv(config.fer2013_path(), usage=["PrivateTest"])
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "people"
        for photo in sorted(args.people.glob("*/*/*")):
            if photo.parent.name != args.without:
                folder = root / photo.parent.parent.name / photo.parent.name
                folder.mkdir(parents=True, exist_ok=True)
                (folder / photo.name).symlink_to(photo.resolve())
        data, report = read_image_folder(root, layout="people")
        groups = face_groups(data, report)
        assert not (data.labels == missing).any()
        settings = TransferConfig(replay=args.replay, replay_targets=args.replay_targets, seed=args.seed)
        for held in np.unique(groups) if args.each_person else [None]:
            part = data if held is None else FerData(data.images, data.labels, np.where(
                groups == held, "PrivateTest", "Training").astype(object), data.rows, source=data.source)
            result = fine_tune(args.model or config.default_model_path(), part, settings,
                               run_dir=Path(tmp) / f"run-{held}", reference=reference, groups=groups, verbose=0)
            runs.append(figures(result, args.without))
            shown = ", ".join(f"{k} {v:.4f}" for k, v in runs[-1].items())
            print(f"held out {held or 'by the group-aware split'}: {shown}")
            if held is None:
                print(result.comparison().round(4).to_string())
                print(f"holdout: {result.card['data']['holdout']}")
            print(f"replay per class: {result.card['data']['replay_per_class']}")
    table = pd.DataFrame(runs)
    out = {"faces": len(data), "persons": len(np.unique(groups)), "runs": len(runs), "without": args.without,
           "replay": int(result.card["data"]["replay_faces"]), "replay_targets": args.replay_targets,
           "seed": args.seed, **{k: round(float(v), 4) for k, v in table.mean().items()},
           "worst_holdout_gain": round(float((table.holdout_after - table.holdout_before).min()), 4),
           "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out))


def figures(result, without: str) -> dict[str, float]:
    """PrivateTest accuracy, the missing emotion's recall and held-out accuracy, before and after."""
    before, after = result.before, result.after
    recall = f"recall_{without}"
    return {"privatetest_before": before["reference"]["accuracy"], "privatetest_after": after["reference"]["accuracy"],
            f"{recall}_before": before["reference"][recall], f"{recall}_after": after["reference"][recall],
            "holdout_before": before["holdout"]["accuracy"], "holdout_after": after["holdout"]["accuracy"]}

if __name__ == "__main__":
    main()
