"""Benchmark: the journal under faults, on generated data. Prints what was tried and the outcome of each.

- concurrent writers: W processes x A appends each (one in five with a photo, one in ten amended), while
  a reader polls; acknowledged rows lost must be 0;
- ``kill -9``: T trials, each a writer appending entries with photos killed at a random moment, then the
  journal read and opened again for writing; acknowledged rows lost, rows without their photo and
  files left over (orphan photos, partial ``.tmp`` copies) must all be 0;
- torn offsets: the last row cut at every offset (a step of ``--step`` bytes): the reader never raises, never
  loses an earlier row, and the next writer appends after it;
- bad photos and bad journal files: each one tried, with its outcome (the error message, or what was read).

Usage: ``flock /work/wt/cpu.lock .venv/bin/python benchmarks/bench_faults.py [--writers 8] [--appends 100]
[--trials 30] [--step 97]``
"""

from __future__ import annotations

import argparse
import io
import logging
import multiprocessing
import os
import signal
import tempfile
import time
import warnings
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

TZ = timezone(timedelta(hours=1))


def make_entry(rng: np.random.Generator, **kw):
    from emoj_lib.journal import Entry

    fields = {"face": rng.integers(0, 256, (48, 48), dtype=np.uint8), "box": (1, 2, 30, 40),
              "probabilities": rng.dirichlet(np.ones(7)), "source": "camera", "model": "m", "model_version": "1",
              "timestamp": datetime(2025, 6, 1, 8, 0, tzinfo=TZ)}
    fields.update(kw)
    return Entry(**fields)


def quiet_read(folder: Path, **kw):
    from emoj_lib.journal import JournalWarning, read_journal

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JournalWarning)
        return read_journal(folder, **kw)


# ------------------------------------------------------------------------------------ writers and kills

def _writer(folder: str, seed: int, n: int, ack_fd: int, photo_every: int) -> None:
    """Append ``n`` entries (a photo every ``photo_every``), writing each acknowledged id to ``ack_fd``."""
    from emoj_lib.journal import Journal

    rng = np.random.default_rng(seed)
    journal = Journal(folder)
    for i in range(n):
        photo = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8) if i % photo_every == 0 else None
        e = journal.append(make_entry(rng, note=f'writer {seed}, "entry" {i}\nline two'), photo=photo)
        line = e.entry_id + ("+" if photo is not None else "") + "\n"
        if i % 10 == 3:
            journal.amend(e.entry_id, label="sad", note=f"amended {i}")
            line = e.entry_id + ("+" if photo is not None else "") + "a\n"
        os.write(ack_fd, line.encode())


def _acks(read_fd: int) -> dict[str, str]:
    data = b""
    while chunk := os.read(read_fd, 1 << 16):
        data += chunk
    out = {}
    for line in data.decode().splitlines():
        if len(line) >= 32:
            out[line[:32]] = line[32:]
    return out


def _check(folder: Path, acked: dict[str, str]) -> dict[str, int]:
    """Count acknowledged rows lost, photos missing, amendments lost."""
    entries = quiet_read(folder, pixels=False).entries
    lost = sum(eid not in entries.index for eid in acked)
    missing = sum("+" in flag and (eid not in entries.index or not entries.at[eid, "photo"]
                                   or not (folder / entries.at[eid, "photo"]).is_file()) for eid, flag in acked.items())
    rows_without_photo = sum(not (folder / p).is_file() for p in entries["photo"] if p)
    unamended = sum("a" in flag and eid in entries.index and entries.at[eid, "user_label"] != "sad"
                    for eid, flag in acked.items())
    return {"lost": lost, "photo_missing": missing + rows_without_photo, "amend_lost": unamended,
            "entries": len(entries)}


def leftovers(folder: Path, entries_index) -> int:
    """Files under ``photos/`` that belong to no entry, and temporary files anywhere in the folder."""
    photos = folder / "photos"
    orphans = [p for p in photos.iterdir() if p.stem not in entries_index] if photos.is_dir() else []
    return len(orphans) + len(list(folder.rglob("*.tmp")))


def concurrent_writers(folder: Path, writers: int, appends: int) -> dict[str, int]:
    """W forked processes append at once; return the counts of :func:`_check`."""
    from emoj_lib.journal import Journal

    Journal.create(folder)
    ctx = multiprocessing.get_context("fork")
    r, w = os.pipe()
    procs = [ctx.Process(target=_writer, args=(str(folder), k, appends, w, 5)) for k in range(writers)]
    for p in procs:
        p.start()
    os.close(w)
    polls = 0
    while any(p.is_alive() for p in procs):
        quiet_read(folder, pixels=False)
        polls += 1
    acked = _acks(r)
    os.close(r)
    for p in procs:
        p.join()
    out = _check(folder, acked)
    out.update(acknowledged=len(acked), exit_codes_nonzero=sum(p.exitcode != 0 for p in procs), reader_polls=polls)
    return out


