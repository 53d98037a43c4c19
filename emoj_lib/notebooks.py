"""Run the research notebooks with parameters: one notebook, or all of them into ``reports/``.

The committed ``notebooks/*.ipynb`` are the sources: edit them in Jupyter, then strip what a run leaves
(``emoj notebooks --clean``, :func:`clean_notebooks`) before committing; the tests check that
every notebook is clean and ruff lints their code.

Each notebook opens with a cell tagged ``parameters`` (the papermill convention). :func:`run_notebook`
executes a notebook with papermill, injecting new values for those parameters after that cell, and writes
the executed copy (outputs included; saved after every cell, so a long run can be watched). The kernel is
Jupyter's ``python3``, which resolves to the interpreter that runs this module (the project's virtual
environment).

From the command line (:mod:`emoj_lib.cli.notebooks`, the same defaults as :func:`run_all`)::

    emoj notebooks                                     # every notebook, on the full data, into reports/
    emoj notebooks 00_explore_data -p fer_path=my.csv
    emoj notebooks -p 02_stage2_transfer:photos_dir=~/faces -p epochs=5
    emoj notebooks --copy ~/emoj-notebooks             # copies to open in Jupyter (after pip install too)
    emoj notebooks --clean                             # strip outputs before committing
"""

from __future__ import annotations

import ast
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from emoj_lib import config as cfg
from emoj_lib.errors import EmojError

log = logging.getLogger(__name__)

NOTEBOOKS_DIR = cfg.NOTEBOOKS_DIR
"""The research notebooks (shipped with the package; ``notebooks/`` in a checkout)."""
KERNEL_NAME = "python3"


class NotebookError(EmojError):
    """One or more notebooks failed; the executed copies (with the error) are in ``outputs``."""

    def __init__(self, failures: Mapping[str, tuple[Path, BaseException]]) -> None:
        self.failures = dict(failures)
        lines = [f"{name}: {type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
                 f" (see {path})" for name, (path, exc) in self.failures.items()]
        super().__init__(f"{len(lines)} notebook(s) failed:\n" + "\n".join(lines))


