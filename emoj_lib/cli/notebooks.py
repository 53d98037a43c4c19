"""``emoj notebooks``: execute the research notebooks with parameters into a report folder.

A progress bar per notebook and, inside it, per cell (papermill's), with ETAs, on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emoj_lib import config as cfg
from emoj_lib.cli.options import add_command, option_error
from emoj_lib.cli.progress import progress_bar


def _chosen(args: argparse.Namespace) -> dict[str, Path]:
    """Return the notebooks asked for (all by default), by name; a usage error names an unknown one."""
    from emoj_lib.notebooks import list_notebooks

    found = {p.stem: p for p in list_notebooks(args.notebooks_dir)}
    missing = [n for n in args.notebooks if n not in found]
    if missing:
        option_error(args, f"no notebook(s) {missing}; notebooks: {sorted(found)}")
    return {n: found[n] for n in (args.notebooks or found)}


def _copy(args: argparse.Namespace, chosen: dict[str, Path]) -> int:
    """Copy the chosen notebooks into ``--copy DIR``; a usage error names a file it would overwrite."""
    from emoj_lib.notebooks import copy_notebooks

    try:
        copies = copy_notebooks(args.copy, list(chosen), notebooks_dir=args.notebooks_dir)
    except FileExistsError as exc:
        option_error(args, str(exc))
    for path in copies:
        print(path)
    return 0


def _clean(chosen: dict[str, Path]) -> int:
    """Strip outputs, execution counts and metadata from the chosen notebooks, in place."""
    from emoj_lib.notebooks import clean_notebooks

    for path in clean_notebooks(chosen.values()):
        print(f"cleaned {path}")
    return 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    """Execute notebooks with parameters into ``--out``; a failing notebook does not stop the others."""
    from emoj_lib.notebooks import NotebookError, notebook_parameters, parse_assignments, run_all

    chosen = _chosen(args)
    if args.copy is not None:
        return _copy(args, chosen)
    if args.clean:
        return _clean(chosen)
    declared = {n: notebook_parameters(p) for n, p in chosen.items()}
    if args.list:
        for name, values in declared.items():
            print(name)
            for key, value in values.items():
                print(f"    {key} = {value!r}")
        return 0
    try:
        params = parse_assignments(args.parameter, declared)
    except ValueError as exc:
        option_error(args, str(exc))
    done, failures = {}, {}
    with progress_bar(len(chosen), "notebooks", unit="notebook") as bar:
        for name in chosen:
            bar.set_postfix_str(name)
            try:
                done.update(run_all(args.out, {name: params.get(name, {})}, notebooks=[name],
                                    notebooks_dir=args.notebooks_dir, timeout=args.timeout, progress=not bar.disable))
            except NotebookError as exc:
                failures.update(exc.failures)
            bar.update(1)
    for name, path in done.items():
        print(f"{name}: {path}")
    if failures:
        print(NotebookError(failures), file=sys.stderr)
        return 1
    return 0


def register(sub) -> None:
    """Add ``emoj notebooks``."""
    from emoj_lib.notebooks import NOTEBOOKS_DIR

    nb = add_command(sub, "notebooks", cmd_notebooks,
                     "execute the notebooks with parameters into reports/ (with the defaults: the full data, "
                     "which trains for hours; see --list and -p)")
    nb.add_argument("notebooks", nargs="*", help="notebook names without .ipynb (default: all)")
    nb.add_argument("-p", "--parameter", action="append", default=[], metavar="[NOTEBOOK:]KEY=VALUE",
                    help="a parameter for every notebook that declares it, or for one notebook")
    nb.add_argument("--out", type=Path, default=cfg.REPORTS_DIR, help="report folder (default: reports/)")
    nb.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help="where the notebooks are")
    nb.add_argument("--timeout", type=float, default=None, help="seconds allowed per cell (default: none)")
    nb.add_argument("--list", action="store_true", help="list the notebooks and their parameters, then stop")
    nb.add_argument("--copy", type=Path, metavar="DIR",
                    help="copy the notebooks into DIR (to open in Jupyter; works after pip install), then stop")
    nb.add_argument("--clean", action="store_true",
                    help="strip outputs, execution counts and metadata from the notebooks (in place), then stop")
