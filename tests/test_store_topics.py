"""What the Topics page reads (newsintel.store.topics) on a small database of real builds.

The database holds three planted clusters of stories over three months, stored through
the store's own write functions, and topic builds made by the real ``jobs.build_topics``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_settings
from factories import stored_article

from newsintel.config import Settings
from newsintel.jobs import build_topics, list_topics
from newsintel.models import Article, SourceUpdate
from newsintel.store import connect, migrate, open_db
from newsintel.store import topics as tq
from newsintel.store.embeddings import save_embeddings
from newsintel.store.feeds import save_feed_result, upsert_source
from newsintel.topics.emerging import emergence_by_period
from newsintel.ui.tables import TOPIC_COLUMNS, topic_table

MODEL = "test-topics-model"
DIM = 24
WORDS = {
    "li": ["lithium", "cathode", "brine", "spodumene"],
    "ro": ["humanoid", "actuator", "gripper", "robot"],
    "nu": ["reactor", "uranium", "turbine", "fission"],
}
SIZES = {"li": 30, "ro": 20, "nu": 12}
START = datetime(2026, 1, 5, 9)  # a Monday


def _article(article_id: str, title: str, published: datetime, url: str) -> Article:
    return stored_article(
        article_id,
        source_id="wire",
        url=url,
        title=title,
        text=f"{title} and more about {title.split()[0]}.",
        published_at=published,
    )


def build_topics_db(folder: Path) -> Settings:
    """Planted clusters li/ro/nu with distinctive words, dated over Jan-Mar 2026."""
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(len(SIZES), DIM))
    articles, ids, vectors = [], [], []
    for c, (prefix, size) in enumerate(SIZES.items()):
        for i in range(size):
            article_id = f"{prefix}{i:03d}"
            words = " ".join(rng.choice(WORDS[prefix], size=3))
            published = START + timedelta(days=int(i * 80 / size))
            url = "javascript:alert(1)" if article_id == "ro000" else f"https://x.test/{article_id}"
            articles.append(_article(article_id, f"{words} story {article_id}", published, url))
            v = centres[c] + 0.3 * rng.normal(size=DIM)
            ids.append(article_id)
            vectors.append(v / np.linalg.norm(v))
    settings = make_settings(folder, model=MODEL)
    con = connect(settings.db)
    try:
        migrate(con)
        upsert_source(con, "wire", "Test Wire", "https://x.test/feed")
        save_feed_result(con, SourceUpdate("wire", "ok", START, 200), articles)
        save_embeddings(con, MODEL, ids, np.asarray(vectors, dtype=np.float32))
    finally:
        con.close()
    return settings


@pytest.fixture(scope="module")
def topics_db(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Two ``all`` builds (a rebuild) and one ``month`` build, in that order."""
    settings = build_topics_db(tmp_path_factory.mktemp("topics"))
    build_topics(settings, window="all", seed=0)
    build_topics(settings, window="all", seed=0)
    build_topics(settings, window="month", seed=0)
    return settings


def _builds(settings: Settings) -> dict[str, tq.StoredBuild]:
    with open_db(settings.db, read_only=True) as con:
        return {b.window: b for b in tq.latest_builds(con)}


def test_latest_builds_gives_the_newest_of_each_window(topics_db: Settings) -> None:
    with open_db(topics_db.db, read_only=True) as con:
        latest = tq.latest_builds(con)
        every = tq.builds(con)
    assert [b.window for b in latest] == ["month", "all"]
    # The newest is the last one made (ids share a second, so their order is not time's).
    assert latest[1] == next(b for b in every if b.window == "all")
    assert [b.window for b in every] == ["month", "all", "all"]
    assert len(every) == 3


def test_topic_stories_are_the_most_typical_per_topic(topics_db: Settings) -> None:
    build = _builds(topics_db)["all"]
    with open_db(topics_db.db, read_only=True) as con:
        stories = tq.topic_stories(con, build.build_id, limit=4)
        rows = tq.topic_rows(con, build.build_id)
        first = rows[0].topic_id
        one = tq.topic_stories(con, build.build_id, first, limit=50)
        every = tq.topic_stories(con, build.build_id, limit=1000)
    assert build.n_topics == 3 and len(rows) == 3
    assert list(stories.columns) == [
        "topic_id", "rank", "title", "source", "published_at", "url", "distance",
    ]  # fmt: skip
    assert stories.groupby("topic_id").size().tolist() == [4, 4, 4]
    for _topic, group in stories.groupby("topic_id"):
        assert group["rank"].tolist() == [1, 2, 3, 4]
        assert group["distance"].is_monotonic_increasing
    assert set(one["topic_id"]) == {first} and len(one) == rows[0].size == 30
    # The representatives stored with the build are the first ranks.
    assert set(one["title"].head(3)) == set(rows[0].representative_titles)
    assert set(stories["source"]) == {"Test Wire"}
    # A javascript: link never reaches the page as a link.
    assert len(every) == 62 and every["url"].isna().sum() == 1
    assert every["url"].dropna().str.startswith("https://").all()


