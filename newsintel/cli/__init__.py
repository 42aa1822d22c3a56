"""The ``newsintel`` command: parse arguments, call a job, print its report.

Command names and arguments are a contract that users and automation rely on. Every
error newsintel raises on purpose becomes one line on stderr and exit status 1, and so
does any other exception (its traceback only under ``--debug``);
argument errors exit with 2 (argparse). Heavy libraries are imported only inside the
commands that need them, so ``newsintel --help`` stays fast: each handler imports its
job when it runs (newsintel.jobs brings in pandas and scipy).

One module per command group registers its sub-parsers next to its handlers; this
module puts them together, in the order ``--help`` lists them, and maps errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from newsintel.cli import backfill, digest, feeds, mail, pipeline, series, sql, themes, topics
from newsintel.cli.common import Handler
from newsintel.config import load_settings
from newsintel.errors import NewsintelError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, with an example in every command's --help."""
    parser = argparse.ArgumentParser(
        prog="newsintel",
        description="Commodity-and-tech news intelligence: feeds, themes, prices, lead/lag.",
        epilog="example:\n  newsintel demo && newsintel themes list",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", help="database (overrides NEWSINTEL_DB)")
    parser.add_argument("--config", help="settings file (default newsintel.toml)")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an unexpected error"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    pipeline.add_init(sub)
    feeds.add_ingest(sub)
    mail.add_mail(sub)
    feeds.add_feeds(sub)
    pipeline.add_embed(sub)
    themes.add_themes(sub)
    topics.add_topics(sub)
    series.add_series(sub)
    backfill.add_backfill(sub)
    series.add_analyze(sub)
    digest.add_digest(sub)
    sql.add_sql(sub)
    pipeline.add_run(sub)
    pipeline.add_demo(sub)
    pipeline.add_schedule(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``newsintel`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "digest" and args.dry_run and not args.out:
            parser.error("digest --dry-run needs --out DIR")
        settings = load_settings(config_file=args.config, db=args.db)
        handler: Handler = args.handler
        return handler(args, settings)
    except NewsintelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: re-run the same command to finish", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug still gets one readable line
        if args.debug:
            traceback.print_exc()
        hint = "" if args.debug else " (run with --debug for the traceback)"
        print(
            f"error: newsintel {args.command} failed: {type(exc).__name__}: {exc}{hint}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
