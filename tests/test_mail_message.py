"""MIME parsing and story splitting over fixture newsletters written in the shape of
real ones (tests/fixtures/mail: The Download with tracking links, a quote of the day
and a sponsor block; base64 and windows-1252 issues; forwarded copies; broken ones)."""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from newsintel.errors import MessageError
from newsintel.feeds.sources import slugify
from newsintel.mail.links import unwrap_link
from newsintel.mail.message import MailMessage, parse_mail_date, parse_message
from newsintel.mail.stories import is_housekeeping_link, mail_articles
from newsintel.models import Article

FOLDER = Path(__file__).parent / "fixtures" / "mail"
EXPECT = json.loads((FOLDER / "expect.json").read_text("utf-8"))
FILE_TIME = datetime(2025, 3, 1, 9, 0)
FETCHED = datetime(2025, 3, 2)
CAP = 10_000_000


def _parse(name: str, **kwargs: object) -> MailMessage:
    return parse_message((FOLDER / name).read_bytes(), max_bytes=CAP, **kwargs)  # type: ignore[arg-type]


def _articles(message: MailMessage) -> list[Article]:
    return mail_articles(
        message,
        source_id=slugify(message.source_name),
        source_name=message.source_name,
        fetched_at=FETCHED,
    )


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in FOLDER.glob("*.eml")) == sorted(EXPECT)


@pytest.mark.parametrize("name", sorted(n for n in EXPECT if "error" not in EXPECT[n]))
def test_fixture_newsletter(name: str) -> None:
    expect = EXPECT[name]
    message = _parse(name)
    assert message.subject == expect["subject"]
    assert message.source_name == expect["source"]
    assert message.forwarded is expect["forwarded"]
    assert message.attachments == expect["attachments"]
    assert message.date_estimated is expect["estimated"]
    if expect["published_at"]:
        assert message.published_at == datetime.fromisoformat(expect["published_at"])
    if "same_as" in expect:  # a forwarded copy is read as the original: same ids
        original = _articles(_parse(expect["same_as"]))
        assert [a.article_id for a in _articles(message)] == [a.article_id for a in original]
        expect = EXPECT[expect["same_as"]]
    articles = _articles(message)
    issue, stories = articles[0], articles[1:]
    assert issue.is_issue and issue.parent_id is None
    assert [s.title for s in stories] == expect["titles"]
    assert [s.url for s in stories] == expect["urls"]
    for fragment in expect["text_contains"]:
        assert any(fragment in s.text for s in stories), fragment
    for story in stories:
        assert story.origin == "mail" and story.parent_id == issue.article_id
        assert story.published_at == issue.published_at
        assert story.published_estimated is expect["estimated"]


@pytest.mark.parametrize("name", sorted(n for n in EXPECT if "error" in EXPECT[n]))
def test_broken_fixture_names_its_problem(name: str) -> None:
    with pytest.raises(MessageError, match=EXPECT[name]["error"]):
        _parse(name)


def test_sponsor_quote_footer_and_housekeeping_links_are_never_stories() -> None:
    articles = _articles(_parse("the_download.eml"))
    words = " ".join(f"{a.title} {a.text} {a.url}" for a in articles[1:])
    for absent in ("CloudCo", "ads.example.net", "We are not done yet", "unsubscribe",
                   "View in browser", "pipe organ"):  # fmt: skip
        assert absent.lower() not in words.lower(), absent
    brief = _articles(_parse("windows1252.eml"))
    assert not any("TradeDesk" in a.title for a in brief)


def test_missing_date_falls_back_to_internaldate_then_file_time() -> None:
    internal = datetime(2025, 2, 20, 6, 0)
    from_server = _parse("no_date_attachment.eml", internal_date=internal, file_time=FILE_TIME)
    assert from_server.published_at == internal and from_server.date_estimated
    from_file = _parse("no_date_attachment.eml", file_time=FILE_TIME)
    assert from_file.published_at == FILE_TIME and from_file.date_estimated
    neither = _parse("no_date_attachment.eml")
    assert neither.published_at is None
    stories = _articles(neither)
    assert all(a.published_at == FETCHED and a.published_estimated for a in stories)


def test_broken_date_header_is_flagged() -> None:
    raw = (
        (FOLDER / "the_download.eml")
        .read_bytes()
        .replace(b"Date: Tue, 11 Feb 2025 08:10:00 -0500", b"Date: the day after yesterday")
    )
    message = parse_message(raw, max_bytes=CAP, internal_date=datetime(2025, 2, 11, 13, 12))
    assert message.published_at == datetime(2025, 2, 11, 13, 12)
    assert message.date_estimated


def test_size_cap_names_the_size() -> None:
    raw = (FOLDER / "the_download.eml").read_bytes()
    with pytest.raises(MessageError, match="too large"):
        parse_message(raw, max_bytes=len(raw) - 1)