def test_topic_volume_counts_stories_per_week_and_month(topics_db: Settings) -> None:
    build = _builds(topics_db)["all"]
    with open_db(topics_db.db, read_only=True) as con:
        months = tq.topic_volume(con, build.build_id, "month")
        weeks = tq.topic_volume(con, build.build_id, "week")
        with pytest.raises(ValueError, match="week or month"):
            tq.topic_volume(con, build.build_id, "day")
    assert list(months.columns) == ["topic_id", "period", "stories"]
    assert months["stories"].sum() == weeks["stories"].sum() == 62
    assert {pd.Timestamp(p).day for p in months["period"]} == {1}
    assert {pd.Timestamp(p).weekday() for p in weeks["period"]} == {0}
    assert sorted({pd.Timestamp(p).month for p in months["period"]}) == [1, 2, 3]
    assert months.groupby("topic_id")["stories"].sum().sort_values().tolist() == [12, 20, 30]


def test_lineage_of_all_builds_runs_across_rebuilds(topics_db: Settings) -> None:
    build = _builds(topics_db)["all"]
    with open_db(topics_db.db, read_only=True) as con:
        lineage = tq.topic_lineage(con, build.build_id)
        limited = tq.topic_lineage(con, build.build_id, max_builds=1)
    with open_db(topics_db.db, read_only=True) as con:
        first, second = reversed([b for b in tq.builds(con) if b.window == "all"])
    assert second == build
    assert lineage["step"].nunique() <= 2 and lineage["step"].is_monotonic_increasing
    events = [(b, set(group["event"])) for b, group in lineage.groupby("build_id", sort=False)]
    assert events == [(first.build_id, {"birth"}), (second.build_id, {"continue"})]
    assert (lineage["build_id"] == build.build_id).sum() == 3
    assert set(limited["build_id"]) == {build.build_id}
    births = lineage[lineage["event"] == "birth"]
    assert births["parent_topic_id"].isna().all() and births["child_label"].notna().all()
    continues = lineage[lineage["event"] == "continue"]
    assert (continues["parent_topic_id"] == continues["child_topic_id"]).all()
    assert (continues["parent_label"] == continues["child_label"]).all()
    # The step of an ``all`` build is its UTC time, read from its id.
    stamp = datetime.strptime(build.build_id[:15], "%Y%m%dT%H%M%S")
    assert set(limited["step"]) == {stamp.strftime("%Y-%m-%d %H:%M:%S")}


def test_lineage_of_a_month_build_runs_across_its_months(topics_db: Settings) -> None:
    build = _builds(topics_db)["month"]
    with open_db(topics_db.db, read_only=True) as con:
        lineage = tq.topic_lineage(con, build.build_id)
    assert set(lineage["build_id"]) == {build.build_id}
    assert lineage["step"].is_monotonic_increasing
    assert set(lineage["step"]) <= {"2026-01", "2026-02", "2026-03"}
    assert "continue" in set(lineage["event"])
    assert lineage["child_label"].notna().sum() == lineage["child_topic_id"].notna().sum()


def test_map_sample_is_bounded_and_deterministic(topics_db: Settings) -> None:
    build = _builds(topics_db)["all"]
    with open_db(topics_db.db, read_only=True) as con:
        full = tq.map_sample(con, build.build_id)
        small = tq.map_sample(con, build.build_id, limit=20)
        again = tq.map_sample(con, build.build_id, limit=20)
        labels = {r.topic_id: r.label for r in tq.topic_rows(con, build.build_id)}
        stored = dict(
            con.execute(
                "SELECT article_id, vector FROM embeddings WHERE model = ?", [MODEL]
            ).fetchall()
        )
    assert full.total == small.total == 62
    assert len(full.points) == 62 and full.vectors.shape == (62, DIM)
    assert len(small.points) == 20 and small.vectors.shape == (20, DIM)
    assert small.points.equals(again.points) and np.array_equal(small.vectors, again.vectors)
    assert set(small.points["article_id"]) < set(full.points["article_id"])
    assert list(full.points.columns) == [
        "article_id", "topic_id", "topic_label", "title", "source", "published_at",
    ]  # fmt: skip
    for row, article_id in enumerate(small.points["article_id"]):
        assert np.allclose(small.vectors[row], stored[article_id])
    assert dict(zip(full.points["topic_id"], full.points["topic_label"], strict=True)) == labels


