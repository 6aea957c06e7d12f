"""The shape of the house (docs/architecture.md): imports run one way; the core imports the core.

The import graph is read from the source with ``ast`` (module-level and function-level
imports alike), so an import moved into a function to dodge a circle is still seen.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mediaopt"
CORE = ROOT / "src" / "_core"

pytestmark = pytest.mark.skipif(
    not PACKAGE.is_dir(), reason="needs the source tree (src/mediaopt), not an installed wheel"
)


def _modules() -> dict[str, Path]:
    mods: dict[str, Path] = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(rel.parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def _resolve(name: str, mods: dict[str, Path]) -> str | None:
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every mediaopt module ``module`` imports, anywhere in its body (not the core)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names
            ]
        for t in targets:
            if t.startswith("mediaopt") and not t.startswith("mediaopt._core"):
                r = _resolve(t, mods)
                if r and r != module:
                    found.add(r)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return [*stack[stack.index(n) :], n]
            if n not in state and (cycle := visit(n)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_cycle_finder_sees_a_cycle() -> None:
    # the checker itself can fail: a planted circle is found
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_the_package() -> None:
    cycle = _find_cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


# Layers from the bottom up (docs/architecture.md). A module may import its own layer's
# modules and any layer below it, never one above.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("mediaopt.errors", "mediaopt._version", "mediaopt._validate", "mediaopt._atomic",
     "mediaopt._paths", "mediaopt.core"),
    ("mediaopt.bwe",),
    ("mediaopt.traces",),
    ("mediaopt.media",),
    ("mediaopt.policies",),
    ("mediaopt.sla",),
    ("mediaopt.replay",),
    ("mediaopt.rtp", "mediaopt.study"),
    ("mediaopt.tune", "mediaopt.integrations", "mediaopt.monitor"),
    ("mediaopt.report",),
    ("mediaopt.cli", "mediaopt.__main__"),
    # the package's front door and the names kept for code written before the rooms
    ("mediaopt", "mediaopt.encoders", "mediaopt.quality", "mediaopt.content",
     "mediaopt.profiles", "mediaopt.metrics", "mediaopt.peers"),
)  # fmt: skip


def _layer(module: str) -> int:
    best = -1
    best_len = -1
    for i, rooms in enumerate(LAYERS):
        for room in rooms:
            if (module == room or module.startswith(room + ".")) and len(room) > best_len:
                best, best_len = i, len(room)
    return best


def test_every_module_has_a_layer() -> None:
    missing = sorted(m for m in _modules() if _layer(m) < 0)
    assert not missing, f"modules outside every layer of docs/architecture.md: {missing}"


def test_imports_run_one_way() -> None:
    upward = [
        f"{m} (layer {_layer(m)}) imports {n} (layer {_layer(n)})"
        for m, deps in sorted(_graph().items())
        for n in sorted(deps)
        if _layer(n) > _layer(m)
    ]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_compatibility_names_are_not_used_inside_the_package() -> None:
    compat = {
        "mediaopt." + n for n in ("encoders", "quality", "content", "profiles", "metrics", "peers")
    }
    users = [
        f"{m} imports {n}"
        for m, deps in sorted(_graph().items())
        for n in deps & compat
        if m != "mediaopt"
    ]
    assert not users, "the package must import the rooms, not the old names: " + ", ".join(users)


_HEAVY_OK = re.compile(r"#.*\b(heavy|optional|extra)\b", re.IGNORECASE)


def test_function_level_imports_are_only_heavy_optional_dependencies() -> None:
    bad = []
    for module, path in _modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                )
                if any(n.startswith("mediaopt") for n in names) and not all(
                    n.startswith("mediaopt._core") for n in names
                ):
                    bad.append(f"{module}:{node.lineno} imports {names} inside {fn.name}()")
                    continue
                # a heavy or optional dependency: the comment on the line or the one above says so
                here = lines[node.lineno - 1]
                above = " ".join(lines[max(0, node.lineno - 4) : node.lineno - 1])
                if not (_HEAVY_OK.search(here) or _HEAVY_OK.search(above)):
                    bad.append(
                        f"{module}:{node.lineno} imports {names} inside {fn.name}() "
                        "without a comment naming it a heavy or optional dependency"
                    )
    assert not bad, "\n".join(bad)


def test_import_mediaopt_stays_light() -> None:
    code = (
        "import sys, mediaopt\n"
        "heavy = [m for m in ('pandas', 'matplotlib', 'av', 'aiortc', 'dask', 'optuna') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "", f"import mediaopt imported {out.stdout.strip()}"


def test_public_names_keep_working() -> None:
    import mediaopt as mo

    for name in ("GccEstimator", "Link", "Adaptation", "replay", "InputError", "LOST"):
        assert hasattr(mo, name), name
    from mediaopt import bwe, content, encoders, metrics, peers, policies, profiles, quality, traces

    assert mo.encoders is encoders and mo.replay.__module__ == "mediaopt.replay.loop"
    assert encoders.Encoder is mo.Encoder and encoders.replay_encoded is not None
    assert quality.psnr and content.synthetic and profiles.bundled and metrics.session_metrics
    assert peers.AiortcRemb and policies.load and traces.load and bwe.GccConfig


# ------------------------------------------------------------------ the core imports the core

# String literals (docstrings included) and comments, blanked before looking for imports so
# that prose naming a module is not taken for an import of it.
_CYTHON_NOISE = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|#[^\n]*'
)
_FROM = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+c?import[ \t]*(\([^)]*\)|[^\n]*)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*c?import[ \t]+([\w \t,.]+)", re.MULTILINE)
_DYNAMIC = re.compile(r"\b(__import__|import_module)\s*\(")


def _core_upward_imports(source: str) -> list[str]:
    """Imports of a mediaopt module other than mediaopt._core in Cython ``source``.

    Module and function level alike (``import``, ``cimport``, ``from ... (c)import``), and
    any dynamic import at all (``__import__``, ``importlib.import_module``), by line.
    """

    def blank(m: re.Match[str]) -> str:
        return "".join(c if c == "\n" else " " for c in m.group(0))

    code = _CYTHON_NOISE.sub(blank, source)
    found: list[str] = []

    def check(line: int, module: str) -> None:
        if module.split(".")[0] == "mediaopt" and not (
            module == "mediaopt._core" or module.startswith("mediaopt._core.")
        ):
            found.append(f"line {line}: {module}")

    for m in _FROM.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        base = m.group(1)
        if base == "mediaopt":
            for name in m.group(2).strip("()").split(","):
                if name.strip():
                    check(line, "mediaopt." + name.split()[0])
        else:
            check(line, base)
    for m in _IMPORT.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        for name in m.group(1).split(","):
            if name.strip():
                check(line, name.split()[0])
    for m in _DYNAMIC.finditer(code):
        found.append(f"line {code.count(chr(10), 0, m.start()) + 1}: dynamic {m.group(1)}()")
    return sorted(found, key=lambda hit: int(hit.split(":")[0].split()[1]))


def test_core_import_checker_sees_upward_imports() -> None:
    # the checker itself can fail: every planted upward import is found, prose is not
    planted = '''"""Prose may say: from mediaopt.bwe import GccConfig."""
from mediaopt._core._check import InputError
from mediaopt._core.gcc_config cimport GccParams
import numpy as np
# from mediaopt.replay import replay (a comment)

cdef class X:
    def f(self):
        from mediaopt._validate import (
            check_int,
        )
        return "import mediaopt.sla"

import mediaopt.traces.link as tl, mediaopt._core.link
from mediaopt import policies, _core
cimport mediaopt.media.quality
x = importlib.import_module("mediaopt.tune")
'''
    assert _core_upward_imports(planted) == [
        "line 9: mediaopt._validate",
        "line 14: mediaopt.traces.link",
        "line 15: mediaopt.policies",
        "line 16: mediaopt.media.quality",
        "line 17: dynamic import_module()",
    ]


def test_core_imports_only_the_core() -> None:
    sources = sorted([*CORE.glob("*.pyx"), *CORE.glob("*.pxd")])
    assert len(sources) > 20
    upward = [
        f"{p.relative_to(ROOT)} {hit}"
        for p in sources
        for hit in _core_upward_imports(p.read_text(encoding="utf-8"))
    ]
    assert not upward, "src/_core imports the package above it:\n" + "\n".join(upward)
