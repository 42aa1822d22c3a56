"""Discovered topics: seeded clustering, labels, lineage across rebuilds, emerging, CLI."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from newsintel.topics.build import Corpus, build_topics, window_key
from newsintel.topics.cluster import ClusterParams, cluster_vectors
from newsintel.topics.emerging import emergence
from newsintel.topics.label import topic_words
from newsintel.topics.lineage import TopicRef, founding_id, link

DIM = 48
FILLER = ["market", "report", "update", "week", "company", "plan", "people", "today", "news"]
PLANTED = {
    0: ["lithium", "cathode", "brine"],
    1: ["humanoid", "actuator", "gripper"],
    2: ["tariff", "customs", "quota"],
    3: ["reactor", "uranium", "turbine"],
    4: ["vaccine", "clinic", "trial"],
    5: ["satellite", "orbit", "launch"],
}


def _centers(k: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(k, DIM))
    return c / np.linalg.norm(c, axis=1, keepdims=True)


def make_corpus(
    sizes: dict[int, int], *, seed: int = 1, prefix: str = "a", spread: float = 0.35
) -> tuple[Corpus, np.ndarray]:
    """Planted clusters with distinctive words; (corpus sorted by id, true cluster per row)."""
    rng = np.random.default_rng(seed)
    centers = _centers(max(PLANTED) + 1)
    ids, vectors, texts, truth, dates = [], [], [], [], []
    start = datetime(2026, 1, 1)
    for cluster, size in sorted(sizes.items()):
        for i in range(size):
            v = centers[cluster] + spread * rng.normal(size=DIM) / np.sqrt(DIM)
            vectors.append(v / np.linalg.norm(v))
            words = list(rng.choice(PLANTED[cluster], size=4)) + list(rng.choice(FILLER, size=6))
            texts.append(" ".join(words))
            ids.append(f"{prefix}{cluster}-{i:04d}")
            truth.append(cluster)
            dates.append(start + timedelta(days=int(rng.integers(0, 90))))
    order = np.argsort(ids, kind="stable")
    corpus = Corpus(
        [ids[i] for i in order],
        np.asarray(vectors, dtype=np.float32)[order],
        [texts[i] for i in order],
        [dates[i] for i in order],
    )
    return corpus, np.asarray(truth)[order]


def merged(a: Corpus, b: Corpus) -> Corpus:
    rows = sorted(
        [
            row
            for c in (a, b)
            for row in zip(c.article_ids, c.vectors, c.texts, c.published, strict=True)
        ],
        key=lambda r: r[0],
    )
    return Corpus(
        [r[0] for r in rows],
        np.stack([r[1] for r in rows]).astype(np.float32),
        [r[2] for r in rows],
        [r[3] for r in rows],
    )


def refs(result) -> list[TopicRef]:  # type: ignore[no-untyped-def]
    members: dict[str, set[str]] = {}
    for a, t in zip(result.article_ids, result.topic_ids, strict=True):
        members.setdefault(t, set()).add(a)
    return [TopicRef(t.topic_id, t.centroid, frozenset(members[t.topic_id])) for t in result.topics]


def topic_of_cluster(result, truth: np.ndarray, corpus: Corpus) -> dict[int, str]:  # type: ignore[no-untyped-def]
    by_id = dict(zip(result.article_ids, result.topic_ids, strict=True))
    out: dict[int, str] = {}
    for cluster in sorted(set(truth.tolist())):
        ids = [a for a, c in zip(corpus.article_ids, truth, strict=True) if c == cluster]
        topics = {by_id[a] for a in ids}
        assert len(topics) == 1, (cluster, topics)
        out[cluster] = topics.pop()
    return out


SIZES = {0: 120, 1: 90, 2: 70, 3: 60, 4: 50}


def test_clustering_recovers_planted_topics_without_being_told_k() -> None:
    from sklearn.metrics import adjusted_rand_score

    corpus, truth = make_corpus(SIZES)
    clustering = cluster_vectors(corpus.vectors, seed=3)
    assert clustering.k == len(SIZES)
    assert adjusted_rand_score(truth, clustering.labels) > 0.99
    assert clustering.outlier_share < 0.05
    assert (clustering.labels >= 0).all()
    assert np.allclose(np.linalg.norm(clustering.centroids, axis=1), 1.0, atol=1e-5)


def test_same_input_and_seed_give_identical_topics_twice() -> None:
    corpus, _ = make_corpus(SIZES)
    first = build_topics(corpus, seed=11)
    second = build_topics(corpus, seed=11)
    assert first.topic_ids == second.topic_ids
    assert [t.topic_id for t in first.topics] == [t.topic_id for t in second.topics]
    assert [t.top_words for t in first.topics] == [t.top_words for t in second.topics]
    assert np.array_equal(first.distances, second.distances)
    a = cluster_vectors(corpus.vectors, seed=5)
    b = cluster_vectors(corpus.vectors, seed=5)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centroids, b.centroids)


def test_ids_are_founding_member_hashes() -> None:
    corpus, truth = make_corpus(SIZES)
    result = build_topics(corpus, seed=0)
    for cluster, topic_id in topic_of_cluster(result, truth, corpus).items():
        members = [a for a, c in zip(corpus.article_ids, truth, strict=True) if c == cluster]
        assert topic_id == founding_id(members)
    assert {r.event.event for r in result.lineage} == {"birth"}


def test_labels_contain_the_planted_words() -> None:
    corpus, truth = make_corpus(SIZES)
    result = build_topics(corpus, seed=0)
    ids = topic_of_cluster(result, truth, corpus)
    by_id = {t.topic_id: t for t in result.topics}
    for cluster, topic_id in ids.items():
        topic = by_id[topic_id]
        assert set(PLANTED[cluster]) <= set(topic.top_words[:5]), topic.top_words
        assert len(topic.top_words) <= 10
        assert len(topic.representative_ids) == 3
        assert all(a.startswith(f"a{cluster}-") for a in topic.representative_ids)
        assert (
            PLANTED[cluster][0] in topic.label
            or PLANTED[cluster][1] in topic.label
            or (PLANTED[cluster][2] in topic.label)
        )


def test_topic_words_rank_distinctive_over_common_words() -> None:
    texts = ["lithium lithium price"] * 5 + ["robot robot price"] * 5
    labels = np.array([0] * 5 + [1] * 5)
    words = topic_words(texts, labels, 2)
    assert words[0][0] == "lithium" and words[1][0] == "robot"
    assert "price" not in words[0][:1]


def test_rebuild_with_ten_percent_more_articles_keeps_ids() -> None:
    corpus, _ = make_corpus(SIZES)
    first = build_topics(corpus, seed=0)
    extra, _ = make_corpus({c: n // 10 for c, n in SIZES.items()}, seed=99, prefix="b")
    bigger = merged(corpus, extra)
    second = build_topics(bigger, seed=0, previous=refs(first))
    assert {t.topic_id for t in second.topics} == {t.topic_id for t in first.topics}
    events = [r.event.event for r in second.lineage]
    assert events.count("continue") == len(SIZES) and len(events) == len(SIZES)
    assert all(r.from_previous_build for r in second.lineage)
    # The old articles keep their topics.
    before = dict(zip(first.article_ids, first.topic_ids, strict=True))
    after = dict(zip(second.article_ids, second.topic_ids, strict=True))
    assert all(after[a] == t for a, t in before.items())


def test_a_new_cluster_is_a_birth_and_a_vanished_one_a_death() -> None:
    corpus, _ = make_corpus(SIZES)
    first = build_topics(corpus, seed=0)
    grown = {**{c: n for c, n in SIZES.items() if c != 4}, 5: 80}
    corpus2, truth2 = make_corpus(grown)
    second = build_topics(corpus2, seed=0, previous=refs(first))
    events = [r.event for r in second.lineage]
    births = [e for e in events if e.event == "birth"]
    deaths = [e for e in events if e.event == "death"]
    assert len(births) == 1 and len(deaths) == 1
    new_ids = topic_of_cluster(second, truth2, corpus2)
    assert births[0].child_topic_id == new_ids[5]
    old_ids = topic_of_cluster(first, make_corpus(SIZES)[1], corpus)
    assert deaths[0].parent_topic_id == old_ids[4]
    for cluster in (0, 1, 2, 3):
        assert new_ids[cluster] == old_ids[cluster]


def _members(prefix: str, n: int) -> frozenset[str]:
    return frozenset(f"{prefix}{i:03d}" for i in range(n))


def test_split_is_recorded_when_one_topic_becomes_two() -> None:
    c = _centers(3)
    old = [
        TopicRef("tA", c[0], _members("a", 40)),
        TopicRef("tB", c[1], _members("b", 30)),
    ]
    a = sorted(_members("a", 40))
    left, right = frozenset(a[:24]), frozenset(a[24:])
    new_c = np.stack([c[0] * 0.9 + c[2] * 0.1, c[0] * 0.7 + c[2] * 0.3, c[1]])
    new_c = new_c / np.linalg.norm(new_c, axis=1, keepdims=True)
    linkage = link(old, new_c, [left, right, _members("b", 30)])
    assert linkage.ids[0] == "tA" and linkage.ids[2] == "tB"
    assert linkage.ids[1] == founding_id(right)
    kinds = sorted((e.event, e.parent_topic_id, e.child_topic_id) for e in linkage.events)
    assert kinds == [
        ("continue", "tA", "tA"),
        ("continue", "tB", "tB"),
        ("split", "tA", linkage.ids[1]),
    ]


def test_merge_is_recorded_when_two_topics_become_one() -> None:
    c = _centers(3)
    old = [
        TopicRef("tA", c[0], _members("a", 40)),
        TopicRef("tB", c[1], _members("b", 25)),
        TopicRef("tC", c[2], _members("c", 30)),
    ]
    joined = _members("a", 40) | _members("b", 25)
    mid = (40 * c[0] + 25 * c[1]) / np.linalg.norm(40 * c[0] + 25 * c[1])
    linkage = link(old, np.stack([mid, c[2]]), [joined, _members("c", 30)])
    assert linkage.ids == ("tA", "tC")
    kinds = sorted((e.event, e.parent_topic_id, e.child_topic_id) for e in linkage.events)
    assert kinds == [("continue", "tA", "tA"), ("continue", "tC", "tC"), ("merge", "tB", "tA")]


def test_month_windows_are_linked_by_centroid() -> None:
    corpus, _ = make_corpus({0: 60, 1: 60, 2: 60})
    # Put clusters 0 and 1 in January and February; cluster 2 only appears in February.
    dates = []
    for article_id in corpus.article_ids:
        cluster, index = article_id[1], int(article_id.split("-")[1])
        month = 2 if cluster == "2" or index % 2 else 1
        dates.append(datetime(2026, month, 1 + index % 27))
    corpus = Corpus(corpus.article_ids, corpus.vectors, corpus.texts, dates)
    result = build_topics(corpus, window="month", seed=0)
    jan = {t.topic_id for t in result.topics if t.window == "2026-01"}
    feb = {t.topic_id for t in result.topics if t.window == "2026-02"}
    assert len(jan) == 2 and len(feb) == 3 and jan < feb
    cross = [r for r in result.lineage if r.window_from == "2026-01"]
    assert sorted(r.event.event for r in cross) == ["birth", "continue", "continue"]
    assert {window_key(d, "month") for d in dates} == {"2026-01", "2026-02"}
    assert set(result.windows) == {"2026-01", "2026-02"}


def test_scale_path_uses_the_sample_fit() -> None:
    corpus, truth = make_corpus({c: 400 for c in range(6)})
    params = ClusterParams(fit_sample=600, seed_sample=300, silhouette_sample=400)
    clustering = cluster_vectors(corpus.vectors, seed=0, params=params)
    from sklearn.metrics import adjusted_rand_score

    assert clustering.k == 6 and adjusted_rand_score(truth, clustering.labels) > 0.99


def test_emerging_topics_stand_out_against_their_own_baseline() -> None:
    counts = {"steady": [10, 12, 9, 11, 10], "spike": [2, 3, 2, 2, 15], "new": [0, 0, 0, 0, 6]}
    totals = [100, 100, 100, 100, 100]
    scores = emergence(counts, totals)
    assert scores["spike"].emerging and scores["new"].emerging
    assert not scores["steady"].emerging
    assert scores["spike"].p_value is not None and scores["spike"].p_value < 1e-4
    assert scores["steady"].growth is not None and 0.5 < scores["steady"].growth < 1.5
    # A month that has just begun is judged on its share, not its raw count.
    partial = emergence({"steady": [10, 10, 10, 3]}, [100, 100, 100, 30])
    assert not partial["steady"].emerging and abs((partial["steady"].expected or 0) - 3) < 1e-9
    assert emergence({"x": [5]})["x"].p_value is None


@pytest.mark.slow
def test_cli_topics_build_then_list_on_the_demo_database(
    demo_db,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from newsintel.cli import main
    from newsintel.jobs import DEMO_MIN_TOPICS
    from newsintel.store import open_db
    from newsintel.store.topics import builds

    db = tmp_path / "demo.duckdb"
    shutil.copy(demo_db.db, db)
    # The demo builds topics by quarter, then of all stories (the latest build)...
    with open_db(str(db)) as con:
        demo_builds = builds(con)
        assert [b.window for b in demo_builds] == ["all", "quarter"]
        # 6,663 imported GDELT lithium stories (the rest have no usable title) and the
        # sample stories, 7,004 stories in all: lithium / the rest
        # would be the best cut, so the demo asks for at least DEMO_MIN_TOPICS over all.
        assert demo_builds[0].n_topics >= DEMO_MIN_TOPICS and demo_builds[0].n_articles == 7004
        assert demo_builds[1].n_topics >= 5 and demo_builds[1].n_articles == 7004
        # ...which this test drops, to see a first build from scratch.
        for table in ("topic_lineage", "article_topics", "topics", "topic_builds"):
            con.execute(f"DELETE FROM {table}")
    assert main(["--db", str(db), "topics", "build", "--seed", "3", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["n_topics"] >= 2 and built["outlier_share"] < 0.05
    assert built["events"] == {"birth": built["n_topics"]}
    assert main(["--db", str(db), "topics", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["build_id"] == built["build_id"]
    topics = listed["topics"]
    assert sum(t["size"] for t in topics) == built["n_articles"]
    assert all(t["top_words"] and len(t["representatives"]) >= 1 for t in topics)
    emerging = [t["emerging"] for t in topics]
    assert emerging == sorted(emerging, reverse=True)  # emerging ones first

    # A rebuild of the same stories with the same seed keeps every id.
    assert main(["--db", str(db), "topics", "build", "--seed", "3", "--json"]) == 0
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["events"] == {"continue": built["n_topics"]}
    with open_db(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT topic_id) FROM v_article_topics"
        ).fetchone()
        stories = con.execute(
            "SELECT count(*) FROM articles a WHERE NOT is_issue AND EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.article_id = a.article_id)"
        ).fetchone()
    assert rows is not None and stories is not None
    assert rows[0] == stories[0] and rows[1] == built["n_topics"]

    assert main(["--db", str(db), "topics", "build", "--window", "month"]) == 0
    assert "topic build" in capsys.readouterr().out
    assert main(["--db", str(db), "topics", "list"]) == 0
    assert "latest month" in capsys.readouterr().out


def test_demo_builds_topics_and_says_so(demo_db, demo_report, capsys) -> None:  # type: ignore[no-untyped-def]
    """`newsintel demo` ends with a quarter build and an all build, and prints both
    (checked on the session's demo build, so no second demo is built for it)."""
    from newsintel.cli.pipeline import print_demo
    from newsintel.store import open_db
    from newsintel.store.topics import latest_build

    windows = [built.window for built in demo_report.topics]
    assert windows == ["quarter", "all"]
    print_demo(demo_report, demo_db)
    lines = [line for line in capsys.readouterr().out.splitlines() if "topic build" in line]
    assert len(lines) == 2
    assert "(window quarter)" in lines[0] and "(window all)" in lines[1]
    assert demo_report.topics[-1].build_id in lines[1]
    assert all(built.n_topics >= 1 and built.n_articles > 0 for built in demo_report.topics)
    with open_db(demo_db.db, read_only=True) as con:
        latest = latest_build(con)
    assert latest is not None and latest.window == "all"
    assert latest.build_id == demo_report.topics[-1].build_id


def test_cli_and_app_list_topics_in_one_order() -> None:
    from newsintel.store.topics import TopicRow
    from newsintel.topics.emerging import Emergence, listing_order
    from newsintel.ui.tables import topic_table

    def row(topic_id: str, size: int) -> TopicRow:
        return TopicRow(topic_id, topic_id, (), size, 1, None, None, (), ())

    def score(topic_id: str, p: float | None, emerging: bool) -> Emergence:
        return Emergence(topic_id, 5, 1.0, 1.0, 0.5, 3.0, 4.0, p, emerging)

    rows = [row("d", 40), row("c", 10), row("b", 10), row("a", 5), row("e", 99)]
    scores = {
        "a": score("a", 0.001, True),
        "b": score("b", 0.02, True),
        "c": score("c", 0.02, True),  # ties with b on p and size: the id decides
        "d": score("d", 0.4, False),
    }
    expected = ["a", "b", "c", "e", "d"]  # emerging by p, then the rest by size
    ordered = sorted(rows, key=lambda r: listing_order(r.topic_id, r.size, scores.get(r.topic_id)))
    assert [r.topic_id for r in ordered] == expected
    assert topic_table(rows, scores)["topic_id"].tolist() == expected
