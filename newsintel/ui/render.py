"""Charts on a page: Vega-Lite specs built once per data and shared by every session.

``st.altair_chart`` rebuilds and validates a chart's spec against the Vega-Lite JSON
schema on every page load of every session: with the chart's own construction that
was most of a page's CPU (docs/ARCHITECTURE.md, Many users). Here a page hands the
builder (a function of ``ui.charts``) and its arguments to :func:`chart`; the spec is
built without schema validation (the builders' specs are checked by
tests/test_ui_charts.py, where ``to_dict()`` validates) and cached by its arguments'
content, so 25 sessions on one snapshot build each chart once, and new data (a new
snapshot) builds a new one. The spec is what ``st.altair_chart`` would send: the
"none" theme and every dataset as Arrow IPC bytes under a hash of its bytes.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import Any, ParamSpec

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.dataframe_util import convert_anything_to_arrow_bytes
from streamlit.util import calc_hash

from newsintel.ui import charts

P = ParamSpec("P")
Spec = dict[str, Any]
_TRANSFORMER = "newsintel_arrow"
# Altair's active theme and data transformer are process-wide: one spec at a time.
_ALTAIR = threading.Lock()


def _to_arrow(data: Any, datasets: dict[str, bytes]) -> dict[str, str]:
    # An Altair data transformer: the chart refers to its data by name, the bytes go
    # to the spec's datasets (as Streamlit's own altair_chart does).
    raw = convert_anything_to_arrow_bytes(data)
    name = calc_hash(raw)
    datasets[name] = raw
    return {"name": name}


alt.data_transformers.register(_TRANSFORMER, _to_arrow)


def vega_spec(built: charts.ChartLike) -> Spec:
    """``built`` as a Vega-Lite dict with Arrow datasets, not validated against the schema."""
    datasets: dict[str, bytes] = {}
    with (
        _ALTAIR,
        alt.theme.enable("none"),
        alt.data_transformers.enable(_TRANSFORMER, datasets=datasets),
    ):
        spec: Spec = built.to_dict(validate=False)
    spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def _frame_key(frame: pd.DataFrame) -> str:
    # Streamlit's own frame hash fails on cells that hold arrays (the CCF rows'
    # warnings) and then logs a warning on every call before it pickles the frame.
    head = f"{list(frame.columns)}|{list(frame.dtypes.astype(str))}|".encode()
    try:
        return calc_hash(head + pd.util.hash_pandas_object(frame).to_numpy().tobytes())
    except TypeError:
        return calc_hash(head + pickle.dumps(frame))


@st.cache_data(max_entries=256, show_spinner=False, hash_funcs={pd.DataFrame: _frame_key})
def _cached_spec(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Spec:
    # Keyed by the builder's name and its arguments' content (Streamlit hashes the
    # frames), not by time: a spec never goes stale, only out of the bounded cache.
    builder: Callable[..., charts.ChartLike] = getattr(charts, name)
    return vega_spec(builder(*args, **kwargs))


def chart(builder: Callable[P, charts.ChartLike], *args: P.args, **kwargs: P.kwargs) -> None:
    """Draw ``builder(*args, **kwargs)`` at the container's width, built once per data."""
    name = builder.__name__
    if getattr(charts, name, None) is not builder:
        raise ValueError(f"{name} is not a chart builder of newsintel.ui.charts")
    st.vega_lite_chart(_cached_spec(name, args, kwargs), width="stretch")
