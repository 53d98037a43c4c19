"""``emoj app``: the journal app in the browser, served by Voila (no code shown) or JupyterLab (``--lab``).

The app runs from a copy of ``notebooks/05_journal.ipynb`` in a temporary folder, so using it never changes the
tracked notebook (JupyterLab autosaves, and writes ``.ipynb_checkpoints/``, beside the notebook it opens). The
journal folder and the model reach the kernel through ``$EMOJ_JOURNAL_DIR`` and ``$EMOJ_MODEL``. Under Voila the
page uses the ``emoj`` template (``emoj_lib/ui/jupyter/voila/templates/emoj``): a loading message while the kernel
starts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import MODEL_ARG_HELP, add_command, journal_option

JUPYTER_DATA = Path(__file__).resolve().parent.parent / "ui" / "jupyter"
"""The package's Jupyter data folder (Voila finds the ``emoj`` template there through ``$JUPYTER_PATH``)."""


def journal_notebook() -> Path:
    """Return the journal notebook of this installation (``notebooks/05_journal.ipynb``)."""
    from emoj_lib.notebooks import NOTEBOOKS_DIR

    return NOTEBOOKS_DIR / "05_journal.ipynb"


def app_command(notebook: Path, *, lab: bool, port: int | None, browser: bool) -> list[str]:
    """Return the command that serves ``notebook``: Voila with the ``emoj`` template, or JupyterLab."""
    python = sys.executable
    if lab:
        command = [python, "-m", "jupyterlab", str(notebook), f"--ServerApp.root_dir={notebook.parent}"]
        if os.geteuid() == 0:
            command.append("--ServerApp.allow_root=True")
    else:
        command = [python, "-m", "voila", str(notebook), "--template=emoj", "--Voila.ip=127.0.0.1",
                   "--show_tracebacks=False"]
    if port:
        command.append(f"--{'ServerApp' if lab else 'Voila'}.port={port}")
    if not browser:
        command.append("--no-browser")
    return command


def app_environment(journal: Path | None, model: Path | None) -> dict[str, str]:
    """Return the server's environment: the journal folder and model for the kernel, the ``emoj`` template."""
    env = dict(os.environ)
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(JUPYTER_DATA), env.get("JUPYTER_PATH", "")]))
    if journal is not None:
        env["EMOJ_JOURNAL_DIR"] = str(Path(journal).expanduser().resolve())
    if model is not None:
        env["EMOJ_MODEL"] = str(Path(model).expanduser().resolve())
    return env


def cmd_app(args: argparse.Namespace) -> int:
    """Serve the journal app from a copy of its notebook until the server stops (Ctrl-C)."""
    with tempfile.TemporaryDirectory(prefix="emoj-app-") as folder:
        copy = Path(folder) / "journal.ipynb"
        shutil.copyfile(journal_notebook(), copy)
        copy.chmod(0o600)
        command = app_command(copy, lab=args.lab, port=args.port, browser=not args.no_browser)
        print(f"emoj app: {'JupyterLab' if args.lab else 'Voila'} serves a copy of the journal notebook "
              f"({copy}); stop it with Ctrl-C", file=sys.stderr)
        try:
            return subprocess.call(command, env=app_environment(args.journal, args.model), cwd=folder)
        except KeyboardInterrupt:
            return 0


def register(sub) -> None:
    """Add ``emoj app``."""
    app = add_command(sub, "app", cmd_app,
                      "the journal app in your browser (Voila; --lab: as a notebook in JupyterLab)")
    journal_option(app)
    app.add_argument("--model", type=cfg.model_path, default=None,
                     help=MODEL_ARG_HELP + " (default: your latest chosen personal model, else $EMOJ_MODEL, "
                          "else default)")
    app.add_argument("--lab", action="store_true", help="open it as a notebook in JupyterLab instead of Voila")
    app.add_argument("--port", type=int, default=None, help="the server's port (default: the server's own)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser (print the address only)")
