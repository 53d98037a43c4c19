"""``emoj demo``: a portrait read by the model, a journal entry and a mood chart, with no data of your own."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.journal import write_chart
from emoj_lib.cli.options import MODEL_ARG_HELP, add_command


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the journal demo: a portrait read by the model, a journal entry, a mood chart."""
    from skimage import data as skdata

    from emoj_lib.journal import Entry, Journal
    from emoj_lib.labels import EMOTIONS
    from emoj_lib.recognizer import Recognizer
    from emoj_lib.ui.app import journal_model

    out = Path(args.out)
    journal = Journal(out / "journal")
    photo = skdata.astronaut()  # public domain (NASA), shipped inside scikit-image
    print("== emoJ demo: Eileen Collins' astronaut portrait (scikit-image, public domain) ==")
    model_path, version = journal_model(journal.folder, args.model)
    rec = Recognizer(model_path)
    readings = rec.analyze(photo, policy="all")
    if not readings:
        print("emoj: no face found in the demo photo", file=sys.stderr)
        return 1
    reading = readings[0]
    print(f"model {rec.name}: {len(readings)} face(s); the largest at {reading.box.as_tuple()}")
    for e, p in sorted(zip(EMOTIONS, reading.probabilities, strict=True), key=lambda t: -t[1]):
        print(f"  {e:9s} {p:6.3f} {'#' * round(40 * p)}")
    entry = journal.append(Entry.from_reading(reading, source="file", model=rec.name, model_version=version,
                                              note="emoj demo: astronaut portrait"))
    print(f"\njournal entry {entry.entry_id} written to {journal.path} (owner-only permissions)")
    write_chart(journal.read(pixels=False).entries, "mood", out / "mood.png")
    print(f"mood over time: {out / 'mood.png'}")
    print("\nOpen the journal app (webcam, upload, corrections, history, charts, export):\n"
          "  emoj app          (in your browser, as an app without code)\n"
          "  emoj app --lab    (as a notebook in JupyterLab)\n"
          "Your journal lives in ~/emoj-journal (or $EMOJ_JOURNAL_DIR); nothing is sent anywhere.")
    return 0


def register(sub) -> None:
    """Add ``emoj demo``."""
    demo = add_command(sub, "demo", cmd_demo, "the journal demo: a portrait read, a journal entry, a mood chart")
    demo.add_argument("--out", type=Path, default=cfg.LOCAL_DATA_DIR / "demo", help="demo folder")
    demo.add_argument("--model", type=cfg.model_path, default=None,
                      help=MODEL_ARG_HELP + " (default: default)")
