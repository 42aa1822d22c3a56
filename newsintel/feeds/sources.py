"""Feed sources: the TOML list of feeds, and OPML import/export.

``data/feeds.toml`` holds one ``[[feeds]]`` table per feed::

    [[feeds]]
    name = "MIT Technology Review"
    url = "https://www.technologyreview.com/feed/"
    tags = ["tech", "ai"]
    min_interval_minutes = 60

A url is either http(s) or a local path (absolute, relative to the TOML file's folder,
or ``file://``), which is how the bundled sample feeds are read.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from newsintel.errors import ConfigError
from newsintel.tomlfile import read_toml

_KEYS = frozenset({"name", "url", "tags", "min_interval_minutes", "kind"})


@dataclass(frozen=True)
class FeedSource:
    """One feed to fetch. ``source_id`` is the slug of ``name`` and keys the DB row."""

    source_id: str
    name: str
    url: str
    tags: tuple[str, ...] = ()
    min_interval_minutes: int = 0

    @property
    def is_local(self) -> bool:
        """True when ``url`` is a file on disk rather than an http(s) URL."""
        return not is_http_url(self.url)


def is_http_url(url: str) -> bool:
    """Whether ``url`` is an absolute http or https URL with a host."""
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def slugify(name: str) -> str:
    """Lower-case ASCII slug of a feed name: "MIT Tech Review!" -> "mit-tech-review"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def _resolve_url(url: str, base_dir: Path, where: str) -> str:
    """An http(s) URL unchanged, or a local path made absolute against ``base_dir``."""
    text = url.strip()
    if is_http_url(text):
        return text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return str(Path(unquote(parts.path)))
    # A one-letter "scheme" is a Windows drive letter (C:\feeds\x.xml), not a URL.
    if scheme and len(scheme) > 1:
        raise ConfigError(f"{where}: url {url!r} is neither an http(s) URL nor a file path")
    if not text:
        raise ConfigError(f"{where}: url is empty")
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base_dir / path).resolve())


def _tags(raw: Any, where: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(tag, str) for tag in raw):
        raise ConfigError(f"{where}: tags must be a list of strings")
    return tuple(tag.strip() for tag in raw if tag.strip())


def _interval(raw: Any, where: str) -> int:
    if raw is None:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ConfigError(f"{where}: min_interval_minutes must be a whole number >= 0")
    return raw


def _source_from_table(table: Mapping[str, Any], index: int, base_dir: Path) -> FeedSource:
    where = f"feed #{index}"
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: missing 'name'")
    where = f"feed {name!r}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    if table.get("kind", "feed") != "feed":
        raise ConfigError(f"{where}: kind must be 'feed' or 'imap', not {table['kind']!r}")
    url = table.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}: missing 'url'")
    source_id = slugify(name)
    if not source_id:
        raise ConfigError(f"{where}: the name needs at least one letter or digit")
    return FeedSource(
        source_id=source_id,
        name=name.strip(),
        url=_resolve_url(url, base_dir, where),
        tags=_tags(table.get("tags"), where),
        min_interval_minutes=_interval(table.get("min_interval_minutes"), where),
    )


def _check_unique(sources: Iterable[FeedSource], origin: Path) -> None:
    seen: dict[str, str] = {}
    for source in sources:
        if source.source_id in seen:
            raise ConfigError(
                f"{origin}: duplicate feed name {source.name!r} "
                f"(same id {source.source_id!r} as {seen[source.source_id]!r})"
            )
        seen[source.source_id] = source.name


def load_sources(path: Path) -> list[FeedSource]:
    """Read the ``[[feeds]]`` tables of a TOML file, in file order.

    Raises ConfigError for a missing file, invalid TOML, a feed without name or url,
    an unknown key, duplicate names (compared by slug) or a url that is neither
    http(s) nor a path.
    """
    path = Path(path)
    data = read_toml(path, "feeds file")
    tables = data.get("feeds", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"feeds file {path}: 'feeds' must be [[feeds]] tables")
    base_dir = path.resolve().parent
    # Mailboxes (kind = "imap") live in the same file; newsintel.mail.sources reads them.
    tables = [t for t in tables if t.get("kind", "feed") != "imap"]
    sources = [
        _source_from_table(table, index, base_dir) for index, table in enumerate(tables, start=1)
    ]
    _check_unique(sources, path)
    return sources


def _outline_tags(outline: ET.Element, folders: tuple[str, ...]) -> tuple[str, ...]:
    # OPML 2.0 "category" is a comma-separated list of slash-delimited paths.
    raw = outline.get("category", "")
    categories = [part.strip().strip("/") for part in raw.split(",") if part.strip().strip("/")]
    tags: list[str] = []
    for tag in (*folders, *categories):
        if tag not in tags:
            tags.append(tag)
    return tuple(tags)


