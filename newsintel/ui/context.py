"""Settings handed from the router (app.py) to the pages of one script run.

app.py loads Settings at the edge and stores them here; pages read them back. They
live in session state, so every browser session gets the settings of its own run.
"""

from __future__ import annotations

import streamlit as st

from newsintel.config import Settings

_KEY = "newsintel.settings"


def use_settings(settings: Settings) -> None:
    """Make ``settings`` the settings of this run (called by app.py on every run)."""
    st.session_state[_KEY] = settings


def current_settings() -> Settings:
    """The settings app.py loaded for this run."""
    value = st.session_state.get(_KEY)
    if not isinstance(value, Settings):
        # A page opened without the router: fall back to the environment's settings.
        from newsintel.config import load_settings

        value = load_settings()
        st.session_state[_KEY] = value
    return value
