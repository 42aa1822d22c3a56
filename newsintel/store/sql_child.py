"""The child process of ``store.sql``: one ad-hoc query under its limits.

Reads a pickled request on stdin, caps its own data segment (``RLIMIT_DATA``), runs the
query and writes a pickled QueryResult, or one of our errors, to stdout.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys

from newsintel.errors import NewsintelError
from newsintel.store.sql import _PROCESS_HEADROOM, execute_limited


def main() -> int:
    # The answer gets the real stdout alone; anything else printed (DuckDB's progress
    # bar, a warning) goes to stderr.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    db, query, max_rows, limits, spill, memory = pickle.loads(sys.stdin.buffer.read())
    cap = memory + _PROCESS_HEADROOM
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    try:
        outcome: object = execute_limited(db, query, max_rows, limits, spill)
    except NewsintelError as exc:
        outcome = exc
    answer.write(pickle.dumps(outcome))
    answer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
