"""newsintel: commodity-and-tech news intelligence.

Collect feeds, embed articles, assign themes, relate theme series to commodity prices,
and serve the results through a Streamlit app, digest emails, a CLI and SQL on DuckDB.
The public entry points are the ``newsintel`` command (:mod:`newsintel.cli`) and the
jobs in :mod:`newsintel.jobs`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
