"""Derive data/history/ (the demo's real article history) from ../shared/data.

The GDELT lithium article list (one row per article GDELT matched to "lithium",
2017-05 .. 2023-05) is reshaped only: the upstream/downstream flags of the original
analysis are dropped (not reliable labels), tone is rounded to 4 decimals, and the rows
are sorted by date then URL. No titles are added: `newsintel backfill import
--format gdelt-gkg` derives each title from its URL slug at import and marks it
derived, so the rule lives in one place. Run from the repository root:
python scripts/derive_demo_history.py ../shared/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

SOURCE = "attention/gdelt_lithium_news_articles_2017-2023.csv"
OUTPUT = "gdelt_lithium_articles_2017-2023.csv"


def main(shared: Path, out: Path) -> None:
    frame = pd.read_csv(shared / SOURCE)
    result = pd.DataFrame(
        {"date": frame["DATE"], "url": frame["url"], "tone": frame["tone"].round(4)}
    ).sort_values(["date", "url"], kind="stable")
    out.mkdir(parents=True, exist_ok=True)
    result.to_csv(out / OUTPUT, index=False)
    print(f"{OUTPUT}: {len(result)} articles {result['date'].min()} .. {result['date'].max()}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"), Path("data/history"))