def read_opml(path: Path) -> list[FeedSource]:
    """Feeds of an OPML subscription list; parent folder names become tags.

    OPML exports often list one feed in several folders, so a repeated url is kept
    once and a repeated name gets a " (2)", " (3)"... suffix instead of an error.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise ConfigError(f"OPML file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read OPML file {path}: {exc.strerror}") from None
    except ET.ParseError as exc:
        raise ConfigError(f"OPML file {path} is not valid XML: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"OPML file {path} has no <opml><body>")
    sources: list[FeedSource] = []
    seen_urls: set[str] = set()
    seen_ids: set[str] = set()
    base_dir = path.resolve().parent

    def walk(parent: ET.Element, folders: tuple[str, ...]) -> None:
        for outline in parent.findall("outline"):
            label = (outline.get("title") or outline.get("text") or "").strip()
            xml_url = (outline.get("xmlUrl") or "").strip()
            if not xml_url:
                walk(outline, (*folders, label) if label else folders)
                continue
            url = _resolve_url(xml_url, base_dir, f"OPML outline {label or xml_url!r}")
            if url in seen_urls:
                continue
            name = label or xml_url
            candidate, count = name, 1
            while not slugify(candidate) or slugify(candidate) in seen_ids:
                count += 1
                candidate = f"{name} ({count})"
            seen_urls.add(url)
            seen_ids.add(slugify(candidate))
            sources.append(
                FeedSource(
                    source_id=slugify(candidate),
                    name=candidate,
                    url=url,
                    tags=_outline_tags(outline, folders),
                )
            )

    walk(body, ())
    return sources


def write_opml(sources: Iterable[FeedSource], path: Path, title: str = "newsintel feeds") -> None:
    """Write feeds as an OPML 2.0 subscription list (tags go to ``category``)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for source in sources:
        attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": source.url}
        if source.tags:
            attrs["category"] = ",".join(source.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    try:
        ET.ElementTree(root).write(Path(path), encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise ConfigError(f"cannot write OPML file {path}: {exc.strerror}") from None


def append_sources(path: Path, new: Sequence[FeedSource]) -> list[FeedSource]:
    """Append feeds to a feeds TOML file, keeping its text (comments) as it is.

    Feeds whose URL or name (by slug) is already in the file are skipped. Returns the
    feeds actually added. The file is created when missing.
    """
    import tomli_w

    path = Path(path)
    existing = load_sources(path) if path.exists() else []
    urls = {s.url for s in existing}
    ids = {s.source_id for s in existing}
    added: list[FeedSource] = []
    for source in new:
        if source.url in urls or source.source_id in ids:
            continue
        urls.add(source.url)
        ids.add(source.source_id)
        added.append(source)
    if not added:
        return []
    tables = []
    for source in added:
        table: dict[str, Any] = {"name": source.name, "url": source.url}
        if source.tags:
            table["tags"] = list(source.tags)
        if source.min_interval_minutes:
            table["min_interval_minutes"] = source.min_interval_minutes
        tables.append(table)
    text = tomli_w.dumps({"feeds": tables})
    try:
        previous = path.read_text("utf-8") if path.exists() else ""
        separator = "" if not previous or previous.endswith("\n\n") else "\n"
        path.write_text(previous + separator + text, "utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write feeds file {path}: {exc.strerror}") from None
    return added


def source_from_url(url: str, name: str | None = None, tags: Sequence[str] = ()) -> FeedSource:
    """A feed for ``url``; without a name, one is made from the host and path."""
    if not is_http_url(url) and not Path(url).exists():
        raise ConfigError(f"'{url}' is neither an http(s) URL nor an existing file")
    if name is None:
        parts = urlsplit(url) if is_http_url(url) else None
        name = (
            (parts.netloc.removeprefix("www.") + parts.path.rstrip("/"))
            if parts
            else Path(url).stem
        )
    source_id = slugify(name)
    if not source_id:
        raise ConfigError(f"cannot make a feed name from '{url}': give --name")
    return FeedSource(source_id, name, url, tuple(tags))


def outlet_from_url(url: str) -> tuple[str, str, str]:
    """(source id, name, site URL) of the site serving ``url``, for backfilled stories.

    The host without "www." names the outlet ("https://www.mining.com/x" -> "mining.com",
    id "mining-com"), so every story of a site lands in one source, whichever path
    (GDELT, an import) brought it.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    return slugify(host), host, f"{parts.scheme.lower() or 'https'}://{parts.netloc}/"
