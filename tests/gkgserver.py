"""A loopback server for GDELT GKG 2.1 files and their ``masterfilelist.txt``.

Tests write the files themselves in GDELT's documented layout (27 tab-separated
columns, one zipped ``YYYYMMDDHHMMSS.gkg.csv`` per 15 minutes)::

    with GkgServer() as server:
        server.add_file(stamp, gkg_zip(stamp, [gkg_row(...), ...]))
        settings = load_settings(env={}, gkg_master_url=server.master_url)

``add_file`` lists the file in the master list (``SIZE MD5 URL``) with the md5 of the
bytes served unless ``md5`` is given (a mismatch); ``listed_only`` lists a file that
answers 404; ``master_lines`` adds raw lines (export files, garbage). ``hold(name)``
makes requests for a file wait until the returned event is set. ``requests`` logs
every path asked for.

Run as a script (``python tests/gkgserver.py SEED FILES ROWS [OFF_SHARE]``) it serves
``synthetic_files`` until stdin closes, after printing its master list URL (the
benchmark's child, so that its CPU is not the driver's).
"""

from __future__ import annotations

import hashlib
import io
import random
import sys
import threading
import zipfile
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

GKG_COLUMNS = 27
_TOPICS = (
    ("Lithium prices slide as new mines open", "ENV_MINING;ECON_COMMODITIES"),
    ("Spodumene supply deal signed in Australia", "ENV_MINING"),
    ("Startup raises funds for humanoid robot hands", "TECH_ROBOTICS"),
    ("World models learn physics from video", "TECH_AI"),
    ("Local council approves new parking rules", "GENERAL_GOVERNMENT"),
    ("Football club signs a new striker", "SPORTS"),
    ("Chatbot for doctors passes clinical exam", "HEALTH_AI"),
    ("Battery recycling plant delayed again", "ENV_RECYCLING"),
)
# Local politics and sport: off every theme anyone tracks, most of what GDELT lists.
_OFF_TOPICS = (4, 5)
_DOMAINS = ("mining.com", "www.reuters.com", "electrek.co", "techcrunch.com", "example.org")


def gkg_row(
    record: str,
    date: datetime,
    url: str,
    title: str,
    *,
    themes: str = "",
    tone: float = -1.25,
    source: str | None = None,
    gcam: str = "",
) -> bytes:
    """One GKG 2.1 row: the columns GDELT documents, the rest empty (as many rows are)."""
    fields = [""] * GKG_COLUMNS
    fields[0] = record
    fields[1] = date.strftime("%Y%m%d%H%M%S")
    fields[2] = "1"  # WEB
    fields[3] = source or url.split("/")[2].removeprefix("www.")
    fields[4] = url
    fields[7] = ";".join(c for c in themes.split(";") if c) + (";" if themes else "")
    fields[8] = ";".join(f"{c},{i * 10}" for i, c in enumerate(themes.split(";")) if c)
    fields[15] = f"{tone},2.1,3.3,5.4,20.1,0,250"
    fields[17] = gcam
    fields[26] = f"<PAGE_LINKS></PAGE_LINKS><PAGE_TITLE>{title}</PAGE_TITLE>"
    return "\t".join(fields).encode("utf-8") + b"\n"