def kill_trials(folder: Path, trials: int, seed: int = 0) -> dict[str, int]:
    """Kill a writer keeping photos with SIGKILL ``trials`` times; check, then reopen for writing."""
    from emoj_lib.journal import Journal, LeftoverNotice

    rng = np.random.default_rng(seed)
    Journal.create(folder)
    ctx = multiprocessing.get_context("fork")
    total = {"acknowledged": 0, "lost": 0, "photo_missing": 0, "amend_lost": 0, "leftovers_after_reopen": 0,
             "leftovers_cleaned": 0, "torn_rows_seen": 0}
    acked_all: dict[str, str] = {}
    for t in range(trials):
        r, w = os.pipe()
        proc = ctx.Process(target=_writer, args=(str(folder), 1000 + t, 10_000, w, 1))
        proc.start()
        os.close(w)
        time.sleep(float(rng.uniform(0.02, 0.3)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        acked = _acks(r)
        os.close(r)
        acked_all.update(acked)
        data = quiet_read(folder, pixels=False)
        total["torn_rows_seen"] += int((data.problems["kind"] == "truncated").sum())
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", LeftoverNotice)
            Journal.create(folder)  # opened for writing: leftovers cleaned
        total["leftovers_cleaned"] += sum(issubclass(c.category, LeftoverNotice) for c in caught)
        entries = quiet_read(folder, pixels=False).entries
        total["leftovers_after_reopen"] += leftovers(folder, set(entries.index))
    check = _check(folder, acked_all)
    total.update(acknowledged=len(acked_all), lost=check["lost"], photo_missing=check["photo_missing"],
                 amend_lost=check["amend_lost"])
    return total


# ------------------------------------------------------------------------------------------ torn rows

def torn_offsets(folder: Path, step: int) -> dict[str, int]:
    """Cut the last row at every ``step``-th offset; the reader must keep the earlier rows, a writer go on."""
    from emoj_lib.journal import Journal

    rng = np.random.default_rng(5)
    journal = Journal.create(folder, fsync=False)
    kept = [journal.append(make_entry(rng, note='a "quoted"\nnote, with commas')).entry_id for _ in range(3)]
    base = journal.path.read_bytes()
    row = make_entry(rng, note='cut "here"\nor, there').to_row()
    out = {"offsets": 0, "read_errors": 0, "earlier_rows_lost": 0, "append_after_failed": 0}
    for cut in range(1, len(row), step):
        journal.path.write_bytes(base + row[:cut])
        out["offsets"] += 1
        try:
            entries = quiet_read(folder, on_error="raise", pixels=False).entries
        except Exception:
            out["read_errors"] += 1
            continue
        out["earlier_rows_lost"] += sum(k not in entries.index for k in kept)
        after = Journal(folder, fsync=False).append(make_entry(rng))
        if after.entry_id not in quiet_read(folder, on_error="raise", pixels=False).entries.index:
            out["append_after_failed"] += 1
    return out


# ------------------------------------------------------------------------------------------ bad inputs

def _png(w: int, h: int, mode: str = "RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (w, h)).save(buf, format="PNG")
    return buf.getvalue()


def bad_photos(tmp: Path) -> list[tuple[str, str]]:
    """Append an entry with each bad photo; return ``(what, outcome)``."""
    from emoj_lib.journal import Journal

    rng = np.random.default_rng(7)
    journal = Journal.create(tmp / "photos-journal", fsync=False)
    fifo = tmp / "camera.jpg"
    os.mkfifo(fifo)
    loop = tmp / "loop.jpg"
    loop.symlink_to(loop)
    big = bytearray(_png(8, 8))
    big[16:24] = (13300).to_bytes(4, "big") * 2  # a header claiming 13300x13300, with a valid CRC
    big[29:33] = zlib.crc32(bytes(big[12:29])).to_bytes(4, "big")
    cases = {
        "GIF bytes": b"GIF89a" + bytes(30),
        "PNG signature, no data": b"\x89PNG\r\n\x1a\n" + bytes(30),
        "truncated JPEG": _jpeg()[:200],
        "PNG claiming 13300x13300": bytes(big),
        "7000x7000 PNG (49 MP)": _png(7000, 7000, "1"),
        "FIFO named .jpg": fifo,
        "symbolic link loop": loop,
        "a folder": tmp,
        "missing file": tmp / "nope.png",
    }
    out = []
    for what, photo in cases.items():
        size = journal.path.stat().st_size
        try:
            journal.append(make_entry(rng), photo=photo)
            outcome = "ACCEPTED"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {str(exc)[:110]}"
        grew = journal.path.stat().st_size != size
        out.append((what, outcome + ("  [ROW WRITTEN]" if grew else "")))
    return out


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(buf, format="JPEG")
    return buf.getvalue()


def bad_journals(tmp: Path) -> list[tuple[str, str, str]]:
    """Read and repair each damaged journal; return ``(what, read outcome, repair outcome)``."""
    from emoj_lib.journal import Journal, repair_journal

    rng = np.random.default_rng(9)
    cases = {
        "version line padded with commas": lambda raw: raw.replace(b"v1\n", b"v1" + b"," * 24 + b"\n", 1),
        "cut inside line 1": lambda raw: raw[:10],
        "cut inside the header": lambda raw: raw[:40],
        "header damaged": lambda raw: raw.replace(b",note,", b",notes,", 1),
        "garbage lines": lambda raw: raw + b"garbage\n\x00\xff\xfe\n",
        "same entry twice": lambda raw: raw + raw.split(b"\n", 2)[2].split(b"\nentry,")[0] + b"\n",
        "note of 200,000 chars": None,
        "newer schema v2": lambda raw: raw.replace(b"v1", b"v2", 1),
        "CRLF line ends": lambda raw: raw.replace(b"\n", b"\r\n"),
    }
    out = []
    for k, (what, damage) in enumerate(cases.items()):
        folder = tmp / f"bad-{k}"
        journal = Journal.create(folder, fsync=False)
        for _ in range(3):
            journal.append(make_entry(rng, note="plain"))
        if damage is None:
            journal.append(make_entry(rng, note='x, "y"\n' * 40_000))
        else:
            journal.path.write_bytes(damage(journal.path.read_bytes()))
        out.append((what, _outcome(lambda f=folder: f"{len(quiet_read(f))} entries read", ),
                    _outcome(lambda f=folder: str(repair_journal(f)).split(": ", 1)[1][:90])))
    return out


def _outcome(fn) -> str:
    try:
        return fn()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).split(': ', 1)[-1][:80]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--appends", type=int, default=100)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--step", type=int, default=97, help="bytes between torn offsets tried (1: all)")
    args = parser.parse_args()
    logging.getLogger("emoj_lib").setLevel(logging.ERROR)  # the repair notices of the torn rows, counted here
    with tempfile.TemporaryDirectory(prefix="emoj-faults-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        c = concurrent_writers(tmp / "concurrent", args.writers, args.appends)
        print(f"writers x appends: {args.writers} x {args.appends} (photos 1 in 5, amendments 1 in 10, a reader "
              f"polling {c['reader_polls']} times): {c['acknowledged']} acknowledged, {c['lost']} lost, "
              f"{c['photo_missing']} photos missing, {c['amend_lost']} amendments lost "
              f"({time.perf_counter() - t:.0f} s)")
        t = time.perf_counter()
        k = kill_trials(tmp / "kills", args.trials)
        print(f"kill -9 trials: {args.trials} (every entry with a photo): {k['acknowledged']} acknowledged, "
              f"{k['lost']} lost, {k['photo_missing']} rows without their photo, {k['amend_lost']} amendments lost, "
              f"{k['torn_rows_seen']} torn rows detected, crash leftovers cleaned on reopening in "
              f"{k['leftovers_cleaned']} trials, {k['leftovers_after_reopen']} leftover files after reopening "
              f"({time.perf_counter() - t:.0f} s)")
        o = torn_offsets(tmp / "torn", args.step)
        print(f"torn offsets: {o['offsets']} tried (every {args.step} bytes of a 9 KB row): {o['read_errors']} read "
              f"errors, {o['earlier_rows_lost']} earlier rows lost, {o['append_after_failed']} failed appends after")
        photos = bad_photos(tmp)
        print(f"bad photos: {len(photos)} tried, {sum('ACCEPTED' in o or 'ROW' in o for _, o in photos)} accepted "
              f"or written")
        for what, outcome in photos:
            print(f"  {what:28s} -> {outcome}")
        journals = bad_journals(tmp)
        print(f"bad journal files: {len(journals)} tried (read with the default on_error='skip', then repaired)")
        for what, read, repaired in journals:
            print(f"  {what:33s} read: {read:40s} repair: {repaired}")


if __name__ == "__main__":
    main()
