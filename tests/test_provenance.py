"""Provenance: stories per origin, origin filters in analysis, the composition-shift
warning, outlets apart from feeds on the Sources page, and muted derived titles."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_settings

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.errors import AnalysisError
from newsintel.feeds.normalise import article_from_fields
from newsintel.jobs import analyze, import_series, init_db, load_variable
from newsintel.models import Article, ThemeDefinition
from newsintel.series.origins import origin_shift_warning
from newsintel.store import open_db
from newsintel.store.feeds import save_articles, upsert_outlets, upsert_source
from newsintel.store.provenance import origin_monthly, origin_shares, outlets
from newsintel.store.themes import save_theme_scores, save_themes, theme_daily_counts

START = datetime(2021, 1, 4)
WEEKS = 60


def _article(i: int, origin: str, source: str, day: datetime, lithium: bool) -> Article:
    words = "lithium price" if lithium else "robot arm"
    article = article_from_fields(
        source_id=source,
        url=f"https://{source}.example/{origin}-story-about-{words.replace(' ', '-')}-{i}",
        title=f"Story {i} about {words} from {origin}",
        text="",
        published_at=day,
        fetched_at=datetime(2025, 1, 1),
        origin=origin,
    )
    assert article is not None
    return article


def build_db(settings: Settings) -> None:
    """60 weeks: imported stories (from outlets) for the first 40, then a feed only.

    Lithium is a third of the imported stories and two thirds of the feed's, so the
    theme's share jumps when the origin changes: a composition shift, not news.
    """
    init_db(settings)
    rng = np.random.default_rng(7)
    articles: list[Article] = []
    lithium: list[bool] = []
    for week in range(WEEKS):
        origin, source = ("import", "minewire") if week < 40 else ("feed", "tradefeed")
        for k in range(int(rng.integers(6, 10))):
            is_lithium = k % 3 == 0 if origin == "import" else k % 3 != 0
            day = START + timedelta(weeks=week, days=k % 5, hours=k)
            articles.append(_article(len(articles), origin, source, day, is_lithium))
            lithium.append(is_lithium)
    with open_db(settings.db) as con:
        upsert_source(con, "tradefeed", "Trade Feed", "https://tradefeed.example/rss")
        upsert_outlets(con, [("minewire", "minewire.example", "https://minewire.example/")])
        assert save_articles(con, articles) == len(articles)
        save_themes(con, [ThemeDefinition("lithium", "Lithium", "lithium", (), (), (), 0.5)])
        member = np.array(lithium, dtype=bool).reshape(-1, 1)
        save_theme_scores(
            con, [a.article_id for a in articles], ["lithium"], ["keywords"], member * 1.0, member
        )
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 0.05, WEEKS)))
    frame = pd.DataFrame(
        {"date": pd.date_range(START, periods=WEEKS, freq="7D").date, "value": prices}
    )
    path = Path(settings.db).parent / "price.csv"
    frame.to_csv(path, index=False)
    import_series(settings, path, name="price", kind="price")


@pytest.fixture
def shifted(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    build_db(settings)
    return settings


def test_stories_per_origin_per_month_and_outlets_apart_from_feeds(shifted: Settings) -> None:
    with open_db(shifted.db, read_only=True) as con:
        monthly = origin_monthly(con)
        listed = outlets(con)
        shares = origin_shares(con, START.date(), (START + timedelta(weeks=WEEKS)).date(), "M")
    by_origin = monthly.groupby("origin")["stories"].sum().to_dict()
    with open_db(shifted.db, read_only=True) as con:
        stored = dict(con.execute("SELECT origin, count(*) FROM articles GROUP BY 1").fetchall())
    assert by_origin == stored
    assert set(monthly["origin"]) == {"import", "feed"}
    assert list(listed["name"]) == ["minewire.example"]
    assert int(listed["stories"][0]) == stored["import"]
    # Every month's shares add up to one (no story has two origins here).
    assert np.allclose(shares.groupby("period")["share"].sum(), 1.0)


def test_theme_series_count_only_the_chosen_origins(shifted: Settings) -> None:
    with open_db(shifted.db, read_only=True) as con:
        every = theme_daily_counts(con, "lithium")
        imported = theme_daily_counts(con, "lithium", ["import"])
        fed = theme_daily_counts(con, "lithium", ["feed"])
    assert every["articles"].sum() == imported["articles"].sum() + fed["articles"].sum()
    assert every["total_articles"].sum() == (
        imported["total_articles"].sum() + fed["total_articles"].sum()
    )
    assert imported["day"].max() < fed["day"].min()
    share = load_variable(shifted, "theme:lithium", "W", ["import"])
    assert share.index.max() < pd.Timestamp(START + timedelta(weeks=40))


def test_analysis_warns_when_the_origin_mix_shifts_and_not_within_one_origin(
    shifted: Settings,
) -> None:
    mixed = analyze(shifted, "theme:lithium", "series:price", max_lag=3, store=False)
    shift = [w for w in mixed.warnings if "mix of story origins" in w]
    assert len(shift) == 1 and "import 100%" in shift[0] and "feed" in shift[0]
    one = analyze(
        shifted, "theme:lithium", "series:price", max_lag=3, store=False, origins=["import"]
    )
    assert not [w for w in one.warnings if "mix of story origins" in w]
    assert one.settings["origins"] == ["import"]
    assert one.lead_lag.n_obs < mixed.lead_lag.n_obs
    with pytest.raises(AnalysisError, match="unknown origin 'rss'"):
        analyze(shifted, "theme:lithium", "series:price", store=False, origins=["rss"])


def test_cli_origin_filter_is_repeatable(
    shifted: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--db", shifted.db, "analyze", "theme:lithium", "series:price", "--max-lag", "3"]
    assert main([*args, "--origin", "import", "--origin", "feed", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["origins"] == ["import", "feed"]
    assert any("mix of story origins" in w for w in data["warnings"])
    with pytest.raises(SystemExit):
        main([*args, "--origin", "rss"])


def test_origin_shift_rule() -> None:
    periods = pd.date_range("2022-01-03", periods=4, freq="7D")
    steady = pd.DataFrame(
        {"period": periods.repeat(2), "origin": ["feed", "gdelt"] * 4, "stories": [5, 5] * 4}
    )
    assert origin_shift_warning(steady) is None
    moved = replace_stories(steady, [9, 1, 9, 1, 5, 5, 5, 5])
    # feed 90% -> 50%: a move of 0.4, over the default threshold (0.2), under 0.5.
    warning = origin_shift_warning(moved)
    assert warning is not None
    assert "before 2022-01-17: feed 90%, gdelt 10%; from 2022-01-17: feed 50%, gdelt 50%" in warning
    assert origin_shift_warning(moved, threshold=0.5) is None
    assert origin_shift_warning(steady.head(2)) is None  # one period: nothing to compare


def replace_stories(frame: pd.DataFrame, stories: list[int]) -> pd.DataFrame:
    return frame.assign(stories=stories)


def test_derived_titles_are_muted_in_tables() -> None:
    pytest.importorskip("streamlit")
    from newsintel.ui.common import DERIVED_TITLE_STYLE, muted_titles

    frame = pd.DataFrame(
        {"title": ["Given", "Made from url"], "source": ["a", "b"], "title_derived": [False, True]}
    )
    styled = muted_titles(frame)
    html = styled.to_html()  # type: ignore[union-attr]
    assert html.count("font-style: italic") == 1
    assert DERIVED_TITLE_STYLE.split(";")[0] in html
    plain = frame.assign(title_derived=False)
    assert muted_titles(plain) is plain


@pytest.mark.slow
def test_sources_page_shows_origins_and_outlets(
    shifted: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_app_pages import assert_clean, chart_titles, make_app, open_page

    at = open_page(make_app(monkeypatch, shifted.db), "sources")
    assert_clean(at)
    assert "Stories per origin per month" in chart_titles(at)
    feeds, listed = at.dataframe[0].value, at.dataframe[1].value
    assert list(feeds["name"]) == ["Trade Feed"]
    assert list(listed["name"]) == ["minewire.example"]
    assert at.metric[0].value == "1"