def gkg_zip(stamp: datetime, rows: list[bytes]) -> bytes:
    """A zip holding ``YYYYMMDDHHMMSS.gkg.csv`` with the rows, as GDELT publishes it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stamp:%Y%m%d%H%M%S}.gkg.csv", b"".join(rows))
    return buffer.getvalue()


# Real rows are mostly GCAM (word counts per dictionary dimension): 300 random
# "cD.N:V" entries make 3.3 KB rows that zip 3.1x, as GDELT's do, so the tests' bytes
# and unzip cost are of the right kind, not those of 200-byte rows.
GCAM_ENTRIES = 300
# GDELT's own rows are larger: a third-party measurement of a whole day of English GKG
# 2.1 (2025-01-27, 96 files: 533.9 MB zipped, 1,653.6 MB unzipped, 130,852 rows) gives
# 1,363 rows a file, 12.6 KB a row unzipped, 4.1 KB zipped. This many entries make
# rows of that size (the benchmark's GDELT-sized files).
GDELT_GCAM_ENTRIES = 1_200
GDELT_ROWS_PER_FILE = 1_363


def _gcam(rng: random.Random, entries: int) -> str:
    return ",".join(
        f"c{rng.randrange(1, 25)}.{rng.randrange(1, 200)}:{rng.randrange(1, 60)}"
        for _ in range(entries)
    )


def synthetic_rows(
    seed: int,
    stamp: datetime,
    count: int,
    off_share: float = 0.0,
    gcam_entries: int = GCAM_ENTRIES,
) -> list[bytes]:
    """``count`` rows for the file of ``stamp``: mixed topics, some off every theme.

    ``off_share`` of the rows (on average) are local politics and sport, the rest an
    even mix of all topics: 0 (the tests' mix) keeps about half of them for themes on
    lithium and robots, 0.96 about 2%, nearer GDELT, where any one theme is a sliver
    of the world's news. ``gcam_entries`` sets the rows' size (GDELT_GCAM_ENTRIES:
    GDELT's).
    """
    rng = random.Random(f"{seed}-{stamp}")
    rows = []
    for i in range(count):
        if off_share and rng.random() < off_share:  # the tests' mix draws as before
            title, themes = _TOPICS[_OFF_TOPICS[rng.randrange(len(_OFF_TOPICS))]]
        else:
            title, themes = _TOPICS[rng.randrange(len(_TOPICS))]
        domain = _DOMAINS[rng.randrange(len(_DOMAINS))]
        slug = f"{title.lower().replace(' ', '-')}-{stamp:%Y%m%d%H%M}-{i}"
        rows.append(
            gkg_row(
                f"{stamp:%Y%m%d%H%M%S}-{i}",
                stamp + timedelta(seconds=i % 900),
                f"https://{domain}/news/{slug}",
                f"{title} ({stamp:%b %d %H:%M} #{i})",
                themes=themes,
                tone=round(rng.uniform(-5, 5), 2),
                gcam=_gcam(rng, gcam_entries),
            )
        )
    return rows


def synthetic_files(
    seed: int,
    files: int,
    rows: int,
    start: datetime = datetime(2024, 3, 1),
    off_share: float = 0.0,
    gcam_entries: int = GCAM_ENTRIES,
) -> list[tuple[datetime, bytes]]:
    """``files`` consecutive 15-minute GKG zips of ``rows`` rows each."""
    stamps = [start + timedelta(minutes=15 * i) for i in range(files)]
    return [(s, gkg_zip(s, synthetic_rows(seed, s, rows, off_share, gcam_entries))) for s in stamps]


class GkgServer:
    """Serves ``/gdeltv2/masterfilelist.txt`` and the files added to it."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._lines: list[str] = []
        self._holds: dict[str, threading.Event] = {}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def master_url(self) -> str:
        return f"{self.base}/gdeltv2/masterfilelist.txt"

    def file_url(self, stamp: datetime) -> str:
        return f"{self.base}/gdeltv2/{stamp:%Y%m%d%H%M%S}.gkg.csv.zip"

    def add_file(
        self,
        stamp: datetime,
        data: bytes,
        *,
        md5: str | None = None,
        listed_only: bool = False,
    ) -> str:
        """Serve ``data`` as the GKG file of ``stamp`` and list it; returns its URL."""
        url = self.file_url(stamp)
        digest = md5 or hashlib.md5(data).hexdigest()
        # GDELT lists the other two tables of each 15 minutes too: the reader skips them.
        export = url.replace(".gkg.csv.zip", ".export.CSV.zip")
        self._lines.append(f"{len(data)} {hashlib.md5(b'x').hexdigest()} {export}")
        self._lines.append(f"{len(data)} {digest} {url}")
        if not listed_only:
            self._files[url.removeprefix(self.base)] = data
        return url

    def master_lines(self, *lines: str) -> None:
        self._lines.extend(lines)

    def hold(self, stamp: datetime) -> threading.Event:
        event = threading.Event()
        self._holds[self.file_url(stamp).removeprefix(self.base)] = event
        return event

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with outer._lock:
                    outer.requests.append(self.path)
                if self.path == "/gdeltv2/masterfilelist.txt":
                    body = ("\n".join(outer._lines) + "\n").encode()
                else:
                    hold = outer._holds.get(self.path)
                    if hold is not None:
                        hold.wait(60)
                    found = outer._files.get(self.path)
                    if found is None:
                        self.send_error(404)
                        return
                    body = found
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> GkgServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for event in self._holds.values():
            event.set()
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


if __name__ == "__main__":
    seed, files, rows = (int(a) for a in sys.argv[1:4])
    off_share = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    gcam = int(sys.argv[5]) if len(sys.argv) > 5 else GCAM_ENTRIES
    with GkgServer() as server:
        for stamp, data in synthetic_files(
            seed, files, rows, off_share=off_share, gcam_entries=gcam
        ):
            server.add_file(stamp, data)
        print(server.master_url, flush=True)
        sys.stdin.read()
