"""`newsintel digest`: build the digest email; write it or send it."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from newsintel.cli.common import command
from newsintel.config import Settings
from newsintel.errors import NewsintelError

if TYPE_CHECKING:
    from newsintel.cli.common import Subparsers


def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from newsintel.jobs import run_digest

    if args.date is not None:
        try:
            date.fromisoformat(args.date)
        except ValueError:
            raise NewsintelError(f"--date must be YYYY-MM-DD, got {args.date!r}") from None
    report = run_digest(
        settings,
        period=args.period,
        on_date=args.date,
        out_dir=Path(args.out) if args.out else None,
        send=args.send,
    )
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def add_digest(sub: Subparsers) -> None:
    """`newsintel digest`."""
    p = command(
        sub,
        "digest",
        cmd_digest,
        "build the digest email; write it or send it",
        "newsintel digest --dry-run --out digest-out/",
    )
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="write .eml and .html files only")
    mode.add_argument("--send", action="store_true", help="send over SMTP to the recipients")
    p.add_argument("--out", metavar="DIR", help="folder for --dry-run output")
    p.add_argument("--period", choices=["daily", "weekly"], default="weekly", help="digest period")
    p.add_argument(
        "--date", metavar="YYYY-MM-DD", help="a day inside the period (default: the latest)"
    )
