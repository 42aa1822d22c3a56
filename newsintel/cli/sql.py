"""`newsintel sql`: one read-only query."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import TYPE_CHECKING

from newsintel.cli.common import command, emit_json
from newsintel.config import Settings

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import run_sql

    result = run_sql(settings, args.query, max_rows=args.max_rows)
    if args.format == "json":
        emit_json([dict(zip(result.columns, row, strict=True)) for row in result.rows])
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        from newsintel.cli.table import format_table

        print(format_table(result.columns, result.rows))
    if result.truncated:
        print(f"(showing the first {args.max_rows} rows)", file=sys.stderr)
    return 0


def add_sql(sub: Subparsers) -> None:
    """`newsintel sql`."""
    p = command(
        sub,
        "sql",
        cmd_sql,
        "run one read-only SQL query on the database",
        'newsintel sql "select * from v_theme_weekly limit 5" --format csv',
    )
    p.add_argument("query", metavar="QUERY", help="one SELECT statement")
    p.add_argument(
        "--format", choices=["table", "csv", "json"], default="table", help="output format"
    )
    p.add_argument("--max-rows", type=int, default=10_000, help="rows printed at most")
