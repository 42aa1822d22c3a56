"""The app's result cache: kept per snapshot, expired every minute for a live database."""

from __future__ import annotations

import time

import pytest
import streamlit as st

from newsintel.ui import data


def test_live_results_expire_after_a_minute_and_not_before(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    @st.cache_data
    def counted(key: str) -> int:
        calls.append(1)
        return len(calls)

    monkeypatch.setitem(data._live, "cleared", time.monotonic())
    assert counted("db") == 1
    data.expire_live()  # less than LIVE_TTL_S since the last expiry: kept
    assert counted("db") == 1
    monkeypatch.setitem(data._live, "cleared", time.monotonic() - data.LIVE_TTL_S - 1)
    data.expire_live()
    assert counted("db") == 2  # computed again
    data.expire_live()  # the clock restarted at the expiry
    assert counted("db") == 2
