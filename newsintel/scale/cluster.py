"""Connecting to Ray: a running local session, a cluster address, or a new local one."""

from __future__ import annotations

import socket
from types import ModuleType
from typing import Any

from newsintel.errors import ConfigError

INSTALL_HINT = "--engine ray needs Ray: pip install 'newsintel[scale]' (or 'ray[data]')"
# Seconds to wait for a cluster address to accept a TCP connection before giving up:
# ray.init itself retries an unreachable GCS for about a minute before it fails.
CONNECT_TIMEOUT_S = 5.0


def import_ray() -> ModuleType:
    """The ``ray`` module, or a one-line ConfigError when the extra is not installed."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ray


def _check_reachable(address: str) -> None:
    target = address.removeprefix("ray://")
    host, _, port = target.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"Ray address {address!r} is not HOST:PORT (or ray://HOST:PORT)")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ConfigError(
            f"Ray cluster at {address} does not answer ({exc.strerror or exc})"
        ) from None


def connect(address: str | None) -> tuple[ModuleType, str | None]:
    """(ray, dashboard URL or None): joins ``address``, else a running or new local Ray.

    A session already started in this process (a notebook, the tests) is reused as it
    is; ``address`` "auto" finds a cluster started on this machine with ``ray start``.
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray, _dashboard(ray)
    if address and address != "auto":
        _check_reachable(address)
    try:
        context: Any = ray.init(
            address=address or None, ignore_reinit_error=True, log_to_driver=False
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray"
        raise ConfigError(f"cannot start or join {where}: {exc}".splitlines()[0]) from None
    del context
    return ray, _dashboard(ray)


def _dashboard(ray: ModuleType) -> str | None:
    # Ray keeps the running session's dashboard address only in a private module.
    try:
        from ray._private import worker

        getter: Any = worker.get_dashboard_url
        url = str(getter() or "")
    except (ImportError, AttributeError, RuntimeError):
        return None
    return (url if url.startswith("http") else f"http://{url}") if url else None
