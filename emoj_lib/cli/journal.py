"""``emoj journal``: add a photo's face to the journal, list the entries, draw charts, personalise the model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoj_lib.cli.options import add_command, journal_option
from emoj_lib.journal.entry import SOURCES
from emoj_lib.personal import MIN_LABELLED

CHARTS = ("mood", "weekly", "calendar", "time", "corrections")


def open_journal(folder: Path | None):
    """Return the journal of ``--journal`` (default: ``$EMOJ_JOURNAL_DIR`` or ``~/emoj-journal``)."""
    from emoj_lib.journal import Journal

    return Journal(folder)


def write_chart(entries, kind: str, out: Path) -> Path:
    """Draw one journal chart (``mood``, ``weekly``, ``calendar``, ``time``, ``corrections``) into an owner-only PNG."""
    from matplotlib.figure import Figure

    from emoj_lib.journal import analytics

    draw = {"mood": analytics.plot_mood, "weekly": analytics.plot_weekly_mix, "calendar": analytics.plot_calendar,
            "time": analytics.plot_time_of_day, "corrections": analytics.plot_corrections}[kind]
    fig = Figure(figsize=(9, 4), layout="constrained")
    draw(entries, ax=fig.subplots())
    out = Path(out)
    fig.savefig(out, dpi=110)
    out.chmod(0o600)  # a chart of someone's feelings: owner-only, like the journal
    return out


def cmd_add(args: argparse.Namespace) -> int:
    """Add the face of a photo to the journal (the largest face unless --face says otherwise)."""
    from emoj_lib.journal import Entry
    from emoj_lib.recognizer import Recognizer
    from emoj_lib.ui.app import journal_model

    journal = open_journal(args.journal)
    model_path, version = journal_model(journal.folder, args.model)
    rec = Recognizer(model_path)
    readings = rec.analyze(args.photo, policy="all")
    if not readings:
        print(f"emoj: no face found in {args.photo}; nothing saved", file=sys.stderr)
        return 1
    if not 1 <= args.face <= len(readings):
        print(f"emoj: --face {args.face}: the photo has {len(readings)} face(s)", file=sys.stderr)
        return 2
    reading = readings[args.face - 1]
    entry = Entry.from_reading(reading, source=args.source, model=rec.name, model_version=version,
                               user_label=args.label, note=args.note or "", tags=args.tags or ())
    journal.append(entry, photo=args.photo if args.keep_photo else None)
    print(f"{journal.path}: entry {entry.entry_id}: {reading.emotion} ({reading.confidence:.2f})"
          + (f", your label: {entry.user_label}" if entry.user_label else ""))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List the latest journal entries."""
    entries = open_journal(args.journal).read(pixels=False).entries
    cols = [c for c in ("timestamp", "source", "emotion", "confidence", "user_label", "note", "tags") if c in entries]
    last = entries.sort_values("timestamp").tail(args.last)[cols]
    if args.json:
        print(last.reset_index().to_json(orient="records", date_format="iso", indent=2))
    else:
        print(last.to_string() if len(last) else "the journal is empty")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw a mood chart of the journal into a PNG file."""
    entries = open_journal(args.journal).read(pixels=False).entries
    write_chart(entries, args.kind, args.out)
    print(f"{args.out}: {args.kind} chart of {len(entries)} entries")
    return 0


def cmd_personalize(args: argparse.Namespace) -> int:
    """Fine-tune the user's model on their labelled entries (stage 3) and save a new version."""
    from emoj_lib.personal import personalize

    result = personalize(open_journal(args.journal), min_labelled=args.min_labelled, verbose=2)
    print(result.comparison().round(4).to_string())
    print(f"personal model: {result.model_path}")
    return 0


def cmd_repair(args: argparse.Namespace) -> int:
    """Rebuild a damaged journal keeping every readable row (the original is kept as a backup)."""
    from emoj_lib.journal import repair_journal

    report = repair_journal(args.journal if args.journal is not None else open_journal(None).folder)
    print(report)
    return 0


def register(sub) -> None:
    """Add ``emoj journal`` and its actions."""
    jo = add_command(sub, "journal", None, "the emotional journal: add a photo, list entries, charts, personalise")
    actions = jo.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")

    add = add_command(actions, "add", cmd_add, "add the face of a photo to the journal")
    journal_option(add)
    add.add_argument("photo", type=Path, help="the photo (JPEG, PNG...)")
    add.add_argument("--label", default=None, help="your own label (confirm or correct the model)")
    add.add_argument("--note", default=None, help="a note saved with the entry")
    add.add_argument("--tags", nargs="*", default=None, help="tags saved with the entry")
    add.add_argument("--face", type=int, default=1, help="which face, largest first (default: 1)")
    add.add_argument("--source", choices=SOURCES, default="file", help="where the photo came from")
    add.add_argument("--keep-photo", action="store_true", help="keep a copy of the photo beside the journal")
    add.add_argument("--model", type=Path, default=None,
                     help="model (default: $EMOJ_MODEL, else your latest personal model, else the shipped one)")

    ls = add_command(actions, "list", cmd_list, "the latest entries")
    journal_option(ls)
    ls.add_argument("--last", type=int, default=20, help="how many entries (default: 20)")
    ls.add_argument("--json", action="store_true", help="print JSON")

    pl = add_command(actions, "plot", cmd_plot, "draw a mood chart into a PNG")
    journal_option(pl)
    pl.add_argument("out", type=Path, help="the PNG file to write")
    pl.add_argument("--kind", choices=CHARTS, default="mood", help="which chart (default: mood)")

    rp = add_command(actions, "repair", cmd_repair, "rebuild a damaged journal, keeping every readable row and a "
                     "backup of the original")
    journal_option(rp)

    pe = add_command(actions, "personalize", cmd_personalize, "stage 3: fine-tune your model on your labels")
    journal_option(pe)
    pe.add_argument("--min-labelled", type=int, default=MIN_LABELLED,
                    help=f"fewest labelled entries accepted (default: {MIN_LABELLED})")
