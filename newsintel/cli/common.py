"""What every command shares: the command factory, JSON output, progress, date arguments."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from newsintel.config import Settings
from newsintel.errors import NewsintelError

Handler = Callable[[argparse.Namespace, Settings], int]

if TYPE_CHECKING:
    from datetime import date

    from newsintel.progress import RichProgress

    # What ``add_subparsers`` returns; argparse names the class privately.
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]


def json_ready(value: Any) -> Any:
    """A report as plain JSON values: the one way every command turns a report into JSON.

    A report with ``to_dict()`` says what its JSON holds; other dataclasses give their
    fields; lists, tuples and dicts are converted item by item; anything else (dates,
    numbers, strings) is left to ``emit_json``, which writes dates with ``str``.
    """
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_ready(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    return value


def emit_json(value: Any, out: TextIO | None = None) -> None:
    """Print a report (or a list of them) as indented JSON."""
    out = out or sys.stdout  # looked up at call time, so redirected stdout is honoured
    json.dump(json_ready(value), out, indent=2, default=str, ensure_ascii=False)
    out.write("\n")


def progress(args: argparse.Namespace) -> RichProgress | None:
    """A rich progress bar on a terminal; nothing when piped or printing JSON."""
    if getattr(args, "json", False) or not sys.stderr.isatty():
        return None
    from newsintel.progress import RichProgress

    return RichProgress()


def iso_day(text: str) -> date:
    """An argparse type: a YYYY-MM-DD date."""
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def check_window(since: date, until: date | None) -> None:
    """``--since`` after ``--until`` is a ConfigError worded in the command's flags.

    Jobs check the same and speak of their values; this says it in the user's words.
    """
    from newsintel.errors import ConfigError

    if until is not None and since > until:
        raise ConfigError(f"--since {since} is after --until {until}")


def json_option(text: str = "print JSON") -> argparse.ArgumentParser:
    """A parent parser with ``--json`` (each command says what its JSON holds)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help=text)
    return parent


def _feeds_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--feeds", metavar="FILE", help="feeds TOML file (default data/feeds.toml)")
    return parent


# ``--feeds`` of every command that reads the feeds file.
FEEDS_OPTION = _feeds_option()


def command(
    subparsers: Subparsers,
    name: str,
    handler: Handler,
    summary: str,
    example: str,
    parents: Sequence[argparse.ArgumentParser] = (),
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        parents=list(parents),
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def missing(args: argparse.Namespace, settings: Settings) -> int:  # pragma: no cover
    raise NewsintelError("choose an action; see --help")
