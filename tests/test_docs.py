"""Docs that stay true: settings, commands, tables, views and example queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsintel.cli import build_parser
from newsintel.config import describe_settings
from newsintel.store.sql import run_readonly_query

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SCHEMA = (ROOT / "docs" / "SCHEMA.md").read_text()
MIGRATIONS = "\n".join(
    p.read_text() for p in sorted((ROOT / "newsintel" / "store" / "migrations").glob("*.sql"))
)


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```bash", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block


@pytest.mark.parametrize("setting", describe_settings(), ids=lambda s: s[0])
def test_every_setting_is_documented_in_the_readme(setting: tuple[str, str, object, str]) -> None:
    _name, env, _default, _help = setting
    assert f"`{env}`" in README


def test_every_cli_command_is_in_the_readme() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"newsintel {name}" in README, name


def test_every_table_and_view_is_documented() -> None:
    tables = set(re.findall(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", MIGRATIONS))
    views = set(re.findall(r"CREATE VIEW (\w+)", MIGRATIONS))
    assert views and tables
    for name in views:
        assert f"### {name}" in SCHEMA or f"### v_theme_daily / {name}" in SCHEMA, name
    for name in tables | {"schema_version"}:
        assert f"| {name} |" in SCHEMA, name


def test_readme_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make (\w+)`", README)) | {"run", "test"}:
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_schema_examples_run_on_the_demo_database(demo_db) -> None:  # type: ignore[no-untyped-def]
    blocks = re.findall(r"```sql\n(.*?)```", SCHEMA, re.S)
    statements = [s for block in blocks for s in block.split(";") if s.strip()]
    assert len(statements) >= 7
    for statement in statements:
        result = run_readonly_query(demo_db.db, statement)
        assert result.columns, statement


def test_data_readme_names_every_bundled_series() -> None:
    data_readme = (ROOT / "data" / "README.md").read_text()
    for csv in (ROOT / "data" / "series").glob("*.csv"):
        assert csv.name in data_readme, csv.name


def test_readme_layout_table_matches_the_tree() -> None:
    """Every path in README's layout table exists, and every part of newsintel/ has a row."""
    table = README.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = {p.rstrip("/") for p in re.findall(r"`([\w./]+)`", table) if "/" in p or "." in p}
    missing = sorted(p for p in listed if not (ROOT / p).exists())
    assert not missing, f"README's layout names paths that do not exist: {missing}"
    parts = {
        f"newsintel/{p.name}"
        for p in (ROOT / "newsintel").iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py"))
    }
    assert not sorted(parts - listed), f"not in README's layout: {sorted(parts - listed)}"