def list_notebooks(folder: str | os.PathLike[str] = NOTEBOOKS_DIR) -> list[Path]:
    """Return the notebooks of a folder (``*.ipynb``, sorted by name, checkpoints excluded)."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"notebook folder not found: {root}")
    return sorted(p for p in root.glob("*.ipynb") if p.is_file())


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the parameters a notebook declares in its ``parameters`` cell, with their default values.

    Raises
    ------
    ValueError
        If the notebook has no cell tagged ``parameters``.

    """
    import nbformat

    nb = nbformat.read(Path(path), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ValueError(f"{path}: no code cell tagged 'parameters'")
    values: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                values[node.targets[0].id] = ast.unparse(node.value)
    return values


def _plain(value: Any) -> Any:
    """Return ``value`` with paths turned into strings (papermill writes literals of plain types)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    return value


KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
"""The kernel every emoJ notebook names (the environment's own Python)."""


def clean_notebook(nb: Any) -> Any:
    """Return a copy of a notebook as it is committed: the sources, cell ids and tags, nothing a run leaves.

    Code cells lose their outputs and execution counts; every cell keeps only its ``tags`` metadata; the
    notebook's metadata is reduced to the project's kernelspec (:data:`KERNELSPEC`) and the language name.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook (version 4), e.g. from ``nbformat.read(path, as_version=4)``; it is not modified.

    Returns
    -------
    nbformat.NotebookNode
        The clean copy.

    """
    import copy

    import nbformat

    out = copy.deepcopy(nb)
    out.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    for cell in out.cells:
        tags = cell.get("metadata", {}).get("tags")
        cell.metadata = nbformat.from_dict({"tags": list(tags)} if tags else {})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return out


def clean_notebooks(paths: Iterable[str | os.PathLike[str]], *, check: bool = False) -> list[Path]:
    """Rewrite notebooks as :func:`clean_notebook` makes them (or only report which would change).

    A notebook is clean when its file is exactly what ``nbformat.write`` writes for its clean copy, so a
    clean notebook saved again from Jupyter without running it gives no diff.

    Parameters
    ----------
    paths : iterable of str or PathLike
        The notebooks.
    check : bool
        Only report, write nothing.

    Returns
    -------
    list of Path
        The notebooks that were not clean (and, unless ``check``, have been rewritten).

    """
    import nbformat

    changed = []
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        clean = nbformat.writes(clean_notebook(nbformat.reads(text, as_version=4))) + "\n"
        if clean != text:
            changed.append(path)
            if not check:
                path.write_text(clean, encoding="utf-8")
    return changed


def run_notebook(
    path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
    progress: bool = False,
    cwd: str | os.PathLike[str] | None = None,
) -> Path:
    """Execute a notebook with parameters and write the executed copy.

    Parameters
    ----------
    path : str or PathLike
        The notebook.
    out_path : str or PathLike
        Where the executed notebook is written (its folder is created). It is written after every cell,
        and also when a cell fails (with the error in that cell's output).
    parameters : mapping, optional
        New values for parameters the notebook declares (paths are passed as strings).
    timeout : float, optional
        Seconds allowed per cell (None: no limit; training cells take hours on the full data).
    progress : bool
        Show a progress bar over the cells.
    cwd : str or PathLike, optional
        Working directory of the kernel (default: the caller's).

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    FileNotFoundError
        If the notebook does not exist.
    ValueError
        If a parameter is not declared in the notebook's ``parameters`` cell (the message lists those).
    papermill.PapermillExecutionError
        If a cell raises (the executed copy is written first).

    """
    import papermill

    path, out_path = Path(path), Path(out_path)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    parameters = dict(parameters or {})
    declared = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(f"{path.name} has no parameter(s) {unknown}; its parameters: {sorted(declared)}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    log.info("executing %s -> %s with %s", path, out_path, parameters)
    papermill.execute_notebook(
        str(path), str(out_path), parameters=_plain(parameters), kernel_name=KERNEL_NAME,
        execution_timeout=timeout, progress_bar=progress, cwd=None if cwd is None else str(cwd),
    )
    return out_path


def run_all(
    out_dir: str | os.PathLike[str] = cfg.REPORTS_DIR,
    parameters_by_notebook: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    notebooks: Iterable[str] | None = None,
    notebooks_dir: str | os.PathLike[str] = NOTEBOOKS_DIR,
    timeout: float | None = None,
    progress: bool = False,
) -> dict[str, Path]:
    """Execute every notebook (in name order) into ``out_dir/<name>.ipynb``; figures go to ``out_dir/<name>/``.

    A failing notebook does not stop the others; :class:`NotebookError` is raised at the end, naming
    each failure and its executed copy.

    Parameters
    ----------
    out_dir : str or PathLike
        The report folder (default ``reports/``).
    parameters_by_notebook : mapping, optional
        Parameters per notebook name (the file name without ``.ipynb``). A notebook's ``out_dir``
        parameter, if it declares one, defaults to ``out_dir/<name>``.
    notebooks : iterable of str, optional
        Run only these notebooks (names without ``.ipynb``).
    notebooks_dir : str or PathLike
        Where the notebooks are (default ``notebooks/``).
    timeout : float, optional
        Seconds allowed per cell.
    progress : bool
        Show a progress bar per notebook.

    Returns
    -------
    dict of str to Path
        The executed copy of every notebook.

    Raises
    ------
    ValueError
        If a notebook name (in ``notebooks`` or ``parameters_by_notebook``) does not exist.
    NotebookError
        If any notebook failed.

    """
    out_dir = Path(out_dir)
    found = {p.stem: p for p in list_notebooks(notebooks_dir)}
    chosen = list(found) if notebooks is None else list(notebooks)
    params = dict(parameters_by_notebook or {})
    unknown = sorted((set(chosen) | set(params)) - set(found))
    if unknown:
        raise ValueError(f"no notebook(s) {unknown} in {notebooks_dir}; notebooks: {sorted(found)}")
    done: dict[str, Path] = {}
    failures: dict[str, tuple[Path, BaseException]] = {}
    for name in chosen:
        values = dict(params.get(name, {}))
        if "out_dir" in notebook_parameters(found[name]):
            values.setdefault("out_dir", out_dir / name)
        out_path = out_dir / f"{name}.ipynb"
        try:
            done[name] = run_notebook(found[name], out_path, values, timeout=timeout, progress=progress)
        except Exception as exc:  # every failure is reported at the end
            log.error("%s failed: %s", name, exc)
            failures[name] = (out_path, exc)
    if failures:
        raise NotebookError(failures)
    return done


def copy_notebooks(
    dest: str | os.PathLike[str],
    notebooks: Iterable[str] | None = None,
    *,
    notebooks_dir: str | os.PathLike[str] = NOTEBOOKS_DIR,
) -> list[Path]:
    """Copy the research notebooks (shipped with the package) into a folder of your own, to open and edit.

    Parameters
    ----------
    dest : str or PathLike
        The folder (created if needed).
    notebooks : iterable of str, optional
        Only these notebooks (names without ``.ipynb``; default: all).
    notebooks_dir : str or PathLike
        Where the notebooks are (default: the shipped ones, :data:`NOTEBOOKS_DIR`).

    Returns
    -------
    list of Path
        The copies.

    Raises
    ------
    ValueError
        If a notebook name does not exist.
    FileExistsError
        If a copy would overwrite a file (nothing is copied then).

    """
    import shutil

    found = {p.stem: p for p in list_notebooks(notebooks_dir)}
    chosen = list(found) if notebooks is None else list(notebooks)
    unknown = sorted(set(chosen) - set(found))
    if unknown:
        raise ValueError(f"no notebook(s) {unknown} in {notebooks_dir}; notebooks: {sorted(found)}")
    dest = Path(dest).expanduser()
    targets = [dest / found[name].name for name in chosen]
    existing = [str(t) for t in targets if t.exists()]
    if existing:
        raise FileExistsError(f"not overwriting {', '.join(existing)}")
    dest.mkdir(parents=True, exist_ok=True)
    for name, target in zip(chosen, targets, strict=True):
        shutil.copyfile(found[name], target)
    return targets


def _value(text: str) -> Any:
    """Parse a command-line value as a Python literal (number, None, list, dict...), else keep the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_assignments(items: Iterable[str], declared: Mapping[str, Iterable[str]]) -> dict[str, dict[str, Any]]:
    """Turn ``KEY=VALUE`` and ``NOTEBOOK:KEY=VALUE`` strings into parameters per notebook.

    ``KEY=VALUE`` goes to every notebook that declares ``KEY``; ``NOTEBOOK:KEY=VALUE`` to that notebook.
    A value is read as a Python literal when it is one (``5``, ``None``, ``{"width": 16}``), else as a string.

    Raises
    ------
    ValueError
        On an item without ``=``, an unknown notebook, or a parameter no (chosen) notebook declares.

    """
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        target, sep, text = item.partition("=")
        if not sep or not target:
            raise ValueError(f"expected KEY=VALUE or NOTEBOOK:KEY=VALUE, got {item!r}")
        notebook, _, key = target.rpartition(":")
        if notebook and notebook not in declared:
            raise ValueError(f"no notebook {notebook!r}; notebooks: {sorted(declared)}")
        names = [notebook] if notebook else [n for n, keys in declared.items() if key in keys]
        if not names or key not in declared[names[0]]:
            where = notebook or "any notebook run"
            raise ValueError(f"parameter {key!r} is not declared by {where}")
        for name in names:
            out.setdefault(name, {})[key] = _value(text)
    return out
