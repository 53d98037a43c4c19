"""Guards on the shape of the code: ruff (with a complexity limit of 12), short functions, and mypy."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "emoj_lib"
MAX_LINES = 80
"""The longest a function in emoj_lib may be, in lines from `def` to its end, its docstring not counted."""


def function_lengths(path: Path) -> list[tuple[str, int]]:
    """Return ``("file:line name", lines)`` for every function of a module (methods and nested ones included)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = node.end_lineno - node.lineno + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                lines -= first.end_lineno - first.lineno + 1
            out.append((f"{path.name}:{node.lineno} {node.name}", lines))
    return out


def test_function_lengths_count_code_lines_not_the_docstring(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(3))
    path = tmp_path / "m.py"
    path.write_text(f'def f():\n    """Doc.\n\n    More.\n    """\n{body}\n\n\nclass C:\n'
                    f'    def g(self):\n        def h():\n            return 1\n        return h\n')
    assert sorted(function_lengths(path)) == [("m.py:1 f", 4), ("m.py:12 g", 4), ("m.py:13 h", 2)]


def test_no_function_in_the_library_is_over_80_lines():
    long = [f"{path.parent.relative_to(ROOT)}/{name}: {n} lines" for path in sorted(LIBRARY.rglob("*.py"))
            for name, n in function_lengths(path) if n > MAX_LINES]
    assert not long, "split these functions:\n" + "\n".join(long)


def test_ruff_passes_with_the_complexity_limit():
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_is_configured_with_the_complexity_limit():
    import tomllib

    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"] and lint["mccabe"]["max-complexity"] == 12


@pytest.mark.slow
def test_mypy_passes_on_the_library():
    done = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
