"""``newsintel backfill gkg``: GDELT's Global Knowledge Graph files -> stories.

Reads the master file list, picks the period's GKG files that are not stored yet,
runs ``backfill.gkg.process_file`` on each (a process pool, or Ray tasks with
``--engine ray``) and stores every finished shard through the same identity /
near-duplicate path as every other backfill, origin ``gdelt-gkg``. The driver is the
single DuckDB writer and stores files in stamp order, whatever order they finish in,
so both engines give the same stories and story groups. A file's 'stored' row is
written in the transaction that stores its stories: kill -9 and a re-run give the
uninterrupted result, and no stored file is read again (a shard written before the
kill is used as it is).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from newsintel.backfill.gkg import FileResult, MasterEntry, MasterList
from newsintel.config import Settings
from newsintel.jobs import NoProgress, Progress, _exit_with_parent, init_db, utcnow
from newsintel.jobs.publish import publishes
from newsintel.models import Article
from newsintel.store import open_db

if TYPE_CHECKING:
    from newsintel.store.gkg import GkgArticle

ORIGIN = "gdelt-gkg"
# Seconds allowed to download one GKG file (they are 5 to 20 MB).
FILE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class GkgFailure:
    """A file of the period that is not stored, and why (its status and the error)."""

    url: str
    status: str
    error: str


@dataclass(frozen=True)
class GkgReport:
    """What one ``backfill gkg`` run did."""

    since: str
    until: str
    engine: str
    themes: tuple[str, ...]
    files: int  # GKG files of the period in the master list
    already_stored: int  # of those, stored by an earlier run (not read again)
    stored: int  # stored by this run
    failed: tuple[GkgFailure, ...]
    master_bad_lines: tuple[str, ...]  # master list lines that do not parse (first 20)
    bytes_read: int
    rows_read: int
    rows_bad: int  # ragged rows and bad dates, skipped
    rows_kept: int  # rows matching a theme
    stories_added: int
    shards_reused: int  # shards of an interrupted run stored without a new download
    out_dir: str
    dashboard: str | None  # Ray's dashboard, when --engine ray started or found one
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_period(since: str, until: str) -> tuple[datetime, datetime]:
    """[start, end) from two dates (``until`` inclusive) or ISO date-times."""
    from newsintel.errors import ConfigError

    def one(text: str, name: str) -> tuple[datetime, bool]:
        try:
            return datetime.fromisoformat(text.strip()), "T" in text or " " in text.strip()
        except ValueError:
            raise ConfigError(f"{name} {text!r} is not a date (YYYY-MM-DD)") from None

    start, _ = one(since, "since")
    end, timed = one(until, "until")
    if not timed:
        end += timedelta(days=1)  # a date names the whole day
    if start.tzinfo or end.tzinfo:
        raise ConfigError("since and until are UTC: give them without a time zone")
    if end <= start:
        raise ConfigError(f"until {until} is before since {since}")
    return start, end


def fetch_master(settings: Settings) -> MasterList:
    """The parsed master file list from ``settings.gkg_master_url``."""
    import httpx

    from newsintel.backfill.gkg import parse_master
    from newsintel.errors import BackfillError

    url = settings.gkg_master_url
    try:
        response = httpx.get(url, timeout=settings.gdelt_timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise BackfillError(f"GKG master list {url}: {type(exc).__name__}: {exc}") from None
    if response.status_code != 200:
        raise BackfillError(f"GKG master list {url}: HTTP {response.status_code}")
    return parse_master(response.text)


def _articles(
    result: FileResult, fetched_at: datetime
) -> tuple[list[tuple[str, str, str]], list[Article], list[GkgArticle]]:
    from newsintel.backfill.gkg import read_shard
    from newsintel.feeds.normalise import article_from_fields, title_from_url
    from newsintel.feeds.sources import outlet_from_url
    from newsintel.store.gkg import GkgArticle

    if not result.shard or not result.kept:
        return [], [], []
    table = read_shard(result.shard)
    outlets: dict[str, tuple[str, str, str]] = {}
    articles: list[Article] = []
    details: list[GkgArticle] = []
    for url, title, seen_at, tone, themes, codes, file in zip(
        *(table.column(name).to_pylist() for name in _SHARD_COLUMNS), strict=True
    ):
        derived = not title
        outlet = outlet_from_url(url)
        article = article_from_fields(
            source_id=outlet[0],
            url=url,
            title=title or title_from_url(url),
            text="",
            published_at=seen_at,
            fetched_at=fetched_at,
            origin=ORIGIN,
            title_derived=derived,
        )
        if article is not None:
            outlets.setdefault(outlet[0], outlet)
            articles.append(article)
            details.append(GkgArticle(article.article_id, tone, codes, themes, file))
    return list(outlets.values()), articles, details


_SHARD_COLUMNS = ("url", "title", "seen_at", "tone", "themes", "gkg_themes", "file")


@publishes
def backfill_gkg(
    settings: Settings,
    *,
    since: str,
    until: str,
    themes: Sequence[str] = (),
    engine: str = "local",
    ray_address: str | None = None,
    out_dir: Path | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> GkgReport:
    """Backfill the period's GKG rows of ``themes`` (all tracked themes when empty).

    Shards go to ``out_dir`` (default: ``gkg-shards`` beside the database); on a Ray
    cluster it must be a folder every node can write and the driver can read.
    """
    from newsintel.backfill.gkg import STORED, select_files, theme_filter
    from newsintel.errors import ConfigError, ThemeError
    from newsintel.scale.files import ENGINES, run_local, run_ray
    from newsintel.store.gkg import FileState, file_states, record_file, store_file
    from newsintel.themes.definitions import load_themes

    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r}: choose one of {', '.join(ENGINES)}")
    start, end = parse_period(since, until)
    tracked = load_themes(Path(settings.themes_file))
    by_name = {t.theme_id: t for t in tracked}
    unknown = [name for name in themes if name not in by_name]
    if unknown:
        raise ThemeError(f"unknown theme(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    chosen = [by_name[n] for n in themes] if themes else tracked
    spec = theme_filter(chosen)
    out = (out_dir or Path(settings.db).resolve().parent / "gkg-shards").resolve()
    started = time.perf_counter()
    progress = progress or NoProgress()
    init_db(settings)
    dashboard = None
    ray = None
    if engine == "ray":
        from newsintel.scale.cluster import connect

        ray, dashboard = connect(ray_address)
    master = fetch_master(settings)
    period = select_files(master.entries, start, end)
    with open_db(settings.db) as con:
        states = file_states(con, [e.url for e in period])
    todo = [e for e in period if e.url not in states or states[e.url].status != STORED]
    out.mkdir(parents=True, exist_ok=True)
    if engine == "ray":
        results = run_ray(todo, spec, str(out), FILE_TIMEOUT_S, ray)
    else:
        results = run_local(
            todo,
            spec,
            str(out),
            FILE_TIMEOUT_S,
            workers=workers,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )
    totals = dict.fromkeys(("bytes", "rows", "bad", "kept", "added", "reused", "stored"), 0)
    failed: list[GkgFailure] = []
    finished: dict[str, FileResult] = {}
    order = iter(todo)
    upcoming: MasterEntry | None = next(order, None)
    fetched_at = utcnow()
    # Ray's dashboard goes in the step's name: on the bar and the JSON lines while it runs.
    label = f"GKG files ({engine}{f', dashboard {dashboard}' if dashboard else ''})"
    progress.start(label, len(todo))
    with open_db(settings.db) as con:
        for _entry, result in results:
            finished[result.url] = result
            # Store in stamp order: near-duplicate grouping depends on what is stored
            # first, and both engines must give the same story groups.
            while upcoming is not None and upcoming.url in finished:
                current = finished.pop(upcoming.url)
                state = FileState(
                    url=upcoming.url,
                    stamp=upcoming.stamp,
                    status=STORED if current.status == "parsed" else current.status,
                    error=current.error,
                    bytes=current.bytes_read,
                    rows_read=current.rows,
                    rows_bad=current.bad_rows,
                    rows_kept=current.kept,
                    stories_added=0,
                    attempts=1,
                )
                now = utcnow()
                if current.status == "parsed":
                    outlets, articles, details = _articles(current, fetched_at)
                    totals["added"] += store_file(con, state, outlets, articles, now, details)
                    totals["stored"] += 1
                    totals["reused"] += current.reused
                    if current.shard:
                        Path(current.shard).unlink(missing_ok=True)
                else:
                    record_file(con, state, now)
                    failed.append(GkgFailure(upcoming.url, current.status, current.error or ""))
                totals["bytes"] += current.bytes_read
                totals["rows"] += current.rows
                totals["bad"] += current.bad_rows
                totals["kept"] += current.kept
                progress.advance(1)
                # Files done / total and the ETA are the bar's; the totals go in its text
                # where the progress has one (RichProgress.describe; the Protocol has not).
                describe = getattr(progress, "describe", None)
                if describe is not None:
                    describe(
                        f"{label}: {totals['kept']:,} rows kept, "
                        f"{totals['bytes'] / 1e6:,.1f} MB read"
                    )
                upcoming = next(order, None)
    progress.finish()
    return GkgReport(
        since=start.isoformat(sep=" "),
        until=end.isoformat(sep=" "),
        engine=engine,
        themes=tuple(t.theme_id for t in chosen),
        files=len(period),
        already_stored=len(period) - len(todo),
        stored=totals["stored"],
        failed=tuple(failed),
        master_bad_lines=master.bad_lines[:20],
        bytes_read=totals["bytes"],
        rows_read=totals["rows"],
        rows_bad=totals["bad"],
        rows_kept=totals["kept"],
        stories_added=totals["added"],
        shards_reused=totals["reused"],
        out_dir=str(out),
        dashboard=dashboard,
        seconds=round(time.perf_counter() - started, 2),
    )
