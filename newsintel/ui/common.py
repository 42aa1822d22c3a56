"""Small pieces several pages share: the page prelude, range choices, labels, notices."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler
from streamlit.elements.lib.column_types import ColumnConfig

from newsintel.config import Settings
from newsintel.ui import charts, context, data, params, render
from newsintel.ui.text import escape_markdown

if TYPE_CHECKING:
    from newsintel.store.archive import ArchiveBackfill

RANGES = {"13": "3 months", "26": "6 months", "52": "1 year", "104": "2 years", "all": "All"}
DEFAULT_THEME = "lithium_batteries"


@dataclass(frozen=True)
class StorySpan:
    """The first and last publication day of the stored stories."""

    first: date
    last: date

    def start_for(self, weeks: int | None) -> date:
        """The first day of the last ``weeks`` weeks of data (all of it for None)."""
        if weeks is None:
            return self.first
        return max(self.first, self.last - timedelta(weeks=weeks) + timedelta(days=1))


@dataclass(frozen=True)
class PageStart:
    """What a page reads after its prelude: the settings of this page load, the span."""

    settings: Settings  # points at the snapshot held for this page load
    stories: StorySpan | None  # None only for a page started with stories=False

    @property
    def db(self) -> str:
        return self.settings.db

    @property
    def span(self) -> StorySpan:
        assert self.stories is not None, "a page started with stories=False has no span"
        return self.stories


def start_page(
    title: str, caption: str | None = None, *, stories: bool = True, backfill: bool = False
) -> PageStart:
    """Every page's prelude: settings, the early-state check, title, caption, notices.

    With ``stories`` (most pages), a database without articles stops the page with a
    notice naming the commands that fill it, before the title, as before; ``backfill``
    adds the notice of an unfinished GDELT backfill under the caption. The freshness
    line and the sidebar are the router's (app.py), shown before any page runs.
    """
    settings = context.current_settings()
    span: StorySpan | None = None
    if stories:
        window = data.window(settings.db)
        if window.first is None or window.last is None:
            st.info(
                "The database has no articles yet. Run `newsintel demo` for sample data, or "
                "`newsintel ingest` to fetch the configured feeds.",
                icon=":material/inbox:",
            )
            st.stop()
        span = StorySpan(window.first, window.last)
    st.title(title)
    if caption is not None:
        st.caption(caption)
    if backfill:
        backfill_notice(settings)
    return PageStart(settings, span)


def range_weeks(key: str = "range", default: str = "104") -> int | None:
    """A time-range control bound to the URL; the number of weeks, None for all."""
    chosen = params.choice(
        "Time range",
        list(RANGES),
        key=key,
        default=default,
        format_func=RANGES.__getitem__,
        horizontal=True,
    )
    return None if chosen == "all" else int(chosen)


def theme_labels(settings: Settings) -> dict[str, str]:
    """Theme id -> label, ordered by label."""
    frame = data.themes(settings.db)
    return dict(zip(frame["theme"], frame["label"], strict=True))


def theme_picker(settings: Settings, key: str = "theme") -> tuple[str, str]:
    """A theme selectbox bound to the URL: (theme id, label). Stops if there are none."""
    labels = theme_labels(settings)
    if not labels:
        st.info("No themes are defined yet: run `newsintel themes`.", icon=":material/info:")
        st.stop()
    default = DEFAULT_THEME if DEFAULT_THEME in labels else next(iter(labels))
    theme = params.choice(
        "Theme", list(labels), key=key, default=default, format_func=labels.__getitem__
    )
    return theme, labels[theme]


def series_label(series_id: str) -> str:
    """A readable name for a series id: lithium_carbonate -> Lithium carbonate."""
    return series_id.replace("_", " ").capitalize()


def series_picker(settings: Settings, key: str = "series") -> tuple[str, str] | None:
    """A series selectbox bound to the URL: (series id, unit), or None with no series."""
    frame = data.series(settings.db)
    if frame.empty:
        return None
    units = dict(zip(frame["series"], frame["unit"], strict=True))
    kinds = dict(zip(frame["series"], frame["kind"], strict=True))
    default = settings.price_series if settings.price_series in units else str(frame["series"][0])
    fmt: Callable[[str], str] = lambda s: (  # noqa: E731 - a one-line label
        f"{series_label(s)} ({units[s] or kinds[s]})"
    )
    chosen = params.choice("Series", list(units), key=key, default=default, format_func=fmt)
    return chosen, str(units[chosen] or "")


def link_column(label: str = "Link") -> ColumnConfig:
    """A link column that shows 'open' instead of the raw URL."""
    return st.column_config.LinkColumn(label, display_text="open", width="small")


# Titles made from a URL slug (``title_derived``) are shown grey and italic: they are
# our guess at a headline, not the outlet's words.
DERIVED_TITLE_STYLE = "color: #8a94a3; font-style: italic"
DERIVED_TITLE_NOTE = "Titles in grey italics were made from the story's URL (no title was given)."


def muted_titles(frame: pd.DataFrame) -> pd.DataFrame | Styler:
    """``frame`` styled so that derived titles look muted; as it is when none are."""
    if "title_derived" not in frame or not frame["title_derived"].fillna(False).any():
        return frame
    derived = frame["title_derived"].fillna(False).astype(bool)
    return frame.style.apply(
        lambda column: (
            [DERIVED_TITLE_STYLE if d else "" for d in derived]
            if column.name == "title"
            else [""] * len(column)
        ),
        axis=0,
    )


def has_derived_titles(frame: pd.DataFrame) -> bool:
    """Whether any row's title was made from its URL."""
    return "title_derived" in frame and bool(frame["title_derived"].fillna(False).any())


