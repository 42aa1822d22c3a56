"""Our errors as friendly messages: a page shows what to do, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from newsintel.config import Settings
from newsintel.errors import ConfigError, DatabaseLockedError, NewsintelError

DEMO_HINT = (
    "Build the demo database with `make demo` (or `newsintel demo`), or point "
    "`NEWSINTEL_DB` at an existing database, then reload this page."
)


def database_missing(settings: Settings) -> bool:
    """True when the configured database is a file that does not exist yet."""
    path = settings.db_path()
    return path is not None and not Path(path).exists()


def show_missing_database(settings: Settings) -> None:
    """Tell the user there is no database yet and how to make one."""
    st.info(f"No database at `{settings.db}` yet. {DEMO_HINT}", icon=":material/database:")


def show_error(exc: NewsintelError) -> None:
    """One clear message for one of our errors."""
    if isinstance(exc, DatabaseLockedError):
        st.warning(
            "The pipeline is writing to the database right now, so it cannot be read. "
            "Wait a few seconds and reload the page.",
            icon=":material/hourglass_top:",
        )
    elif isinstance(exc, ConfigError):
        st.warning(f"Configuration problem: {exc}", icon=":material/settings:")
    else:
        st.warning(str(exc), icon=":material/warning:")


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Show any NewsintelError raised inside the block as a message and stop the run."""
    try:
        yield
    except NewsintelError as exc:
        show_error(exc)
        st.stop()