def test_the_page_scores_topics_as_topics_list_does(topics_db: Settings) -> None:
    listed = list_topics(topics_db)  # the latest build: the month one
    build = _builds(topics_db)["month"]
    with open_db(topics_db.db, read_only=True) as con:
        rows = tq.topic_rows(con, build.build_id)
        counts = tq.period_counts(con, build.build_id)
    scored = emergence_by_period(counts, [r.topic_id for r in rows])
    table = topic_table(rows, scored.scores)
    assert list(table.columns) == TOPIC_COLUMNS
    assert scored.latest_period == listed.latest_period == "2026-03"
    assert table["topic_id"].tolist() == [t.topic_id for t in listed.topics]
    for record, listing in zip(table.to_dict("records"), listed.topics, strict=True):
        assert record["latest"] == listing.latest
        assert record["growth"] == listing.growth or (
            record["growth"] != record["growth"] and listing.growth is None
        )
        assert record["emerging"] == listing.emerging
        assert record["top_words"] == list(listing.top_words)


def test_emergence_by_period_fills_missing_periods_with_zeros() -> None:
    rows = [("a", "2026-01", 2), ("a", "2026-03", 9), ("b", "2026-02", 4)]
    scored = emergence_by_period(rows, ["a", "b", "c"])
    assert scored.periods == ("2026-01", "2026-02", "2026-03")
    assert scored.counts == {"a": [2, 0, 9], "b": [0, 4, 0], "c": [0, 0, 0]}
    assert scored.totals == [2, 4, 9] and scored.latest_period == "2026-03"
    assert scored.scores["a"].latest == 9 and scored.scores["c"].latest == 0
    assert emergence_by_period([]).latest_period == ""


def test_topic_table_puts_emerging_topics_first() -> None:
    from newsintel.store.topics import TopicRow
    from newsintel.topics.emerging import emergence

    def row(topic_id: str, size: int) -> TopicRow:
        day = datetime(2026, 1, 1)
        return TopicRow(topic_id, topic_id, ("w",), size, 1, day, day, ("x",), ("X", ""))

    scores = emergence({"big": [10, 10, 10], "hot": [1, 1, 12], "small": [2, 2, 2]})
    table = topic_table([row("big", 30), row("hot", 14), row("small", 6)], scores)
    assert table["topic_id"].tolist() == ["hot", "big", "small"]
    assert table["emerging"].tolist() == [True, False, False]
    assert table["representatives"].tolist()[0] == ["X"]
    assert topic_table([], {}).empty


def test_volume_and_sample_on_a_database_without_a_build(tmp_path: Path) -> None:
    settings = build_topics_db(tmp_path)
    with open_db(settings.db, read_only=True) as con:
        assert tq.has_topics(con) and tq.latest_builds(con) == []
        assert tq.topic_volume(con, "nope").empty
        assert tq.topic_lineage(con, "nope").empty
        sample = tq.map_sample(con, "nope")
    assert sample.total == 0 and sample.points.empty and sample.vectors.shape[0] == 0


def _assigned_per_build(con: object) -> dict[str, int]:
    rows = con.execute(  # type: ignore[attr-defined]
        "SELECT build_id, count(*) FROM article_topics GROUP BY build_id"
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


def test_a_build_removes_the_assignments_of_the_build_it_supersedes(
    topics_db: Settings,
) -> None:
    stories = sum(SIZES.values())
    with open_db(topics_db.db, read_only=True) as con:
        every = tq.builds(con)
        assigned = _assigned_per_build(con)
        first_all = [b for b in every if b.window == "all"][-1]
        old_topics = con.execute(
            "SELECT count(*), sum(size) FROM topics WHERE build_id = ?", [first_all.build_id]
        ).fetchone()
    newest = _builds(topics_db)
    # The newest build of each window kind keeps one row per story; the first ``all``
    # build, superseded by the rebuild, keeps its row, topics and sizes but no rows here.
    assert assigned == {newest["all"].build_id: stories, newest["month"].build_id: stories}
    assert first_all.build_id not in assigned and first_all.n_articles == stories
    assert old_topics is not None and old_topics[0] >= 2 and old_topics[1] == stories


def test_migration_016_prunes_the_assignments_an_older_version_kept(tmp_path: Path) -> None:
    settings = build_topics_db(tmp_path)
    for window in ("all", "all", "month"):
        build_topics(settings, window=window, seed=0)
    newest = _builds(settings)
    with open_db(settings.db) as con:
        first_all = [b for b in tq.builds(con) if b.window == "all"][-1]
        # What a database from before migration 016 holds: every build's assignments.
        con.execute(
            "INSERT INTO article_topics SELECT article_id, ?, topic_id, time_window, distance "
            "FROM article_topics WHERE build_id = ?",
            [first_all.build_id, newest["all"].build_id],
        )
        # ...and its schema: version 15, before topic_builds.placed (017).
        con.execute("DELETE FROM schema_version WHERE version >= 16")
        con.execute("ALTER TABLE topic_builds DROP COLUMN placed")
        assert len(_assigned_per_build(con)) == 3
        applied = migrate(con)
        assigned = _assigned_per_build(con)
    assert [m.version for m in applied] == [16, 17]
    assert set(assigned) == {newest["all"].build_id, newest["month"].build_id}
