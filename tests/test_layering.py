"""The layering of README.md ("Layout"), checked on the source: who may import what.

Data flows one way: faces (CLI, app pages, scheduler) -> jobs -> steps -> store. Imports
are read with ``ast``, nothing is imported. Known
exceptions are listed below with the reason; an entry that no longer matches anything
fails too, so the lists only shrink.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 600

# The packages that do one step each; they take plain values and give plain values.
STEPS = ("analysis", "backfill", "digest", "embed", "feeds", "mail", "series", "themes", "topics")

# Modules over MAX_LINES, and why they may be for now (none today: keep it so).
LONG_MODULES: dict[str, str] = {}

# (module, what it imports) allowed against a rule below, and why (none today: keep it so).
ALLOWED: dict[tuple[str, str], str] = {}


def _sources(root: Path = ROOT) -> list[Path]:
    files = [*root.glob("newsintel/**/*.py"), *root.glob("app_pages/*.py"), root / "app.py"]
    return sorted(f for f in files if f.exists())


def _name(path: Path, root: Path = ROOT) -> str:
    return path.relative_to(root).as_posix()


@functools.cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"))


@functools.cache
def _file_imports(path: Path) -> tuple[frozenset[str], frozenset[str]]:
    """(every module imported, those imported at run time, not under TYPE_CHECKING).

    Walks statements only (imports are statements, also inside functions, branches and
    try blocks); descending into expressions would cost ten times as much.
    """
    every: set[str] = set()
    runtime: set[str] = set()

    def visit(nodes: list[ast.AST], type_only: bool) -> None:
        for node in nodes:
            names: set[str] = set()
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from newsintel import store` names a package too.
                names = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(list(node.body), True)
                visit(list(node.orelse), type_only)
                continue
            every.update(names)
            if not type_only:
                runtime.update(names)
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    visit(children, type_only)

    visit(list(_tree(path).body), False)
    return frozenset(every), frozenset(runtime)


def _imports(path: Path, *, runtime_only: bool = False) -> frozenset[str]:
    """Every absolute module a file imports, anywhere in it (functions included)."""
    every, runtime = _file_imports(path)
    return runtime if runtime_only else every


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _layer(path: Path, root: Path) -> str | None:
    """newsintel/<layer>/... or newsintel/<layer>.py -> layer; None elsewhere."""
    parts = path.relative_to(root).parts
    if parts[0] != "newsintel" or len(parts) < 2:
        return None
    return parts[1].removesuffix(".py")


@functools.cache
def _violations(root: Path = ROOT) -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in _sources(root):
        name, layer = _name(path, root), _layer(path, root)
        imports = _imports(path)
        page = name.startswith("app_pages/") or name == "app.py"
        face = layer == "cli" or page

        def bad(what: str, name: str = name) -> None:
            found.add((name, what))

        for module in imports:
            if _within(module, "duckdb") and layer != "store":
                bad("duckdb")
            if _within(module, "streamlit") and not (layer == "ui" or page):
                bad("streamlit")
            if _within(module, "feedparser") and layer != "feeds":
                bad("feedparser")
            if _within(module, "newsintel.store") and (layer in STEPS or face):
                bad("newsintel.store")
            if _within(module, "newsintel.jobs") and layer in STEPS:
                bad("newsintel.jobs")
            if face and any(_within(module, f"newsintel.{step}") for step in STEPS):
                bad("newsintel.<step>")
        # Composing = using the store and a step together; that is what jobs are for.
        runtime = _imports(path, runtime_only=True)
        if layer not in ("jobs", "store") and layer not in STEPS:
            uses_store = any(_within(m, "newsintel.store") for m in runtime)
            uses_step = any(_within(m, f"newsintel.{s}") for m in runtime for s in STEPS)
            if uses_store and uses_step:
                bad("compose")
    return frozenset(found)


def test_layers_import_only_downwards() -> None:
    unexpected = sorted(_violations() - set(ALLOWED))
    assert not unexpected, "layering broken (see README.md, Layout): " + ", ".join(
        f"{module} -> {what}" for module, what in unexpected
    )


def test_allowed_exceptions_are_still_needed() -> None:
    stale = sorted(set(ALLOWED) - _violations())
    assert not stale, f"fixed, so remove from ALLOWED: {stale}"


def test_no_module_is_over_the_size_limit() -> None:
    long = {
        _name(path): lines
        for path in _sources()
        if (lines := len(path.read_text("utf-8").splitlines())) > MAX_LINES
    }
    unexpected = {name: lines for name, lines in long.items() if name not in LONG_MODULES}
    assert not unexpected, f"split these (limit {MAX_LINES} lines): {unexpected}"


def test_long_module_exceptions_are_still_needed() -> None:
    short = [
        name
        for name in LONG_MODULES
        if len((ROOT / name).read_text("utf-8").splitlines()) <= MAX_LINES
    ]
    assert not short, f"now within {MAX_LINES} lines, so remove from LONG_MODULES: {short}"


def test_the_checker_finds_each_kind_of_violation(tmp_path: Path) -> None:
    """A small tree breaking each rule once, imports inside functions included."""
    mixed = "from newsintel.store import topics\nfrom newsintel.topics import build\n"
    files = {
        "newsintel/themes/rank.py": "def f():\n    from newsintel.store.themes import ids\n",
        "newsintel/topics/db.py": "import duckdb\n",
        "newsintel/series/page.py": "import streamlit as st\n",
        "newsintel/digest/parse.py": "import feedparser\n",
        "newsintel/cli/x.py": "from newsintel import store\nfrom newsintel.feeds import fetch\n",
        "newsintel/ui/mix.py": mixed,
        "app_pages/p.py": "import streamlit as st\nfrom newsintel.ui import data\n",
        "newsintel/jobs/ok.py": mixed,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, "utf-8")
    assert _violations(tmp_path) == {
        ("newsintel/themes/rank.py", "newsintel.store"),
        ("newsintel/topics/db.py", "duckdb"),
        ("newsintel/series/page.py", "streamlit"),
        ("newsintel/digest/parse.py", "feedparser"),
        ("newsintel/cli/x.py", "newsintel.store"),
        ("newsintel/cli/x.py", "newsintel.<step>"),
        ("newsintel/cli/x.py", "compose"),
        ("newsintel/ui/mix.py", "compose"),
    }
