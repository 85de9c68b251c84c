"""The layering written in pyproject's import-linter contracts holds; sizes stay readable;
every distribution the sources import is declared."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_kept() -> None:
    exe = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" not in proc.stdout.split("Contracts:")[-1] or "0 broken" in proc.stdout


# --- sizes: functions short enough to read at once, modules small -----------------------------

SRC = ROOT / "src" / "hatchway"
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600
# Exceptions to the limits, each `path` (a module) or `path:function`: none since issue 18's
# split, and a new one needs a reason beside it (the test below fails on an entry that is no
# longer needed).
TOO_BIG_FOR_NOW: frozenset[str] = frozenset()


def oversized(root: Path) -> set[str]:
    """Modules over MAX_MODULE_LINES and functions (methods, nested ones) over
    MAX_FUNCTION_LINES under `root`, as `path` and `path:function` relative to it."""
    found: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            found.add(rel)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                if end - node.lineno + 1 > MAX_FUNCTION_LINES:
                    found.add(f"{rel}:{node.name}")
    return found


def test_no_function_over_80_lines_no_module_over_600() -> None:
    assert oversized(SRC) - TOO_BIG_FOR_NOW == set()


def test_the_allow_list_holds_only_what_is_still_too_big() -> None:
    assert TOO_BIG_FOR_NOW - oversized(SRC) == set(), "remove these from TOO_BIG_FOR_NOW"


def test_the_size_check_sees_functions_and_modules(tmp_path: Path) -> None:
    def body(lines: int) -> str:
        return "\n".join(f"    x{i} = {i}" for i in range(lines))

    long = body(MAX_FUNCTION_LINES).replace("\n", "\n    ")
    (tmp_path / "long.py").write_text(f"class C:\n    def method(self) -> None:\n    {long}\n")
    (tmp_path / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "fine.py").write_text(f"def f() -> None:\n{body(MAX_FUNCTION_LINES - 1)}\n")
    assert oversized(tmp_path) == {"long.py:method", "big.py"}


# --- every imported distribution is declared --------------------------------------------------


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {
        _normalized(re.split(r"[=<>!~\[; ]", d, maxsplit=1)[0]) for d in project["dependencies"]
    }


def imported_modules(root: Path) -> set[str]:
    """Absolute imports of third-party modules in the sources under `root` (also the ones
    inside functions)."""
    found: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return {m for m in found if m.split(".")[0] not in sys.stdlib_module_names | {"hatchway"}}


@functools.cache
def _files_of(dist: str) -> frozenset[Path]:
    d = importlib.metadata.distribution(dist)
    return frozenset(Path(str(d.locate_file(f))).resolve() for f in d.files or ())


def owners(module: str) -> set[str]:
    """The installed distributions that hold `module` (for a namespace package such as
    `google`, the ones holding the very submodule: protobuf, not googleapis' protos)."""
    candidates = importlib.metadata.packages_distributions().get(
        module.split(".", maxsplit=1)[0], []
    )
    spec = importlib.util.find_spec(module)
    if spec is None:
        return set()
    places = [Path(spec.origin).resolve()] if spec.has_location and spec.origin else []
    dirs = [Path(p).resolve() for p in spec.submodule_search_locations or ()]
    out = set()
    for dist in candidates:
        files = _files_of(dist)
        if any(p in files for p in places) or any(any(d in f.parents for f in files) for d in dirs):
            out.add(_normalized(dist))
    return out


def undeclared(modules: set[str], declared: set[str]) -> dict[str, set[str]]:
    """Imported module -> the distributions holding it, when none of them is declared."""
    return {m: found for m in sorted(modules) if not (found := owners(m)) & declared}


def test_every_imported_distribution_is_declared() -> None:
    assert undeclared(imported_modules(SRC), declared_distributions()) == {}


def test_the_dependency_check_sees_an_undeclared_distribution(tmp_path: Path) -> None:
    """pytest is installed (a dev tool) but not a dependency of Hatchway itself."""
    (tmp_path / "m.py").write_text("def f() -> None:\n    import pytest\n    import yaml\n")
    assert undeclared(imported_modules(tmp_path), declared_distributions()) == {
        "pytest": {"pytest"}
    }