def test_text_only_message_is_read_and_html_is_preferred() -> None:
    msg = EmailMessage()
    msg["From"] = "Plain Letter <plain@letter.example.com>"
    msg["Subject"] = "Plain letter"
    msg["Date"] = "Mon, 10 Feb 2025 10:00:00 +0000"
    msg.set_content(
        "1. First plain story here\nhttps://a.example.com/one\n\n"
        "2. Second plain story here\nhttps://b.example.com/two?utm_source=x\n\n"
        "3. Third plain story here\nhttps://c.example.com/three\n"
    )
    plain = parse_message(msg.as_bytes(), max_bytes=CAP)
    stories = _articles(plain)[1:]
    assert [s.url for s in stories] == [
        "https://a.example.com/one", "https://b.example.com/two", "https://c.example.com/three"
    ]  # fmt: skip
    msg.add_alternative("<p>The HTML part wins.</p>", subtype="html")
    assert "HTML part wins" in parse_message(msg.as_bytes(), max_bytes=CAP).html


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://click.example.com/CL0/https:%2F%2Fnews.example.org%2Fa%3Futm_source%3Dx/1/01",
         "https://news.example.org/a"),
        ("https://t.example.com/redirect?url=https%3A%2F%2Fb.example.com%2Fp%3Fid%3D2&sig=1",
         "https://b.example.com/p?id=2"),
        ("https://t.example.com/r/https://c.example.com/x?utm_medium=email",
         "https://c.example.com/x"),
        ("https://www.google.com/url?q=https://d.example.com/y&sa=D", "https://d.example.com/y"),
        ("https://e.example.com/story?utm_source=n&amp;utm_medium=email", "https://e.example.com/story"),
        ("https://link.esp.example.com/ss/c/opaque-id", "https://link.esp.example.com/ss/c/opaque-id"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
    ],
)  # fmt: skip
def test_tracking_links_are_unwrapped_without_fetching(href: str, expected: str) -> None:
    assert unwrap_link(href) == expected


def test_housekeeping_links() -> None:
    unsubscribe = frozenset({"https://x.example.com/u/123"})
    assert is_housekeeping_link("https://x.example.com/u/123", unsubscribe)
    assert is_housekeeping_link("https://list.example.com/unsubscribe?id=1")
    assert is_housekeeping_link("https://x.example.com/view-in-browser/9")
    assert is_housekeeping_link("mailto:a@example.com")
    assert not is_housekeeping_link("https://news.example.com/2025/02/story")


def test_forward_header_dates() -> None:
    assert parse_mail_date("Fri, Feb 7, 2025 at 7:45 AM") == datetime(2025, 2, 7, 7, 45)
    assert parse_mail_date("Tue, 11 Feb 2025 08:10:00 -0500") == datetime(2025, 2, 11, 13, 10)
    assert parse_mail_date("not a date") is None


_HTML = '<p>Caf\u00e9 \u2013 <a href="https://news.example.com/a">story</a></p>'.encode()
_ONE = "From: Brief <b@brief.example.com>\nDate: Mon, 10 Feb 2025 10:00:00 +0000\n"
_BODY_SHAPES = {
    "no charset, 8-bit": b"Content-Type: text/html\n\n" + _HTML,
    "RFC 2231 charset": b"Content-Type: text/html; charset*=utf-8''utf-8\n\n" + _HTML,
    "unknown charset": b"Content-Type: text/html; charset=x-nonesuch\n\n" + _HTML,
    "wrong charset": b"Content-Type: text/html; charset=utf-8\n\ncaf\xe9 <b>x</b>",
    "html attachment, text body": (
        b'Content-Type: multipart/mixed; boundary="m"\n\n--m\nContent-Type: text/html\n'
        b"Content-Disposition: attachment; filename=a.html\n\n<p>attached</p>\n--m\n"
        b"Content-Type: text/plain\n\nthe body\n--m--\n"
    ),
    "related, root by start": (
        b'Content-Type: multipart/related; boundary="r"; start="<h@x>"\n\n--r\n'
        b"Content-Type: text/plain\n\nnot the root\n--r\nContent-Type: text/html\n"
        b"Content-ID: <h@x>\n\n<p>the root</p>\n--r--\n"
    ),
}


@pytest.mark.parametrize("shape", sorted(_BODY_SHAPES))
def test_body_is_what_policy_default_chooses_and_decodes(shape: str) -> None:
    # Parsed under compat32 for speed: the body must be what policy.default would give.
    import email
    from email import policy

    raw = _ONE.encode() + _BODY_SHAPES[shape]
    oracle = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(oracle, EmailMessage)
    part = oracle.get_body(preferencelist=("html", "plain"))
    assert part is not None
    html = parse_message(raw, max_bytes=CAP).html
    if shape == "unknown charset":  # policy.default raises (LookupError): windows-1252 here
        with pytest.raises(LookupError):
            part.get_content()
        assert html == _HTML.decode("windows-1252")
        return
    expected = part.get_content()
    if part.get_content_type() == "text/html":
        assert html == expected
    else:
        assert html == f"<p>{expected.strip()}</p>"
