"""Between rebuilds, new stories join the nearest topic of the last build.

The rule and the decision on plain values, then the job on real DuckDB files with
planted clusters (tests/test_store_topics.py: li, ro, nu, 62 stories).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from factories import stored_article
from test_store_topics import MODEL, SIZES, build_topics_db

from newsintel.config import Settings
from newsintel.jobs import TopicBuildReport, TopicPlacementReport, build_topics, refresh_topics
from newsintel.models import SourceUpdate
from newsintel.store import open_db
from newsintel.store import topics as tq
from newsintel.store.embeddings import load_embeddings, save_embeddings
from newsintel.store.feeds import save_feed_result
from newsintel.topics.place import BuildState, RebuildPolicy, place, rebuild_reason

CLUSTERED = sum(SIZES.values())
NOW = datetime(2026, 4, 1, 12)


# --- the decision and the rule --------------------------------------------------------


def test_rebuild_reason_names_the_rule_that_fired() -> None:
    policy = RebuildPolicy(share=0.05, max_age=timedelta(hours=24))
    fresh = BuildState(NOW - timedelta(hours=1), clustered=1000, placed=40)
    assert rebuild_reason(fresh, 10, NOW, policy) is None  # 50 placed: exactly 5%
    too_many = rebuild_reason(fresh, 11, NOW, policy)
    assert (
        too_many == "51 stories placed since the last build, more than 5% of the 1000 it clustered"
    )
    old = BuildState(NOW - timedelta(hours=30), clustered=1000, placed=0)
    assert rebuild_reason(old, 1, NOW, policy) == (
        "the last build is 30.0 h old (rebuilt after 24 h)"
    )
    assert (
        rebuild_reason(None, 0, NOW, policy) == "no topic build of all stories for this model yet"
    )
    # A share of 0 rebuilds whenever there is anything to place.
    every_time = RebuildPolicy(share=0.0)
    assert rebuild_reason(fresh, 0, NOW, every_time) is not None
    assert rebuild_reason(BuildState(NOW, 10, 0), 0, NOW, every_time) is None


def test_place_puts_each_story_in_the_topic_of_the_nearest_centroid() -> None:
    centroids = np.eye(3, 4, dtype=np.float32)
    vectors = np.asarray([[0.1, 0.9, 0, 0.1], [2.0, 0.5, 0, 0], [0, 0.2, 0.3, 0]], np.float32)
    placed = place(["a", "b", "c"], vectors, ["tx", "ty", "tz"], centroids)
    assert placed.article_ids == ("a", "b", "c") and placed.topic_ids == ("ty", "tx", "tz")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = 1.0 - unit[[0, 1, 2], [1, 0, 2]]
    np.testing.assert_allclose(placed.distances, expected, rtol=1e-6)
    assert place([], np.zeros((0, 4), np.float32), ["tx"], centroids[:1]).topic_ids == ()
    with pytest.raises(ValueError, match="2 ids for 3 vectors"):
        place(["a", "b"], vectors, ["tx", "ty", "tz"], centroids)
    with pytest.raises(ValueError, match="0 topic ids"):
        place(["a"], vectors[:1], [], centroids[:0])


# --- the job on a real database -------------------------------------------------------


def _add_stories(settings: Settings, like: str, count: int, first: int) -> list[str]:
    """``count`` new embedded stories close to the planted cluster ``like``, in April."""
    with open_db(settings.db) as con:
        members = [f"{like}{i:03d}" for i in range(SIZES[like])]
        _, vectors = load_embeddings(con, MODEL, members)
        centre = vectors.mean(axis=0)
        rng = np.random.default_rng(first)
        ids, rows, articles = [], [], []
        for n in range(first, first + count):
            article_id = f"{like}{n:03d}"
            vector = centre + 0.05 * rng.normal(size=len(centre))
            rows.append(vector / np.linalg.norm(vector))
            ids.append(article_id)
            articles.append(
                stored_article(
                    article_id,
                    source_id="wire",
                    url=f"https://x.test/{article_id}",
                    title=f"late story {article_id}",
                    text="more news",
                    published_at=datetime(2026, 4, 1 + n % 20, 9),
                )
            )
        save_feed_result(con, SourceUpdate("wire", "ok", NOW, 200), articles)
        save_embeddings(con, MODEL, ids, np.asarray(rows, dtype=np.float32))
    return ids


def _topic_of(con: object, build_id: str, article_id: str) -> str:
    row = con.execute(  # type: ignore[attr-defined]
        "SELECT topic_id FROM article_topics WHERE build_id = ? AND article_id = ?",
        [build_id, article_id],
    ).fetchone()
    assert row is not None, article_id
    return str(row[0])


@pytest.fixture
def built(tmp_path: Path) -> tuple[Settings, TopicBuildReport]:
    settings = build_topics_db(tmp_path)
    return settings, build_topics(settings, window="all", seed=0)


def test_new_stories_join_the_nearest_topic_until_a_rebuild_is_due(
    built: tuple[Settings, TopicBuildReport],
) -> None:
    settings, first = built
    new = _add_stories(settings, "li", 3, first=900)  # 3 of 62: under 5%

    report = refresh_topics(settings)

    assert isinstance(report, TopicPlacementReport)
    assert (report.build_id, report.placed, report.placed_since_build) == (first.build_id, 3, 3)
    assert (report.n_articles, report.n_topics) == (CLUSTERED, first.n_topics)
    with open_db(settings.db, read_only=True) as con:
        li_topic = _topic_of(con, first.build_id, "li000")
        assert {_topic_of(con, first.build_id, a) for a in new} == {li_topic}
        size, last_seen = con.execute(
            "SELECT size, last_seen FROM topics WHERE build_id = ? AND topic_id = ?",
            [first.build_id, li_topic],
        ).fetchone()
        build = tq.latest_build(con, window="all", model=MODEL)
        members = con.execute(
            "SELECT count(*) FROM article_topics WHERE build_id = ? AND topic_id = ?",
            [first.build_id, li_topic],
        ).fetchone()[0]
    assert build is not None and build.build_id == first.build_id
    assert (build.n_articles, build.placed) == (CLUSTERED, 3)
    assert size == members == SIZES["li"] + 3  # the planted cluster is recovered whole
    assert last_seen == datetime(2026, 4, 3, 9)  # the newest placed story (li902)

    # Nothing new: nothing changes.
    again = refresh_topics(settings)
    assert isinstance(again, TopicPlacementReport) and again.placed == 0
    assert again.placed_since_build == 3

    # One more story makes 4 placed of 62 clustered: more than 5%, so every story is
    # clustered again; continuing topics keep their ids, and the first build's
    # assignments go (its row and topics stay).
    _add_stories(settings, "ro", 1, first=900)
    rebuilt = refresh_topics(settings)
    assert isinstance(rebuilt, TopicBuildReport)
    assert rebuilt.rebuild_reason == (
        "4 stories placed since the last build, more than 5% of the 62 it clustered"
    )
    assert rebuilt.previous_build == first.build_id and rebuilt.n_articles == CLUSTERED + 4
    with open_db(settings.db, read_only=True) as con:
        assert _topic_of(con, rebuilt.build_id, "li900") == li_topic
        kept = con.execute("SELECT DISTINCT build_id FROM article_topics").fetchall()
        assert kept == [(rebuilt.build_id,)]
        assert tq.latest_build(con, window="all", model=MODEL).placed == 0  # type: ignore[union-attr]


def test_an_old_build_is_rebuilt_whatever_was_placed(
    built: tuple[Settings, TopicBuildReport],
) -> None:
    settings, first = built
    with open_db(settings.db) as con:
        con.execute(
            "UPDATE topic_builds SET created_at = created_at - INTERVAL 25 HOUR WHERE build_id = ?",
            [first.build_id],
        )
    _add_stories(settings, "nu", 1, first=900)
    report = refresh_topics(settings)
    assert isinstance(report, TopicBuildReport) and report.previous_build == first.build_id
    assert report.rebuild_reason is not None
    assert report.rebuild_reason.startswith("the last build is 25.")
    assert report.rebuild_reason.endswith(" h old (rebuilt after 24 h)")


def test_a_share_of_zero_rebuilds_every_time(built: tuple[Settings, TopicBuildReport]) -> None:
    settings, first = built
    _add_stories(settings, "li", 1, first=900)
    report = refresh_topics(dataclasses.replace(settings, topic_rebuild_share=0.0))
    assert isinstance(report, TopicBuildReport) and report.previous_build == first.build_id


def test_the_first_refresh_builds(tmp_path: Path) -> None:
    settings = build_topics_db(tmp_path)
    report = refresh_topics(settings)
    assert isinstance(report, TopicBuildReport) and report.n_articles == CLUSTERED
    assert report.rebuild_reason == "no topic build of all stories for this model yet"


def test_the_topics_page_counts_placed_stories(
    built: tuple[Settings, TopicBuildReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_app_pages import assert_clean, make_app, open_page

    settings, first = built
    _add_stories(settings, "ro", 2, first=900)
    assert isinstance(refresh_topics(settings), TopicPlacementReport)

    at = open_page(make_app(monkeypatch, settings.db), "topics")

    assert_clean(at)
    caption = next(c.value for c in at.caption if c.value.startswith("Build "))
    assert f"Build {first.build_id}," in caption
    assert f"over {CLUSTERED} stories" in caption
    assert "and 2 newer ones placed in the topic nearest to each" in caption
    assert at.dataframe[0].value["size"].sum() == CLUSTERED + 2
