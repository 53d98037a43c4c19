"""Stage 2 without forgetting: transfer to a labelled people folder that lacks one emotion, whole people held out.

``--people DIR`` is ``DIR/<person>/<emotion>/<photos>`` (lay out JAFFE with
``emoj data people ../shared/data/jaffe DIR``). The emotion ``--without`` (default neutral) is left out of the new
data, as a posed-expression set without a neutral class would be; the model is then transferred with
:func:`emoj_lib.transfer.fine_tune` (its defaults unless options say otherwise), whole people held out, and
measured before and after on the held-out person(s) and on FER2013 PrivateTest with per-class recall.

Fitted on what: the transfer sees only the training persons' photos (and FER2013 Training replay); the best
epoch is chosen on validation persons; PrivateTest and the held-out person are looked at once, for the report.

Usage: ``python benchmarks/bench_stage2.py --people DIR [--without neutral] [--replay N] [--replay-targets model]
[--seed 0]``. Last line: one JSON object.
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
    args = parser.parse_args()

    from emoj_lib import config
    from emoj_lib.data import read_fer_csv
    from emoj_lib.data.folders import face_groups, read_image_folder
    from emoj_lib.labels import emotion_index
    from emoj_lib.transfer import TransferConfig, fine_tune

    t0 = time.perf_counter()
    missing = emotion_index(args.without)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "people"
        for photo in sorted(args.people.glob("*/*/*")):
            if photo.parent.name != args.without:
                folder = root / photo.parent.parent.name / photo.parent.name
                folder.mkdir(parents=True, exist_ok=True)
                (folder / photo.name).symlink_to(photo.resolve())
        data, report = read_image_folder(root, layout="people")
        groups = face_groups(data, report)
        config_ = TransferConfig(replay=args.replay, replay_targets=args.replay_targets, seed=args.seed)
        reference = read_fer_csv(config.fer2013_path(), usage=["PrivateTest"])
        result = fine_tune(args.model or config.default_model_path(), data, config_,
                           run_dir=Path(tmp) / "run", reference=reference, groups=groups, verbose=0)
    assert not (data.labels == missing).any()
    table = result.comparison()
    print(table.round(4).to_string())
    print(f"holdout: {result.card['data']['holdout']}; replay per class: {result.card['data']['replay_per_class']}")
    ref, held = result.before["reference"], result.after["reference"]
    recall = f"recall_{args.without}"
    out = {"faces": len(data), "persons": len(np.unique(groups)), "without": args.without,
           "replay": result.card["data"]["replay_faces"], "replay_targets": args.replay_targets, "seed": args.seed,
           "privatetest_before": round(ref["accuracy"], 4), "privatetest_after": round(held["accuracy"], 4),
           f"{recall}_before": round(ref[recall], 4), f"{recall}_after": round(held[recall], 4),
           "holdout_before": round(result.before["holdout"]["accuracy"], 4),
           "holdout_after": round(result.after["holdout"]["accuracy"], 4),
           "seconds": round(time.perf_counter() - t0, 1)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
