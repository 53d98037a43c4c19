"""``emoj journal``: add a photo's face to the journal, list the entries, draw charts, personalise the model."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import MODEL_ARG_HELP, add_command, journal_option, option_error
from emoj_lib.cli.progress import epoch_progress
from emoj_lib.errors import EmojError
from emoj_lib.journal.entry import SOURCES
from emoj_lib.labels import EMOTIONS
from emoj_lib.personal import MIN_LABELLED

CHARTS = ("mood", "weekly", "calendar", "time", "corrections")


def open_journal(folder: Path | None, *, create: bool = False):
    """Return the journal of ``--journal`` (default: ``$EMOJ_JOURNAL_DIR`` or ``~/emoj-journal``).

    Only ``create=True`` (``journal add``: its first entry makes the journal) accepts a folder without a journal;
    the other commands refuse it (:class:`~emoj_lib.errors.JournalNotFoundError`) and create nothing.
    """
    from emoj_lib.journal import Journal

    return Journal(folder) if create else Journal.open(folder)


def find_entry(entries, text: str) -> str:
    """Return the id of the entry that ``text`` names: its full id or the start of it (e.g. the short id listed)."""
    matches = [eid for eid in entries.index if eid.startswith(text)] if text else []
    if text in entries.index:
        return text
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise EmojError(f"no entry {text!r} in the journal (emoj journal list shows the ids)")
    raise EmojError(f"{len(matches)} entries start with {text!r}: give more of the id")


def write_chart(entries, kind: str, out: Path) -> Path:
    """Draw one journal chart (``mood``, ``weekly``, ``calendar``, ``time``, ``corrections``) into an owner-only PNG."""
    from matplotlib.figure import Figure

    from emoj_lib.journal import analytics

    charts: dict[str, Callable[..., object]] = {
        "mood": analytics.plot_mood, "weekly": analytics.plot_weekly_mix, "calendar": analytics.plot_calendar,
        "time": analytics.plot_time_of_day, "corrections": analytics.plot_corrections}
    draw = charts[kind]
    fig = Figure(figsize=(9, 4), layout="constrained")
    draw(entries, ax=fig.subplots())
    out = Path(out)
    fig.savefig(out, dpi=110)
    out.chmod(0o600)  # a chart of someone's feelings: owner-only, like the journal
    return out


def cmd_add(args: argparse.Namespace) -> int:
    """Add the face of a photo to the journal (the largest face unless --face says otherwise)."""
    from emoj_lib.faces import check_photo
    from emoj_lib.journal import Entry
    from emoj_lib.personal import journal_recognizer, reading_version

    check_photo(args.photo, formats=("JPEG", "PNG") if args.keep_photo else None)  # before any model runs
    journal = open_journal(args.journal, create=True)
    rec = journal_recognizer(journal.folder, model_path=args.model)
    readings = rec.analyze(args.photo, policy="all")
    version = reading_version(rec)  # after the reading: it names the adapter when the adapter took part
    if not readings:
        print(f"emoj: no face found in {args.photo}; nothing saved", file=sys.stderr)
        return 1
    if not 1 <= args.face <= len(readings):
        print(f"emoj: --face {args.face}: the photo has {len(readings)} face(s)", file=sys.stderr)
        return 2
    reading = readings[args.face - 1]
    if len(readings) > 1:
        boxes = "; ".join(f"{i + 1}: {r.box.w}x{r.box.h} px at ({r.box.x}, {r.box.y})" for i, r in enumerate(readings))
        print(f"{len(readings)} faces in {args.photo}, largest first ({boxes}); saved face {args.face}. "
              "Use --face N to save another.", file=sys.stderr)
    entry = Entry.from_reading(reading, source=args.source, model=rec.name, model_version=version,
                               user_label=args.label, note=args.note or "", tags=args.tags or ())
    journal.append(entry, photo=args.photo if args.keep_photo else None)
    print(f"{journal.path}: entry {entry.entry_id}: {reading.emotion} ({reading.confidence:.2f})"
          + (f", your label: {entry.user_label}" if entry.user_label else ""))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List the latest journal entries: a table (local time, short id, your label, the model's reading, note)."""
    import pandas as pd

    from emoj_lib.journal.report import entries_table, filter_entries

    entries = open_journal(args.journal).read(pixels=False).entries
    entries = filter_entries(entries, start=args.since, end=args.until, emotion=args.emotion, tag=args.tag,
                             text=args.search or "")
    last = entries.sort_values("timestamp", kind="stable").tail(args.last)
    if args.json:
        cols = [c for c in ("timestamp", "source", "emotion", "confidence", "user_label", "note", "tags")
                if c in last]
        print(last[cols].reset_index().to_json(orient="records", date_format="iso", indent=2))
    elif last.empty:
        print("the journal is empty")
    else:
        with pd.option_context("display.width", 200, "display.max_colwidth", 60):
            print(entries_table(last).to_string(index=False))
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """Draw a mood chart of the journal into a PNG file."""
    entries = open_journal(args.journal).read(pixels=False).entries
    write_chart(entries, args.kind, args.out)
    print(f"{args.out}: {args.kind} chart of {len(entries)} entries")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    """Change an entry's label, note or tags (recorded as an amendment: the entry keeps its history)."""
    from emoj_lib.journal.report import parse_tags, short_id

    journal = open_journal(args.journal)
    entry_id = find_entry(journal.read(pixels=False).entries, args.entry)
    changes = {}
    if args.label is not None:
        changes["label"] = None if args.label.lower() in ("", "none") else args.label
    if args.note is not None:
        changes["note"] = args.note
    if args.tags is not None:
        changes["tags"] = parse_tags(",".join(args.tags))
    if not changes:
        option_error(args, "nothing to change: give --label, --note and/or --tags")
    journal.amend(entry_id, **changes)
    print(f"entry {short_id(entry_id)}: changed {', '.join(changes)}")
    return 0