def stories_table(frame: pd.DataFrame, *, with_score: bool = False) -> None:
    """Stories as a table: title, source, date and link; feed text stays plain text.

    Titles made from the URL (``title_derived``) are muted, with a note under the table.
    """
    columns = ["title", "source", "published_at", "url"] + (["score"] if with_score else [])
    config: dict[str, ColumnConfig] = {
        "title": st.column_config.TextColumn("Title", width="large"),
        "source": st.column_config.TextColumn("Source"),
        "published_at": st.column_config.DatetimeColumn("Published (UTC)", format="D MMM YYYY"),
        "url": link_column(),
        "score": st.column_config.NumberColumn("Similarity to theme", format="%.2f"),
    }
    shown = frame[columns + (["title_derived"] if "title_derived" in frame else [])]
    st.dataframe(
        muted_titles(shown),
        column_config=config,
        column_order=columns,
        hide_index=True,
        width="stretch",
    )
    if has_derived_titles(frame):
        st.caption(DERIVED_TITLE_NOTE)


def no_stories_notice(label: str, start: date, end: date) -> None:
    """Say that a theme has no stories in the window, and the commands that get some."""
    st.info(
        f"No stories of {label} between {start:%d %b %Y} and {end:%d %b %Y}. Widen the time "
        "range, fetch new stories with `newsintel ingest`, or add history with "
        f"`newsintel backfill gdelt --since {start:%Y-%m-%d}` (or `backfill archive`, "
        "`backfill import`).",
        icon=":material/inbox:",
    )


def no_values_notice(name: str, series_id: str, start: date, end: date) -> None:
    """Say that a series has no values in the window, and the command that adds some."""
    # GDELT attention series come from the backfill, every other series from a file.
    command = (
        f"newsintel backfill gdelt --since {start:%Y-%m-%d}"
        if series_id.startswith("gdelt")
        else f"newsintel series import FILE --name {series_id}"
    )
    st.info(
        f"{name} has no values between {start:%d %b %Y} and {end:%d %b %Y}, so it cannot be "
        f"read against the stories: add the missing dates with `{command}`, or pick "
        "another range.",
        icon=":material/timeline:",
    )


def theme_vs_series_section(
    counts: pd.DataFrame,
    values: pd.DataFrame,
    *,
    label: str,
    series_name: str,
    series_id: str,
    unit: str,
    start: date,
    end: date,
) -> None:
    """A theme's weekly stories against a series: a notice for each side that is empty,
    and the chart unless both are (the notices then stand alone: no blank chart)."""
    stories = not counts.empty and bool(counts["articles"].any())
    if not stories:
        no_stories_notice(label, start, end)
    if values.empty:
        no_values_notice(series_name, series_id, start, end)
    if stories or not values.empty:
        render.chart(
            charts.theme_vs_series,
            counts,
            values,
            theme_label=label,
            series_label=series_name,
            unit=unit,
        )


# GDELT and archive backfills are shown alike: one warning each, this icon.
BACKFILL_ICON = ":material/hourglass_top:"


def backfill_notice(settings: Settings) -> None:
    """Say when a backfill (GDELT, an outlet's archive) is unfinished: history is missing."""
    done, asked, missing = data.gdelt_backfill_progress(settings.db)
    if asked != done:
        since = f" from {missing:%d %b %Y}" if missing is not None else ""
        st.warning(
            f"Backfill in progress: {done:,} of {asked:,} GDELT windows fetched, so the "
            f"history{since} is still incomplete and its counts will grow. Run "
            "`newsintel backfill gdelt` again to resume; it adds nothing twice.",
            icon=BACKFILL_ICON,
        )
    runs = data.archive_backfills(settings.db)
    if runs:
        st.warning("\n\n".join(archive_backfill_text(run) for run in runs), icon=BACKFILL_ICON)


def archive_backfill_text(run: ArchiveBackfill) -> str:
    """What an unfinished archive backfill leaves missing, and the command that resumes it."""
    outlet = escape_markdown(run.outlet)  # a site's own name: shown as typed, never markup
    window = f"{run.since:%d %b %Y} to {run.until:%d %b %Y}"
    command = (
        f"newsintel backfill archive {shlex.quote(run.feed)} "
        f"--since {run.since:%Y-%m-%d} --until {run.until:%Y-%m-%d}"
    )
    stored = f"{run.stories:,} {'story' if run.stories == 1 else 'stories'} stored so far"
    pages = f"{run.failed:,} article page{'' if run.failed == 1 else 's'}"
    # A failed page waits for its backoff: a re-run before then skips it.
    retry = f" from {run.retry_from:%d %b %Y %H:%M} UTC" if run.retry_from else ""
    if run.finished_at is None:
        failed = f", {pages} failed" if run.failed else ""
        return (
            f"Backfill in progress: the archive of {outlet} ({window}), started "
            f"{run.started_at:%d %b %Y %H:%M} UTC, has not finished (it is still running, "
            f"or it stopped), so its history is incomplete: {stored}{failed}. If it is no "
            f"longer running, run `{command}` to resume; it adds nothing twice."
        )
    return (
        f"Backfill incomplete: the archive of {outlet} ({window}) finished, but "
        f"{pages} failed, so its history lacks those stories ({stored}). Run `{command}`"
        f"{retry} to fetch them; it adds nothing twice."
    )
