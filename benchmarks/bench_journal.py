"""Benchmark: journal appends and reading a 100,000-entry journal (~0.9 GB: a 9 KB pixel string per row).

Generates a synthetic journal in a temporary folder (random faces and probabilities; 5% of the notes hold
commas, quotes and line breaks; one entry in ten amended with a label), then times
- ``append`` (with fsync) on that journal: the first append of a new ``Journal`` object (it scans the file
  once for quote parity), then the median / p99 / max of the next appends;
- ``read_journal`` (with the pixel strings, and with ``pixels=False``) in a fresh process each, with its
  peak memory (max RSS); the page cache is warm (the file was just written);
- ``labelled_faces`` (parses the pixel strings of the labelled entries).

Usage: ``.venv/bin/python benchmarks/bench_journal.py [--entries 100000] [--appends 1000] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time, warnings
from emoj_lib.journal import read_journal
path, pixels = sys.argv[1], sys.argv[2] == "1"
t, c = time.perf_counter(), time.process_time()
data = read_journal(path, pixels=pixels)
seconds, cpu = time.perf_counter() - t, time.process_time() - c
out = {"seconds": seconds, "cpu": cpu, "entries": len(data.entries), "changes": len(data.changes)}
if pixels:
    t = time.perf_counter()
    fer = data.labelled_faces()
    out["faces_seconds"] = time.perf_counter() - t
    out["faces"] = len(fer)
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def generate(folder: Path, n: int, seed: int = 0) -> Path:
    """Write a synthetic journal of ``n`` entries (and n/10 amendments) into ``folder``; return its file."""
    from emoj_lib.journal import COLUMNS, Entry, Journal
    from emoj_lib.labels import EMOTIONS

    rng = np.random.default_rng(seed)
    journal = Journal.create(folder, fsync=False)
    placeholder = datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    stamp = placeholder.isoformat(timespec="microseconds").encode()
    pool = []
    for k in range(256):
        p = rng.dirichlet(np.ones(7))
        note = 'slept badly, "again"\nwork was fine' if k % 20 == 0 else ("a good day" if k % 3 else "")
        e = Entry(rng.integers(0, 256, (48, 48), dtype=np.uint8), (int(rng.integers(0, 400)), 80, 120, 120), p,
                  "webcam", "emoj_fer2013", "1", timestamp=placeholder, entry_id="0" * 32, note=note,
                  tags=["home"] if k % 2 else [])
        pool.append(e.to_row())
    start = datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    ids = []
    with open(journal.path, "ab") as fh:
        chunk = []
        for i in range(n):
            eid = uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i).hex
            ids.append(eid)
            when = (start + timedelta(minutes=int(i * 23))).isoformat(timespec="microseconds").encode()
            row = pool[i % len(pool)].replace(b"0" * 32, eid.encode(), 1).replace(stamp, when, 1)
            chunk.append(row)
            if i % 10 == 9:  # amend one entry in ten
                label = EMOTIONS[int(rng.integers(0, 7))]
                row = dict.fromkeys(COLUMNS, "")
                row.update(kind="amend", entry_id=ids[i - 5], timestamp=when.decode(), user_label=label,
                           amended="user_label")
                chunk.append((",".join(row.values()) + "\n").encode())
            if len(chunk) >= 2000:
                fh.write(b"".join(chunk))
                chunk = []
        fh.write(b"".join(chunk))
        fh.flush()
        os.fsync(fh.fileno())  # so that the first timed append does not pay for writing the whole file back
    return journal.path


def time_appends(folder: Path, n: int, seed: int = 1) -> dict:
    from emoj_lib.journal import Entry, Journal

    rng = np.random.default_rng(seed)
    journal = Journal(folder)
    entries = [Entry(rng.integers(0, 256, (48, 48), dtype=np.uint8), (10, 20, 100, 100), rng.dirichlet(np.ones(7)),
                     "camera", "emoj_fer2013", "1", note="benchmark, \"quoted\"") for _ in range(n + 1)]
    t = time.perf_counter()
    journal.append(entries[0])
    first = time.perf_counter() - t
    times = []
    for e in entries[1:]:
        t = time.perf_counter()
        journal.append(e)
        times.append(time.perf_counter() - t)
    ms = np.array(times) * 1000
    return {"first_ms": first * 1000, "median_ms": float(np.median(ms)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "n": n}


def read_in_child(path: Path, pixels: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), "1" if pixels else "0"], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--keep", help="write the journal into this folder (kept) instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="emoj-bench-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp) / "journal"
        t = time.perf_counter()
        path = generate(folder, args.entries)
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.entries:,} entries + {args.entries // 10:,} amendments: {size_mb:,.0f} MB "
              f"in {time.perf_counter() - t:.1f} s")
        a = time_appends(folder, args.appends)
        print(f"append (fsync, on the {args.entries:,}-entry journal): first {a['first_ms']:.1f} ms (scans the file "
              f"once), then median {a['median_ms']:.2f} ms, p99 {a['p99_ms']:.2f} ms, max {a['max_ms']:.2f} ms "
              f"over {a['n']} appends")
        for pixels in (True, False):
            r = read_in_child(path, pixels)
            what = "with pixel strings" if pixels else "pixels=False     "
            print(f"read {what}: {r['seconds']:.2f} s (CPU {r['cpu']:.2f} s), {r['entries']:,} entries, "
                  f"{r['changes']:,} changes, peak RSS {r['peak_mb']:,.0f} MB (warm page cache)")
            if pixels:
                print(f"labelled_faces: {r['faces']:,} faces parsed in {r['faces_seconds']:.2f} s")
        print(f"targets: append < 20 ms per entry; read of a 100,000-entry journal <= 5 s "
              f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
