"""Benchmark: parse the full FER2013 CSV with emoj_lib vs the naive per-row ``np.array(s.split())``.

Also a faster naive variant (``dtype=np.uint8`` in the loop).
Prints wall time and peak memory (max RSS of a fresh child process) of each, and the speed-up.
Usage: ``.venv/bin/python benchmarks/bench_fer_read.py [--fer PATH] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import numpy as np
path, how = sys.argv[1], sys.argv[2]
t = time.perf_counter()
if how == "emoj":
    from emoj_lib.data import read_fer_csv
    data = read_fer_csv(path)
    n = len(data)
elif how == "naive":  # the issue's baseline, literally: np.array(s.split()) per row
    import pandas as pd
    df = pd.read_csv(path)
    images = np.array([np.array(s.split()) for s in df["pixels"]]).astype(np.uint8).reshape(-1, 48, 48)
    labels = df["emotion"].to_numpy()
    n = len(images)
else:  # a faster naive variant: the same loop with dtype=np.uint8
    import pandas as pd
    df = pd.read_csv(path)
    images = np.array([np.array(s.split(), dtype=np.uint8) for s in df["pixels"]]).reshape(-1, 48, 48)
    labels = df["emotion"].to_numpy()
    n = len(images)
seconds = time.perf_counter() - t
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": n}))
"""


def run(path: str, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, path, how], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from emoj_lib import config

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fer", default=str(config.fer2013_path()))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for how in ("emoj", "naive", "naive_uint8"):
        runs = [run(args.fer, how) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["seconds"])
        results[how] = best
        every = ", ".join(f"{r['seconds']:.2f}" for r in runs)
        print(f"{how:6s} rows={best['rows']}  best of {args.repeat}: {best['seconds']:.2f} s  "
              f"peak RSS {max(r['peak_mb'] for r in runs):.0f} MB  (all: {every} s)")
    for how in ("naive", "naive_uint8"):
        print(f"speed-up vs {how}: {results[how]['seconds'] / results['emoj']['seconds']:.1f}x")
    print("targets: >= 4x faster than the naive per-row parse; emoj peak RSS < 1500 MB")


if __name__ == "__main__":
    main()
