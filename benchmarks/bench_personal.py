"""The personal adapter on real people: few labelled shots per emotion, tested on the person's other photos.

``DIR/<person>/<emotion>/<photos>`` (lay out JAFFE with ``--layout ../shared/data/jaffe``, which builds DIR
from the file names, or with :func:`emoj_lib.data.people.layout_people`). Every photo goes through the
recognizer's own detection and cropping once (as a journal entry's would); then, per person and per draw:

- k = 1 and k = 2: k random photos of each emotion labelled, the adapter fitted on them (its leave-one-out
  choice included), that person's other photos tested;
- partial: one photo each of neutral, happy and sad labelled; all other photos tested, and accuracy reported
  separately on the four emotions never labelled.

Fitted on what: the adapter itself sees only the person's shots; its defaults (strength 80, temperature 8)
were chosen by looking at these JAFFE photos, so for JAFFE these figures are in-sample for those two
constants (``--strength`` / ``--temperature`` show other settings). ``--lopo`` measures what that costs:
for each person, the default strength is chosen among the candidates on the *other* persons' k = 1
accuracy and the default temperature on their negative log-likelihood, and that person is scored with
those choices (out-of-sample for the constants too). It prints its own table; the JSON line stays the
figures of the shipped defaults.

Usage: ``python benchmarks/bench_personal.py --users DIR [--draws 10] [--seed 0] [--lopo]``
Last line: one JSON object (mean accuracies over persons).
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from emoj_lib import config

PROTOCOLS = {"k1": {"k": 1}, "k2": {"k": 2}, "partial": {"k": 1, "emotions": (6, 3, 4)}}  # neutral, happy, sad


def pct(x: float) -> str:
    return f"{100 * x:5.1f}"


def report(name: str, df) -> dict[str, float]:
    from emoj_lib.personal.people import mean_interval

    per = df.groupby("person")[["before", "after", "unlabelled_before", "unlabelled_after"]].mean()
    print(f"\n{name}: accuracy % on each person's other photos (mean of draws), before -> after")
    for person, r in per.iterrows():
        extra = (f"   unlabelled {pct(r.unlabelled_before)} -> {pct(r.unlabelled_after)}"
                 if not np.isnan(r.unlabelled_before) else "")
        print(f"  {person:>8}  {pct(r.before)} -> {pct(r.after)}  ({100 * (r.after - r.before):+5.1f}){extra}")
    out = {}
    for col in ("before", "after", "unlabelled_before", "unlabelled_after"):
        m, h = mean_interval(per[col])
        out[col] = m
        if not np.isnan(m):
            print(f"  mean {col:<17} {pct(m)} ± {100 * h:.1f} (95 % interval over {len(per)} persons)")
    gain = per["after"] - per["before"]
    m, h = mean_interval(gain)
    print(f"  mean gain {100 * m:+.1f} ± {100 * h:.1f} points; worst person {100 * gain.min():+.1f}")
    if per["unlabelled_before"].notna().any():
        ug = per["unlabelled_after"] - per["unlabelled_before"]
        print(f"  unlabelled emotions: mean change {100 * ug.mean():+.1f}, worst person {100 * ug.min():+.1f}")
    print("  adapter's choice:", ", ".join(f"{n} x {r}" for r, n in df["reason"].value_counts().items()))
    return out


@contextmanager
def defaults(strength: float, temperature: float):
    """Run the adapter with other default constants (what the library would do had it shipped them)."""
    from emoj_lib.personal import adapter

    saved = adapter.DEFAULT_STRENGTH, adapter.DEFAULT_TEMPERATURE
    adapter.DEFAULT_STRENGTH, adapter.DEFAULT_TEMPERATURE = strength, temperature
    try:
        yield
    finally:
        adapter.DEFAULT_STRENGTH, adapter.DEFAULT_TEMPERATURE = saved


def lopo(faces, draws: int, seed: int) -> None:
    """Leave one person out: choose the default constants on the others, score the person left out."""
    from emoj_lib.personal.adapter import STRENGTHS, TEMPERATURES, expected_calibration_error, fit_adapter
    from emoj_lib.personal.people import draw_shots, evaluate_protocol, mean_interval

    persons = np.unique(faces.person)
    tables = {}
    strengths = [s for s in STRENGTHS if s > 0]
    for s in strengths:
        with defaults(s, 1.0):
            for name, proto in PROTOCOLS.items():
                df = evaluate_protocol(faces, draws=draws, seed=seed, **proto)
                tables[s, name] = df.groupby("person")[["before", "after", "unlabelled_after"]].mean()
    rng = np.random.default_rng(seed)
    adapted: dict[float, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for person in persons:  # k = 1, one draw: the probabilities each temperature gives
        idx = np.flatnonzero(faces.person == person)
        shots = draw_shots(faces.labels, idx, 1, range(7), rng)
        test = np.setdiff1d(idx, shots)
        for t in TEMPERATURES:
            with defaults(80.0, t):
                ad = fit_adapter(faces.features[shots], faces.labels[shots], faces.proba[shots])
            adapted.setdefault(t, {})[person] = (ad.transform(faces.proba[test], faces.features[test]),
                                                 faces.labels[test])
    nll = {t: {p: -np.mean(np.log(pr[np.arange(len(y)), y] + 1e-12)) for p, (pr, y) in v.items()}
           for t, v in adapted.items()}
    print("\nleave one person out: default constants chosen on the other persons, this person scored")
    rows = []
    for person in persons:
        others = persons[persons != person]
        s = max(strengths, key=lambda s: tables[s, "k1"].loc[others, "after"].mean())
        t = min(nll, key=lambda t: np.mean([nll[t][p] for p in others]))
        row = {"person": person, "strength": s, "temperature": t,
               **{name: tables[s, name].loc[person, "after"] for name in PROTOCOLS},
               **{f"{name}_before": tables[s, name].loc[person, "before"] for name in PROTOCOLS},
               "unlabelled": tables[s, "partial"].loc[person, "unlabelled_after"]}
        rows.append(row)
        print(f"  {person:>8}  strength {s:5.0f}  temperature {t:4.0f}  k1 {pct(row['k1'])}  k2 {pct(row['k2'])}"
              f"  partial {pct(row['partial'])}  unlabelled {pct(row['unlabelled'])}")
    import pandas as pd

    out = pd.DataFrame(rows)
    for name in PROTOCOLS:
        m, h = mean_interval(out[name] - out[f"{name}_before"])
        print(f"  {name}: mean after {pct(out[name].mean())} % (gain {100 * m:+.1f} ± {100 * h:.1f} points)")
    probs = np.concatenate([adapted[t][p][0] for p, t in zip(out.person, out.temperature, strict=True)])
    ys = np.concatenate([adapted[t][p][1] for p, t in zip(out.person, out.temperature, strict=True)])
    print(f"  expected calibration error with each person's out-of-sample temperature (k = 1, one draw): "
          f"{expected_calibration_error(probs, ys):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=Path, required=True, help="DIR/<person>/<emotion>/<photos>")
    parser.add_argument("--layout", type=Path, help="first lay out this flat JAFFE-named folder as --users")
    parser.add_argument("--draws", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", type=config.model_path,
                        help="a .keras model with its card, or a shipped model: default, small (default: default)")
    parser.add_argument("--strength", type=float, help="force the adapter's strength (no leave-one-out choice)")
    parser.add_argument("--temperature", type=float, help="force the adapter's temperature")
    parser.add_argument("--lopo", action="store_true",
                        help="also choose the default constants on the other persons, for each person")
    args = parser.parse_args()

    from emoj_lib.data.people import layout_people
    from emoj_lib.personal.adapter import expected_calibration_error, fit_adapter
    from emoj_lib.personal.people import draw_shots, evaluate_protocol, read_people_faces
    from emoj_lib.recognizer import Recognizer

    t0 = time.perf_counter()
    if args.layout:
        layout_people(args.layout, args.users)
    rec = Recognizer(args.model)
    faces = read_people_faces(args.users, rec)
    persons = np.unique(faces.person)
    base = (faces.proba.argmax(1) == faces.labels).mean()
    print(f"model {rec.model_path.name}: {len(faces)} faces of {len(persons)} persons read in "
          f"{time.perf_counter() - t0:.1f} s ({len(faces.missing)} photos without a face: "
          f"{', '.join(Path(m).name for m in faces.missing) or 'none'}); base accuracy {pct(base)} %")
    options = {k: v for k, v in (("strength", args.strength), ("temperature", args.temperature)) if v is not None}
    results = {}
    for name, proto in PROTOCOLS.items():
        t1 = time.perf_counter()
        df = evaluate_protocol(faces, draws=args.draws, seed=args.seed, **proto, **options)
        results[name] = report(f"{name} ({len(df)} adaptations in {time.perf_counter() - t1:.1f} s)", df)

    # calibration and speed, k = 1, one draw per person
    rng = np.random.default_rng(args.seed)
    probs, base_probs, ys, fit_s = [], [], [], []
    for person in persons:
        idx = np.flatnonzero(faces.person == person)
        shots = draw_shots(faces.labels, idx, 1, range(7), rng)
        test = np.setdiff1d(idx, shots)
        t1 = time.perf_counter()
        ad = fit_adapter(faces.features[shots], faces.labels[shots], faces.proba[shots], **options)
        fit_s.append(time.perf_counter() - t1)
        probs.append(ad.transform(faces.proba[test], faces.features[test]))
        base_probs.append(faces.proba[test])
        ys.append(faces.labels[test])
    p, y = np.concatenate(probs), np.concatenate(ys)
    print(f"\nexpected calibration error on the tested photos (k = 1, one draw): base "
          f"{expected_calibration_error(np.concatenate(base_probs), y):.3f}, adapted "
          f"{expected_calibration_error(p, y):.3f}; adapter fit {1000 * max(fit_s):.0f} ms at most")
    if args.lopo:
        lopo(faces, args.draws, args.seed)
    print(f"total {time.perf_counter() - t0:.1f} s")
    r = results
    print(json.dumps({"persons": len(persons),
                      "k1_before": round(r["k1"]["before"], 4), "k1_after": round(r["k1"]["after"], 4),
                      "k2_before": round(r["k2"]["before"], 4), "k2_after": round(r["k2"]["after"], 4),
                      "partial_before": round(r["partial"]["before"], 4),
                      "partial_after": round(r["partial"]["after"], 4),
                      "partial_unlabelled_before": round(r["partial"]["unlabelled_before"], 4),
                      "partial_unlabelled_after": round(r["partial"]["unlabelled_after"], 4)}))


if __name__ == "__main__":
    main()
