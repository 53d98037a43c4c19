"""The ``emoj`` command line: data sets, training, evaluation, prediction, tuning, notebooks and the journal.

Run ``emoj --help`` or ``emoj <command> --help``. One module per area registers its commands
(:mod:`~emoj_lib.cli.data`, :mod:`~emoj_lib.cli.train`, :mod:`~emoj_lib.cli.models`, :mod:`~emoj_lib.cli.tune`,
:mod:`~emoj_lib.cli.notebooks`, :mod:`~emoj_lib.cli.journal`, :mod:`~emoj_lib.cli.app`,
:mod:`~emoj_lib.cli.demo`): a ``register(sub)`` function adding its parsers, each with its handler
``cmd_*(args) -> int``. Options that set a configuration are derived from its dataclass
(:mod:`~emoj_lib.cli.options`), so the defaults live there.

Exit status: 0 done, 1 a failed step or bad data (one line ``emoj: error: ...`` naming the file, row or field),
2 bad arguments. Only the project's own errors (:class:`~emoj_lib.errors.EmojError`) and file-system errors that
name a path are turned into one line: anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from emoj_lib import __version__
from emoj_lib.errors import EmojError

__all__ = ["build_parser", "main", "quiet_libraries"]

COMMAND_MODULES = ("train", "models", "tune", "data", "notebooks", "journal", "app", "demo")
"""The modules of :mod:`emoj_lib.cli` whose ``register`` adds commands, in the order ``emoj --help`` lists them."""

PATH_ERRORS = (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)
"""File-system errors shown as one line (the message names the path)."""


def build_parser() -> argparse.ArgumentParser:
    """Return the ``emoj`` argument parser (every command of :data:`COMMAND_MODULES`)."""
    from importlib import import_module

    parser = argparse.ArgumentParser(prog="emoj", description="emoJ: an emotional journal and FER research tools")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log progress details, including TensorFlow's own messages")
    parser.add_argument("--version", action="version", version=f"emoj {__version__}",
                        help="print the version and stop")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                help="what to do (emoj COMMAND --help)")
    for name in COMMAND_MODULES:
        import_module(f"emoj_lib.cli.{name}").register(sub)
    return parser


def quiet_libraries(verbose: bool) -> None:
    """Silence TensorFlow, absl and Keras below errors unless ``verbose`` (call before TensorFlow is imported)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ INFO, WARNING and ERROR lines
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    for name in ("tensorflow", "absl", "keras", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:
        pass


def _one_line(exc: BaseException) -> str:
    """Return the one-line message of a project error or a file-system error."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc)


def main(argv: list[str] | None = None) -> int:
    """Run the ``emoj`` command line; return the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    quiet_libraries(args.verbose)
    try:
        return int(args.func(args) or 0)
    except (EmojError, *PATH_ERRORS) as exc:
        print(f"emoj: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emoj: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
