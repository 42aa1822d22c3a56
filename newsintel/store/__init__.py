"""The store: the only package that imports duckdb.

Every function takes an open connection (from :func:`connect`) and plain values, and
returns plain values, so that the rest of newsintel never sees SQL or duckdb types.
"""

from newsintel.store.connect import connect, open_db
from newsintel.store.schema import current_version, migrate

__all__ = ["connect", "current_version", "migrate", "open_db"]
