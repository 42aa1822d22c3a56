"""The CLI contract: names, arguments, help with examples, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsintel.cli import build_parser, main

COMMANDS = [
    ["init"],
    ["ingest"],
    ["embed"],
    ["themes"],
    ["themes", "assign"],
    ["themes", "list"],
    ["series"],
    ["series", "import"],
    ["series", "list"],
    ["backfill"],
    ["backfill", "import"],
    ["analyze"],
    ["digest"],
    ["sql"],
    ["run"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "newsintel" in out.split("example:")[1]


def test_contract_arguments_exist() -> None:
    parser = build_parser()
    args = parser.parse_args(["ingest", "--feeds", "f.toml", "--json"])
    assert (args.feeds, args.json) == ("f.toml", True)
    args = parser.parse_args(
        [
            "series",
            "import",
            "p.csv",
            "--name",
            "n",
            "--date-col",
            "d",
            "--value-col",
            "v",
            "--unit",
            "u",
            "--kind",
            "attention",
        ]
    )
    assert (args.file, args.name, args.date_col, args.value_col, args.unit, args.kind) == (
        "p.csv",
        "n",
        "d",
        "v",
        "u",
        "attention",
    )
    args = parser.parse_args(
        ["analyze", "theme:a", "series:b", "--freq", "M", "--max-lag", "6", "--json"]
    )
    assert (args.x, args.y, args.freq, args.max_lag, args.json) == (
        "theme:a",
        "series:b",
        "M",
        6,
        True,
    )
    assert parser.parse_args(["analyze", "--all"]).all
    assert parser.parse_args(["digest", "--dry-run", "--out", "d"]).dry_run
    assert parser.parse_args(["digest", "--send", "--period", "daily", "--date", "2025-01-06"]).send
    assert parser.parse_args(["sql", "select 1", "--format", "csv"]).format == "csv"


def run_cli(*args: str, db: Path) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "newsintel", "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sql", "select * from nowhere"], "error: database"),
        (["series", "import", "missing.csv", "--name", "x"], "error: "),
        (["ingest", "--feeds", "missing.toml"], "error: "),
        (["analyze", "theme:a"], "error: give X and Y"),
        (["digest", "--send", "--date", "yesterday"], "error: "),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path: Path, args: list[str], message: str) -> None:
    code, _out, err = run_cli(*args, db=tmp_path / "none" / "db.duckdb")
    assert code == 1
    assert err.startswith(message), err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_argument_errors_exit_2(tmp_path: Path) -> None:
    code, _out, err = run_cli("analyze", "--freq", "Y", db=tmp_path / "db.duckdb")
    assert code == 2 and "invalid choice" in err


def test_help_does_not_import_heavy_libraries() -> None:
    probe = (
        "import sys; from newsintel.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'streamlit', 'statsmodels', 'sentence_transformers',"
        " 'pandas', 'matplotlib') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    ).stdout
    assert "HEAVY []" in out


def test_init_and_sql_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "db.duckdb")
    assert main(["--db", db, "init"]) == 0
    from newsintel.store.schema import available_migrations

    latest = len(available_migrations())
    assert f"schema version {latest}" in capsys.readouterr().out
    assert main(["--db", db, "sql", "select 1 as one, 'a,b' as two", "--format", "csv"]) == 0
    assert capsys.readouterr().out == 'one,two\n1,"a,b"\n'
    assert main(["--db", db, "sql", "select 1 as one", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"one": 1}]
    assert main(["--db", db, "sql", "select 1 as one"]) == 0
    assert "one" in capsys.readouterr().out
    assert main(["--db", db, "sql", "drop table articles"]) == 1
    assert "only read-only SELECT" in capsys.readouterr().err


def test_feeds_commands_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        '# my feeds\n[[feeds]]\nname = "Electrek"\nurl = "https://electrek.co/feed/"\n'
    )
    db = str(tmp_path / "db.duckdb")
    args = ["--db", db, "feeds"]
    assert (
        main([*args, "add", "https://example.org/rss", "--tags", "a,b", "--feeds", str(feeds)]) == 0
    )
    assert "# my feeds" in feeds.read_text()
    assert main([*args, "add", "https://example.org/rss", "--feeds", str(feeds)]) == 1
    assert "already in" in capsys.readouterr().err
    assert main([*args, "add", "not a url", "--feeds", str(feeds)]) == 1
    assert "neither an http(s) URL nor an existing file" in capsys.readouterr().err
    opml = tmp_path / "feeds.opml"
    assert main([*args, "export-opml", str(opml), "--feeds", str(feeds)]) == 0
    other = tmp_path / "other.toml"
    assert main([*args, "import-opml", str(opml), "--feeds", str(other)]) == 0
    assert "imported 2 of 2" in capsys.readouterr().out
    assert main([*args, "import-opml", str(opml), "--feeds", str(other)]) == 0
    assert "imported 0 of 2" in capsys.readouterr().out
    assert main([*args, "list", "--json", "--feeds", str(other)]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [f["name"] for f in listed] == ["Electrek", "example.org/rss"]
    assert listed[1]["tags"] == ["a", "b"]
    assert {f["status"] for f in listed} == {"never fetched"}


def test_feeds_list_shows_failures_and_staleness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timedelta

    from newsintel.config import load_settings
    from newsintel.jobs import feeds_health, ingest

    feeds = tmp_path / "feeds.toml"
    feeds.write_text('[[feeds]]\nname = "Broken"\nurl = "http://feeds.newsintel.invalid/rss"\n')
    settings = load_settings(env={}, db=str(tmp_path / "db.duckdb"))
    ingest(settings, feeds, force=True)
    later = datetime.utcnow() + timedelta(days=5)
    [row] = feeds_health(settings, feeds, now=lambda: later)
    assert row.status == "failed" and row.consecutive_failures == 1
    assert "unknown host" in (row.error or "")
    assert row.stale
    assert main(["--db", settings.db, "feeds", "list", "--feeds", str(feeds)]) == 0
    assert "failed (STALE)" in capsys.readouterr().out
