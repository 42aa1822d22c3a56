"""make_client and bulk_transport over TLS: feeds/netstream.py speaks https as httpx did.

A loopback https server with a self-signed certificate made for these tests
(tests/fixtures/tls_localhost.pem, for 127.0.0.1). Trusted through SSL_CERT_FILE, as
httpx trusts it, a feed comes back over one kept-alive connection; untrusted, the fetch
fails with the verification error, as before.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from newsintel.config import Settings
from newsintel.feeds.fetch import FeedClient, FetchResult, FetchState, fetch_feed, make_client
from newsintel.feeds.sources import FeedSource

pytestmark = pytest.mark.timeout(30)

FIXTURES = Path(__file__).parent / "fixtures"
CERT, KEY = FIXTURES / "tls_localhost.pem", FIXTURES / "tls_localhost.key"
BODY = b"<rss><channel><title>Over TLS</title></channel></rss>"


class _Feed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the second fetch reuses the connection

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass


@pytest.fixture
def https_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    server = HTTPServer(("127.0.0.1", 0), _Feed)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/feed"
    finally:
        server.shutdown()
        server.server_close()


def _fetch_twice(url: str) -> list[FetchResult]:
    settings = Settings(fetch_timeout=5.0)

    async def run() -> list[FetchResult]:
        async with make_client(settings) as client:
            assert isinstance(client, FeedClient)  # the asyncio-stream transport
            source = FeedSource("tls", "tls", url)
            return [await fetch_feed(client, source, FetchState(), settings) for _ in range(2)]

    return asyncio.run(run())


def test_https_feed_with_a_trusted_certificate(
    https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    results = _fetch_twice(https_url)
    assert [(r.status, r.http_status, r.body, r.error) for r in results] == [
        ("ok", 200, BODY, None)
    ] * 2


def test_untrusted_certificate_fails_with_the_verification_error(
    https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    results = _fetch_twice(https_url)
    for result in results:
        assert result.status == "failed" and result.body is None
        assert result.error is not None and "CERTIFICATE_VERIFY_FAILED" in result.error


def test_bulk_transport_speaks_https_and_refuses_an_untrusted_certificate(
    https_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GKG downloads' transport (blocking sockets, large reads) over TLS."""
    import httpx

    from newsintel.feeds.netstream import bulk_transport

    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    with httpx.Client(transport=bulk_transport()) as client:
        responses = [client.get(https_url) for _ in range(2)]  # the second on the kept socket
    assert [(r.status_code, r.content) for r in responses] == [(200, BODY)] * 2
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with (
        httpx.Client(transport=bulk_transport()) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(https_url)
