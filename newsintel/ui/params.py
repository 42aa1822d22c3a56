"""Filters that live in the URL (st.query_params), so that a view can be shared.

Each helper reads its starting value from the URL (falling back to a default when the
value is missing or not allowed), draws the widget, and writes the chosen value back
to the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import streamlit as st


def read(key: str, default: str = "") -> str:
    """The URL's value for ``key`` (the last one if repeated), or ``default``."""
    value = st.query_params.get(key)
    return default if value is None else str(value)


def write(key: str, value: str, default: str | None = None) -> None:
    """Put ``value`` in the URL; an empty value or ``default`` removes the key instead."""
    if value == "" or (default is not None and value == default):
        if key in st.query_params:
            del st.query_params[key]
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def choice(
    label: str,
    options: Sequence[str],
    *,
    key: str,
    default: str,
    format_func: Callable[[str], str] = str,
    horizontal: bool = False,
    help: str | None = None,  # noqa: A002 - mirrors Streamlit's argument name
) -> str:
    """A selectbox (or segmented control) over ``options`` bound to URL key ``key``."""
    options = list(options)
    if not options:
        return default
    start = read(key, default)
    if start not in options:
        start = default if default in options else options[0]
    widget_key = f"qp.{key}"
    if horizontal:
        value = st.segmented_control(
            label,
            options,
            default=start,
            format_func=format_func,
            key=widget_key,
            help=help,
        )
        # A segmented control can be clicked off: keep the last choice instead.
        value = value if value is not None else start
    else:
        value = st.selectbox(
            label,
            options,
            index=options.index(start),
            format_func=format_func,
            key=widget_key,
            help=help,
        )
    chosen = str(value)
    write(key, chosen)
    return chosen


def text(label: str, *, key: str, placeholder: str = "", help: str | None = None) -> str:  # noqa: A002
    """A text input bound to URL key ``key`` (stripped; empty removes the key)."""
    value = st.text_input(
        label, value=read(key), key=f"qp.{key}", placeholder=placeholder, help=help
    ).strip()
    write(key, value)
    return value


def _parse_date(text: str, fallback: date) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return fallback


def date_range(
    label: str, *, lowest: date, highest: date, default_start: date, key: str = "from"
) -> tuple[date, date]:
    """A from/to date picker bound to URL keys ``key`` and ``to``, kept inside the data."""
    start = min(max(_parse_date(read(key), default_start), lowest), highest)
    end = min(max(_parse_date(read("to"), highest), start), highest)
    picked = st.date_input(
        label, value=(start, end), min_value=lowest, max_value=highest, key=f"qp.{key}"
    )
    # While the user is between the two clicks of a range, only one date is picked.
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked[0], picked[1]
    elif isinstance(picked, tuple) and len(picked) == 1:
        start = picked[0]
    write(key, start.isoformat(), default=default_start.isoformat())
    write("to", end.isoformat(), default=highest.isoformat())
    return start, end
