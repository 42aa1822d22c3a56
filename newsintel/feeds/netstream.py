"""httpcore network backends for newsintel's transports: asyncio streams, large reads.

``asyncio_transport`` (feeds and archives, many small pages): httpcore (httpx's
transport layer) reaches asyncio through anyio by default, and anyio
wraps every read and write in a cancel scope with its own bookkeeping: a third of the
CPU of an archive page fetch over loopback (0.5 -> 0.33 ms user CPU per page, fetching
5,000 pages alone). httpcore documents the network backend as its extension point; this
one keeps what httpcore relies on: its exceptions (``ConnectError``, ``ReadTimeout``...,
so httpx maps them to the same ``httpx`` errors and ``fetch_feed`` to the same
messages, the OS error kept as the cause), per-operation timeouts, TLS, and the
``is_readable`` check by which the pool drops a connection the server closed.

``bulk_transport`` (GDELT's GKG zips, a few large files per worker): httpcore's own
blocking sockets, read in larger pieces.
"""

from __future__ import annotations

import asyncio
import ssl
import typing

import httpcore
import httpx

# The socket check httpcore's own backends use for "is_readable".
from httpcore._utils import is_socket_readable

# Bytes a read may return at once; httpcore asks for 64 KiB.
_STREAM_LIMIT = 2**20


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ReadError(exc) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()  # returns at once unless the buffer is full
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.WriteError(exc) from exc

    async def aclose(self) -> None:
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.close()
            raise httpcore.ConnectTimeout(exc) from exc
        except (OSError, ssl.SSLError) as exc:
            self._writer.close()
            raise httpcore.ConnectError(exc) from exc
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":
            sock = self._writer.get_extra_info("socket")
            return sock is not None and is_socket_readable(sock)
        names = {
            "ssl_object": "ssl_object",
            "client_addr": "sockname",
            "server_addr": "peername",
            "socket": "socket",
        }
        return self._writer.get_extra_info(names[info]) if info in names else None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections as asyncio streams (no Unix sockets: feeds are http(s) URLs)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    limit=_STREAM_LIMIT,
                    local_addr=(local_address, 0) if local_address else None,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ConnectError(exc) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def asyncio_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with ``limits``, its connection pool on ``AsyncioBackend``.

    httpx takes no network backend, so the pool it built is replaced by one with the
    same settings (httpx's defaults: verified TLS, HTTP/1.1, no retries).
    """
    transport = httpx.AsyncHTTPTransport(limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        **_pool_settings(limits), network_backend=AsyncioBackend()
    )
    return transport


def _pool_settings(limits: httpx.Limits) -> dict[str, typing.Any]:
    """What httpx gives the connection pool it builds itself: verified TLS and ``limits``."""
    return {
        "ssl_context": httpx.create_ssl_context(),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class _LargeReads(httpcore.NetworkStream):
    """A blocking socket stream that reads up to ``_STREAM_LIMIT`` bytes at a time."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max(max_bytes, _STREAM_LIMIT), timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _LargeReads(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class LargeReadBackend(httpcore.NetworkBackend):
    """httpcore's own blocking sockets, read in pieces of up to 1 MiB instead of 64 KiB.

    For bulk downloads (GDELT's GKG zips, megabytes each): each read goes through h11's
    parser and a copy, so 64 KiB reads cost a 1.6 MB file about 5 ms of CPU, 1 MiB reads
    about 1.5 ms (more than the file's md5).
    """

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _LargeReads(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bulk_transport() -> httpx.HTTPTransport:
    """httpx's transport with its defaults (verified TLS, HTTP/1.1, no retries), its
    connection pool on ``LargeReadBackend`` (replaced as in ``asyncio_transport``)."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(
        **_pool_settings(httpx.Limits()), network_backend=LargeReadBackend()
    )
    return transport
