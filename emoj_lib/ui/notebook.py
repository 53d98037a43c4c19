"""The source of ``notebooks/05_journal.ipynb``: a thin notebook that builds and shows :class:`JournalApp`.

Regenerate it after editing the cells below with ``python -m emoj_lib.ui.notebook`` (``--check`` exits 1
when the committed notebook differs; the tests run that check).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emoj_lib import config as cfg

__all__ = ["JOURNAL_NOTEBOOK", "journal_notebook", "write_journal_notebook"]

JOURNAL_NOTEBOOK = cfg.PROJECT_DIR / "notebooks" / "05_journal.ipynb"
"""Where the journal notebook is committed."""


_CELLS: list[tuple[str, str]] = [
    ("markdown", """\
# 05 · Your emotional journal

Take a photo of your face with the browser's camera (or upload one, or use a camera of this computer): emoJ finds
the face, reads one of seven emotions in it, and shows how sure it is. Confirm or correct the emotion, add a note,
and save: the entry goes into your journal (a CSV file in your journal folder), and the history below shows your
latest faces and your mood over time.

Run all cells, or open this notebook as an app without code: `.venv/bin/voila notebooks/05_journal.ipynb`.
The camera starts only when you ask; the photo goes from this page to the Python kernel on this computer and
nowhere else."""),
    ("parameters", """\
journal_dir = None  # your journal folder; None: $EMOJ_JOURNAL_DIR, else ~/emoj-journal
model_path = None  # the emotion model; None: $EMOJ_MODEL, else your latest personal model, else the shipped one
out_dir = None  # if set, the mood charts are also written there as PNG files (for reports)"""),
    ("code", """\
from emoj_lib.ui import JournalApp

app = JournalApp(journal_dir, model_path=model_path)
app"""),
    ("code", """\
import sys

import emoj_lib
from emoj_lib.cards import git_commit

if out_dir is not None:
    app.history.save_charts(out_dir)
print(f"emoj_lib {emoj_lib.__version__}, commit {git_commit()}, python {sys.executable}")"""),
]


def journal_notebook():
    """Return the journal notebook (an ``nbformat`` v4 notebook: no outputs, fixed cell ids, kernelspec python3)."""
    from emoj_lib.notebooks import build_notebook

    return build_notebook(_CELLS, "05")


def render_journal_notebook() -> str:
    """Return the text of the journal notebook as it is written to disk."""
    import nbformat

    return nbformat.writes(journal_notebook()) + "\n"


def write_journal_notebook(path: str | os.PathLike[str] = JOURNAL_NOTEBOOK) -> Path:
    """Write the journal notebook to ``path`` (default ``notebooks/05_journal.ipynb``); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_journal_notebook(), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Write the journal notebook, or check (``--check``) that the committed one is up to date."""
    parser = argparse.ArgumentParser(prog="python -m emoj_lib.ui.notebook", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the notebook differs from its source")
    parser.add_argument("--out", type=Path, default=JOURNAL_NOTEBOOK, help="the notebook file")
    args = parser.parse_args(argv)
    if args.check:
        if not args.out.is_file() or args.out.read_text(encoding="utf-8") != render_journal_notebook():
            print(f"out of date (run python -m emoj_lib.ui.notebook): {args.out}", file=sys.stderr)
            return 1
        return 0
    print(f"wrote {write_journal_notebook(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
