"""The store: the only package that imports duckdb.

Every function takes an open connection (from :func:`connect`) and plain values, and
returns plain values (and pandas frames). The rest of newsintel holds a connection only
as an opaque handle to pass back in (``store.connect.Connection``, duckdb's connection
class under a store name) and runs no SQL on it. The duckdb errors a caller can act on
(a locked or missing file, a database that cannot be read, a sandboxed query's
limits) are raised as ``newsintel.errors`` classes; any other duckdb error means a
bug in a query and is left as it is (the CLI still prints it as one line).
"""

from newsintel.store.connect import connect, open_db
from newsintel.store.schema import current_version, migrate

__all__ = ["connect", "current_version", "migrate", "open_db"]
