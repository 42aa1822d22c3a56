"""One BLAS thread while the analysis runs.

Every fit here is small (a few hundred rows, at most a few dozen columns). OpenBLAS
still hands each call to its thread pool, whose start-up and spinning cost more than
the arithmetic; on a machine whose cores are busy with other work that made lead/lag
several times slower than with one thread. The limit is lifted when the call returns.
Numbers do not depend on it: one thread computes the same products.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

__all__ = ["one_blas_thread"]


@lru_cache(maxsize=1)
def _controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries, or None without threadpoolctl.

    Built once (inspecting the loaded libraries takes about half a millisecond), after
    loading scipy.linalg: scipy ships its own OpenBLAS beside numpy's, and statsmodels
    uses both.
    """
    try:
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, no limit
        return None
    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit BLAS to one thread for the duration of the block (or decorated call)."""
    controller = _controller()
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