def _confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (no answer, or no terminal: no)."""
    print(question + " [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete an entry for good: its face, photo and the personal models made from it (asks first unless --yes)."""
    from emoj_lib.journal import earlier_exports, exports_dir
    from emoj_lib.journal.report import entries_table, short_id
    from emoj_lib.personal import journal_model, models_made_from

    journal = open_journal(args.journal)
    entries = journal.read(pixels=False).entries
    entry_id = find_entry(entries, args.entry)
    about = entries_table(entries.loc[[entry_id]]).iloc[0]
    what = f"{about['when']}, {about['your label'] if about['your label'] != '-' else about['model']}"
    models = models_made_from(journal.folder, entry_id)
    also = f" and your personal model{'s' if len(models) > 1 else ''} {_names(models)} made from it" if models else ""
    if not args.yes and not _confirm(f"Delete entry {short_id(entry_id)} ({what}) with its face and photo{also}, "
                                     "for good?"):
        print("nothing deleted", file=sys.stderr)
        return 1
    removed = journal.delete(entry_id)
    print(f"entry {short_id(entry_id)} deleted")
    if removed:
        print(f"removed {_names(removed)}, made from it; the journal now reads faces with "
              f"{journal_model(journal.folder)[0].name} (`emoj journal personalize` makes a new version)")
    if earlier_exports(journal.folder):
        print(f"exports you made earlier in {exports_dir(journal.folder)} are your copies and are left as they are")
    return 0


def _names(models: list) -> str:
    return ", ".join(p.stem for p in models)


def cmd_export(args: argparse.Namespace) -> int:
    """Write the journal for other programs and people: a CSV without the faces, and a self-contained HTML report."""
    from emoj_lib.journal import export_csv
    from emoj_lib.journal.report import write_report

    journal = open_journal(args.journal)
    args.out.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = journal.read(pixels=not args.csv_only)
    written = [export_csv(data, args.out / "emoj-journal.csv")]
    if not args.csv_only:
        written.append(write_report(data.entries, args.out / "emoj-journal.html", charts=not args.no_charts))
    for path in written:
        print(path)
    return 0


def cmd_personalize(args: argparse.Namespace) -> int:
    """Fine-tune the user's model on their labelled entries (stage 3) and save a new version."""
    from emoj_lib.personal import personalize

    result = personalize(open_journal(args.journal), min_labelled=args.min_labelled, verbose=2,
                         callbacks=[epoch_progress()])
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
    add.add_argument("--model", type=cfg.model_path, default=None,
                     help=MODEL_ARG_HELP + " (default: your latest chosen personal model, else $EMOJ_MODEL, "
                          "else default)")

    ls = add_command(actions, "list", cmd_list, "the latest entries")
    journal_option(ls)
    ls.add_argument("--last", type=int, default=20, help="how many entries (default: 20)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.add_argument("--since", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                    help="only entries of this day or later (local time)")
    ls.add_argument("--until", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                    help="only entries of this day or earlier (local time)")
    ls.add_argument("--emotion", choices=EMOTIONS, default=None,
                    help="only entries of this emotion (your label, else the model's reading)")
    ls.add_argument("--tag", default=None, help="only entries with this tag")
    ls.add_argument("--search", default=None, metavar="WORDS", help="only entries whose note contains these words")

    pl = add_command(actions, "plot", cmd_plot, "draw a mood chart into a PNG")
    journal_option(pl)
    pl.add_argument("out", type=Path, help="the PNG file to write")
    pl.add_argument("--kind", choices=CHARTS, default="mood", help="which chart (default: mood)")

    ed = add_command(actions, "edit", cmd_edit, "change an entry's label, note or tags")
    journal_option(ed)
    ed.add_argument("entry", help="the entry's id, or its start (as emoj journal list shows it)")
    ed.add_argument("--label", default=None, help="your label (an emotion; none: clear it)")
    ed.add_argument("--note", default=None, help="the new note (\"\": clear it)")
    ed.add_argument("--tags", nargs="*", default=None, help="the new tags (none given: clear them)")

    de = add_command(actions, "delete", cmd_delete,
                     "delete an entry, its face, its photo and the personal models made from it, for good")
    journal_option(de)
    de.add_argument("entry", help="the entry's id, or its start (as emoj journal list shows it)")
    de.add_argument("--yes", action="store_true", help="do not ask for a confirmation")

    ex = add_command(actions, "export", cmd_export,
                     "write a CSV (no faces; safe in spreadsheets) and an HTML report (charts, weeks, faces)")
    journal_option(ex)
    ex.add_argument("out", type=Path, help="folder for emoj-journal.csv and emoj-journal.html (created)")
    ex.add_argument("--csv-only", action="store_true", help="write the CSV only")
    ex.add_argument("--no-charts", action="store_true", help="an HTML report without the charts (faster)")

    rp = add_command(actions, "repair", cmd_repair, "rebuild a damaged journal, keeping every readable row and a "
                     "backup of the original")
    journal_option(rp)

    pe = add_command(actions, "personalize", cmd_personalize, "stage 3: fine-tune your model on your labels")
    journal_option(pe)
    pe.add_argument("--min-labelled", type=int, default=MIN_LABELLED,
                    help=f"fewest labelled entries accepted (default: {MIN_LABELLED})")
