"""The whole thin path through the real CLI, in subprocesses, on a temporary database.

Feeds are served by a loopback HTTP server; the real bundled model embeds; every
step is a `newsintel` command as users and cron call it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


# Three stories written for this test, published after every sample story.
LATE_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel>
<title>Late wire</title><link>https://late.example/</link><description>t</description>
<item><title>Salta brine producer doubles its evaporation ponds as lithium prices recover</title>
<link>https://late.example/salta-ponds</link><guid>late-1</guid>
<pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate>
<description>The lithium carbonate plant adds two ponds and a second purification line.
</description></item>
<item><title>Battery makers sign a five-year spodumene supply deal in Western Australia</title>
<link>https://late.example/spodumene-deal</link><guid>late-2</guid>
<pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate>
<description>The contract fixes volumes of lithium concentrate for cathode plants.
</description></item>
<item><title>A robot startup shows a humanoid that folds laundry from a world model</title>
<link>https://late.example/humanoid-laundry</link><guid>late-3</guid>
<pubDate>Wed, 02 Dec 2026 08:00:00 GMT</pubDate>
<description>The company trained the robot's planner in simulation before the real tests.
</description></item>
</channel></rss>
"""


def newsintel(*args: str, db: Path) -> str:
    env = {**os.environ, "NEWSINTEL_DB": str(db), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "newsintel", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@contextmanager
def sample_feeds(tmp_path: Path) -> Iterator[Path]:
    """The bundled sample feeds on a loopback server; yields a feeds file naming them."""
    www = tmp_path / "www"
    shutil.copytree(ROOT / "data" / "sample", www)
    with FeedServer(root=www) as server:
        feeds = tmp_path / "feeds.toml"
        feeds.write_text(
            "\n".join(
                f'[[feeds]]\nname = "{f.stem}"\nurl = "{server.url("/" + f.name)}"\n'
                'tags = ["e2e"]\n'
                for f in sorted(www.glob("*.xml"))
            )
        )
        yield feeds


def test_feeds_to_digest_through_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "e2e.duckdb"
    with sample_feeds(tmp_path) as feeds:
        assert "schema version" in newsintel("init", db=db)
        first = json.loads(newsintel("ingest", "--feeds", str(feeds), "--json", db=db))
        assert first["feeds_ok"] == 6 and first["feeds_failed"] == 0
        assert first["new_articles"] > 300
        second = json.loads(newsintel("ingest", "--feeds", str(feeds), "--json", "--force", db=db))
        assert second["new_articles"] == 0
        assert second["feeds_not_modified"] == 6

    stories = int(
        newsintel(
            "sql", "select count(*) from articles where not is_issue", "--format", "csv", db=db
        ).splitlines()[1]
    )
    assert f"embedded {stories} articles" in newsintel("embed", db=db)
    assert "embedded 0 articles" in newsintel("embed", db=db)

    newsintel("themes", "assign", db=db)
    themes = {t["theme_id"]: t for t in json.loads(newsintel("themes", "list", "--json", db=db))}
    assert themes["lithium_batteries"]["stories"] > 30
    assert themes["world_models"]["stories"] > 15

    out = newsintel(
        "series",
        "import",
        str(ROOT / "data" / "series" / "lithium_carbonate_weekly.csv"),
        "--name",
        "lithium_carbonate",
        "--unit",
        "CNY/t",
        "--kind",
        "price",
        db=db,
    )
    assert "lithium_carbonate (price)" in out

    result = json.loads(
        newsintel(
            "analyze",
            "theme:lithium_batteries",
            "series:lithium_carbonate",
            "--freq",
            "W",
            "--max-lag",
            "6",
            "--json",
            db=db,
        )
    )
    assert {"x", "y", "freq", "n_obs", "ccf", "granger", "best_lag", "warnings"} <= set(result)
    assert (result["x"], result["y"], result["freq"]) == (
        "theme:lithium_batteries",
        "series:lithium_carbonate",
        "W",
    )
    assert result["n_obs"] > 100
    assert [p["lag"] for p in result["ccf"]] == list(range(-6, 7))
    assert all(len(p["ci"]) == 2 and -1 <= p["r"] <= 1 for p in result["ccf"])
    assert {g["direction"] for g in result["granger"]} == {"x->y", "y->x"}

    out_dir = tmp_path / "digest"
    newsintel("digest", "--dry-run", "--out", str(out_dir), db=db)
    emls = list(out_dir.glob("*.eml"))
    assert len(emls) == 1
    message = BytesParser(policy=policy.default).parsebytes(emls[0].read_bytes())
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    assert "Lithium" in text

    weekly = newsintel("sql", "select count(*) from v_theme_weekly", "--format", "csv", db=db)
    assert int(weekly.splitlines()[1]) > 0


def test_demo_database_answers_the_readme_query(demo_db) -> None:  # type: ignore[no-untyped-def]
    out = newsintel(
        "sql", "select count(*) from v_theme_weekly", "--format", "csv", db=Path(demo_db.db)
    )
    assert out.splitlines()[0] == "count_star()"
    assert int(out.splitlines()[1]) > 0
    series = newsintel("series", "list", db=Path(demo_db.db))
    assert "lithium_carbonate" in series and "gdelt_lithium_news" in series


def test_run_builds_topics_places_new_stories_and_skips_when_nothing_is_new(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    with sample_feeds(tmp_path) as feeds:
        first = json.loads(newsintel("run", "--feeds", str(feeds), "--json", db=db))
        assert first["ingest"]["new_articles"] > 300 and first["embedded"] > 300
        built = first["topics"]
        assert built is not None and built["window"] == "all" and built["n_topics"] >= 3
        assert built["n_articles"] > 0.9 * first["embedded"]

        assert built["rebuild_reason"] == "no topic build of all stories for this model yet"
        steps = ["ingest", "load the embedding model", "embed", "group near-duplicates"]
        steps += ["assign themes", "analyse"]
        timed = first["step_seconds"]
        assert list(timed) == [*steps, "topics"] and timed["embed"] > 0
        assert all(seconds >= 0 for seconds in timed.values())

        again = json.loads(newsintel("run", "--feeds", str(feeds), "--json", db=db))
        assert again["ingest"]["new_articles"] == 0 and again["embedded"] == 0
        assert again["topics"] is None
        assert list(again["step_seconds"]) == steps  # nothing embedded: no topics step

        # Three new stories (under 5% of those clustered) join the build's topics.
        served = feeds.read_text().split('url = "', 1)[1].split('"', 1)[0]
        (tmp_path / "www" / "late.xml").write_text(LATE_FEED, "utf-8")
        with feeds.open("a", encoding="utf-8") as handle:
            late_url = served.rsplit("/", 1)[0] + "/late.xml"
            handle.write(f'[[feeds]]\nname = "late"\nurl = "{late_url}"\n')
        third = newsintel("run", "--feeds", str(feeds), db=db)
        assert f"topics: placed 3 new stories in the {built['n_topics']} topics of build " in third
        assert f"build {built['build_id']} (3 placed since it clustered " in third
        took = next(line for line in third.splitlines() if line.startswith("steps took "))
        assert ": ingest " in took and took.endswith(" s") and ", topics " in took

    listed = json.loads(newsintel("topics", "list", "--json", db=db))
    assert listed["build_id"] == built["build_id"]
    assert sum(t["size"] for t in listed["topics"]) == built["n_articles"] + 3
