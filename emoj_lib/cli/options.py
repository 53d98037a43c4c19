"""Command-line options derived from the configuration dataclasses, so that every default lives in one place.

:func:`add_config_options` adds an option per scalar field of a dataclass (``TrainConfig``, ``TransferConfig``...):
its type from the annotation, its help from the class docstring's ``Attributes`` section, its default shown from
the dataclass. Options the user does not give are left out of the namespace (``argparse.SUPPRESS``), so
:func:`config_from_args` builds the configuration with the dataclass's own defaults for them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from emoj_lib import config as cfg

__all__ = [
    "add_command",
    "add_config_options",
    "attribute_help",
    "config_from_args",
    "given",
    "journal_option",
    "key_value",
    "option_error",
    "signature_default",
]


MODEL_ARG_HELP = "a .keras model with its card beside it, or a shipped model: " + ", ".join(cfg.SHIPPED_MODELS)
"""Help of every model argument (they take a path or a shipped model's name, :func:`emoj_lib.config.model_path`)."""

def attribute_help(cls: type) -> dict[str, str]:
    """Return the first sentence of each attribute's description in a numpy-style ``Attributes`` section.

    A heading line may name several attributes (``a, b, c``) and a type (``name : int``); the description is
    the indented lines below it.
    """
    doc = (cls.__doc__ or "").expandtabs()
    lines = doc.splitlines()
    out: dict[str, str] = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Attributes") + 2
    except StopIteration:
        return out
    indent = len(lines[start - 2]) - len(lines[start - 2].lstrip())
    names: list[str] = []
    text: list[str] = []

    def flush() -> None:
        sentence = re.split(r"(?<=[.;])\s", " ".join(text).strip(), maxsplit=1)[0].rstrip(".;").replace("``", "")
        if sentence[1:2].islower():
            sentence = sentence[:1].lower() + sentence[1:]
        for name in names:
            out.setdefault(name, sentence)

    for line in lines[start:]:
        if not line.strip():
            continue
        level = len(line) - len(line.lstrip())
        if level < indent or (level == indent and line.strip().endswith("---")):
            break
        if level == indent:
            flush()
            names, text = [n.strip() for n in line.split(":")[0].split(",")], []
        else:
            text.append(line.strip())
    flush()
    return out


def _scalar(annotation: Any) -> tuple[type | None, bool]:
    """Return ``(type, optional)`` for ``int``, ``float``, ``str``, ``bool`` or ``X | None``; ``(None, False)`` else."""
    optional = False
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(args) < len(typing.get_args(annotation))
        annotation = args[0] if len(args) == 1 else None
    return (annotation, optional) if annotation in (int, float, str, bool) else (None, False)


def _optional(kind: type) -> Callable[[str], Any]:
    """Return an argparse type reading ``kind`` or the word ``none``."""
    def parse(text: str) -> Any:
        return None if text.lower() == "none" else kind(text)

    parse.__name__ = kind.__name__  # argparse names the type in "invalid int value"
    return parse


def add_config_options(parser: argparse.ArgumentParser, cls: type, *, only: Iterable[str] | None = None,
                       skip: Iterable[str] = (), choices: Mapping[str, Iterable[str]] | None = None,
                       help: Mapping[str, str] | None = None) -> list[str]:
    """Add an option ``--field-name`` for each scalar field of the dataclass ``cls``; return the field names.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        Where the options go (an argument group works too).
    cls : type
        A dataclass; fields that are not ``int``, ``float``, ``str``, ``bool`` (or one of them ``| None``) are left
        out (e.g. ``augmentation``, ``hyperparameters``: the command adds its own option for them).
    only, skip : iterable of str
        Fields to include (default: all scalar fields), fields to leave out.
    choices : mapping, optional
        Allowed values per field.
    help : mapping, optional
        Help per field, instead of the docstring's.

    Notes
    -----
    A ``bool`` field that defaults to False becomes a flag (``--drop-leaking``); one that defaults to True becomes
    ``--field/--no-field``. An optional field also accepts ``none``.
    """
    hints = typing.get_type_hints(cls)
    docs = {**attribute_help(cls), **(help or {})}
    chosen = set(only) if only is not None else None
    added = []
    for f in dataclasses.fields(cls):
        kind, optional = _scalar(hints[f.name])
        if kind is None or f.name in set(skip) or (chosen is not None and f.name not in chosen):
            continue
        default = _field_default(f)
        flag = "--" + f.name.replace("_", "-")
        words = docs.get(f.name, f.name.replace("_", " "))
        options: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS}
        if kind is bool:
            options["action"] = "store_true" if not default else argparse.BooleanOptionalAction
            options["help"] = words if not default else f"{words} (default: yes)"
        else:
            options["type"] = _optional(kind) if optional else kind
            shown = "none" if default is None else default
            options["help"] = f"{words} (default: {shown}{'; none: off' if optional and default is not None else ''})"
            options["metavar"] = {int: "N", float: "X", str: "TEXT"}[kind]
            if choices and f.name in choices:
                options["choices"] = list(choices[f.name])
                options.pop("metavar")
        parser.add_argument(flag, **options)
        added.append(f.name)
    return added


def _field_default(f: dataclasses.Field) -> Any:
    """Return the default value of a dataclass field (calling its factory); a field without one is an error."""
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    raise TypeError(f"field {f.name!r} has no default: it cannot become an option")


def config_from_args(cls: type, args: argparse.Namespace, **values: Any) -> Any:
    """Return ``cls(...)`` from the options the user gave (others keep the dataclass defaults) and ``values``.

    A value the dataclass refuses (its ``__post_init__`` raises ``ValueError``) is reported as a usage error of the
    command (exit status 2), naming the option.
    """
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if f.name in vars(args)}
    try:
        return cls(**{**given, **values})
    except (ValueError, TypeError) as exc:
        option_error(args, str(exc))


def option_error(args: argparse.Namespace, message: str) -> typing.NoReturn:
    """Stop with a usage error of the command being run (its usage line and ``message``, exit status 2)."""
    parser: argparse.ArgumentParser | None = getattr(args, "parser", None)
    if parser is None:
        raise SystemExit(f"emoj: error: {message}")
    parser.error(message)


def key_value(item: str) -> tuple[str, Any]:
    """Parse ``KEY=VALUE`` (the value as JSON when it parses, else a string); an argparse type."""
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{item!r} is not KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def journal_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--journal FOLDER`` (default: ``$EMOJ_JOURNAL_DIR`` or ``~/emoj-journal``)."""
    parser.add_argument("--journal", type=Path, default=None, metavar="FOLDER",
                        help="journal folder (default: $EMOJ_JOURNAL_DIR or ~/emoj-journal)")


def add_command(subparsers: Any, name: str, handler: Callable[[argparse.Namespace], int] | None, help: str,
                **options: Any) -> argparse.ArgumentParser:
    """Add a command: its parser knows its handler (``args.func``) and itself (``args.parser``, for usage errors)."""
    parser = subparsers.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".", **options)
    parser.set_defaults(func=handler, parser=parser)
    return parser


def signature_default(func: Callable[..., Any], name: str) -> Any:
    """Return the default value of a function's parameter (for help texts: the default stays in the function)."""
    import inspect

    return inspect.signature(func).parameters[name].default


def given(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """Return the options among ``names`` that the user gave (those added with ``default=argparse.SUPPRESS``)."""
    return {name: getattr(args, name) for name in names if name in vars(args)}
