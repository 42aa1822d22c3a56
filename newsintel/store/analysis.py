"""Analysis results, stored with their run id, parameters and data window."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from newsintel.store.connect import Connection, transaction

_COLUMNS = (
    "run_id",
    "x",
    "y",
    "freq",
    "test",
    "direction",
    "lag",
    "statistic",
    "p_value",
    "p_adj",
    "effect",
    "ci_low",
    "ci_high",
    "n_obs",
    "window_start",
    "window_end",
    "params",
    "warnings",
)


def save_results(con: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert result rows (dicts keyed by analysis_results columns); replaces same keys."""
    if not rows:
        return 0
    records = []
    for row in rows:
        record = {c: row.get(c) for c in _COLUMNS}
        record["direction"] = record["direction"] or ""
        record["warnings"] = list(record["warnings"] or [])
        params = record["params"]
        # Results may hand over params already encoded; store JSON text exactly once.
        if params is not None and not isinstance(params, str):
            params = json.dumps(params, default=str)
        record["params"] = params
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=_COLUMNS)
    with transaction(con):
        con.register("incoming_results", frame)
        con.execute(
            f"INSERT OR REPLACE INTO analysis_results ({', '.join(_COLUMNS)}) "
            f"SELECT {', '.join(_COLUMNS)} FROM incoming_results"
        )
        con.unregister("incoming_results")
    return len(records)
