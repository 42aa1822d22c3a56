"""Give the fictional sample stories (data/sample/*.xml) dates drawn at random.

The sample stories were first dated by hand so that lithium coverage rose and fell
with the bundled lithium prices: a demo that planted the relationship it then "found".
This script re-dates every item from a seeded random draw, uniform over one fixed
span, and never opens data/series or any other price data: how many stories a feed
has in a week, and which ones, is now chance, not the prices.

An item keeps its text and its sequence number (the ``-NNN`` that ends its GUID); each
item gets its own time drawn uniformly in [SPAN_START, SPAN_END), independently of the
others. (Not the sorted draws in written order: that would keep each story near its
old place in time, and with it the hand-made link to the prices.) The date inside
GUIDs and links follows the new date, and labels.csv follows the GUIDs. The output
depends only on the seed and the items, not on their old dates: running it twice
changes nothing. Usage, from the repository root::

    python scripts/make_sample_dates.py [--seed 20261203]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
SEED = 20261203
# The span the sample covered before (its first and last story), kept so that the
# demo's weeks stay where they were; chosen from the stories, not from any price.
SPAN_START = datetime(2023, 7, 21, tzinfo=UTC)
SPAN_END = datetime(2026, 8, 21, tzinfo=UTC)

_ITEM = re.compile(r"<(item|entry)>.*?</\1>", re.DOTALL)
_GUID = re.compile(r"(<guid[^>]*>|<id>)([^<]*?)(\d{8})-(\d{3})(</guid>|</id>)")
_LINK_MONTH = re.compile(r"(https://sample\.newsintel\.invalid/[a-z-]+/)\d{4}/\d{2}/")
_RSS_DATE = re.compile(r"<pubDate>[^<]*</pubDate>")
_ATOM_DATES = re.compile(r"<(published|updated)>[^<]*</\1>")
_FEED_RSS_DATE = re.compile(r"<lastBuildDate>[^<]*</lastBuildDate>")


def _draw(rng: random.Random, count: int) -> list[datetime]:
    seconds = (SPAN_END - SPAN_START).total_seconds()
    # Ten-minute steps, like the hand-written dates.
    steps = [rng.randrange(int(seconds // 600)) for _ in range(count)]
    return [SPAN_START + timedelta(minutes=10 * s) for s in steps]


def _redate(item: str, when: datetime) -> tuple[str, str, str]:
    """The item with its new date everywhere; (new item, old guid, new guid)."""
    found = _GUID.search(item)
    if found is None:
        raise SystemExit(f"an item without a sample GUID: {item[:120]!r}")
    old_guid = found.group(2) + found.group(3) + "-" + found.group(4)
    new_guid = found.group(2) + f"{when:%Y%m%d}-" + found.group(4)
    item = _GUID.sub(lambda m: m.group(1) + new_guid + m.group(5), item, count=1)
    item = _LINK_MONTH.sub(lambda m: m.group(1) + f"{when:%Y/%m}/", item)
    item = _RSS_DATE.sub(f"<pubDate>{format_datetime(when)}</pubDate>", item)
    stamp = when.isoformat()
    item = _ATOM_DATES.sub(lambda m: f"<{m.group(1)}>{stamp}</{m.group(1)}>", item)
    return item, old_guid, new_guid


def redate_feed(path: Path, rng: random.Random) -> dict[str, str]:
    """Rewrite one sample feed in place; returns old GUID -> new GUID."""
    text = path.read_text("utf-8")
    items = [m.group(0) for m in _ITEM.finditer(text)]
    first, last = _ITEM.search(text), list(_ITEM.finditer(text))[-1]
    assert first is not None
    head, tail = text[: first.start()], text[last.end() :]
    sequence = sorted(items, key=lambda item: int(_GUID.search(item).group(4)))  # type: ignore[union-attr]
    times = _draw(rng, len(items))
    dated = [_redate(item, when) for item, when in zip(sequence, times, strict=True)]
    newest = max(times)
    # Feeds list their newest entry first.
    order = sorted(range(len(dated)), key=lambda i: times[i], reverse=True)
    body = "\n".join(dated[i][0] for i in order)
    head = _FEED_RSS_DATE.sub(f"<lastBuildDate>{format_datetime(newest)}</lastBuildDate>", head)
    head = re.sub(r"<updated>[^<]*</updated>", f"<updated>{newest.isoformat()}</updated>", head)
    path.write_text(head + body + tail, "utf-8")
    return {old: new for _item, old, new in dated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--dir", type=Path, default=SAMPLE, help="the sample folder")
    args = parser.parse_args()
    renamed: dict[str, str] = {}
    for index, path in enumerate(sorted(args.dir.glob("*.xml"))):
        # One generator per feed, seeded by the seed and the file's place: adding a
        # feed never moves the dates of the others.
        renamed |= redate_feed(path, random.Random(args.seed * 100 + index))
    labels = args.dir / "labels.csv"
    with labels.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows = [rows[0]] + [[renamed.get(r[0], r[0]), *r[1:]] for r in rows[1:]]
    with labels.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    print(f"re-dated {len(renamed)} sample items with seed {args.seed}")


if __name__ == "__main__":
    main()
