"""Recipients and their themes: the recipients file, the override list, real delivery.

The file checks are fast; the delivery tests send through a real aiosmtpd server on
loopback from a private copy of the demo database and read what each person got.
"""

from __future__ import annotations

import html
import re
import shutil
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from smtpserver import SmtpServer, smtp_server

from newsintel.cli import main
from newsintel.config import Settings
from newsintel.digest.recipients import (
    Recipient,
    check_themes,
    configured_recipients,
    load_recipients,
    select_recipients,
)
from newsintel.errors import ConfigError, DigestError
from newsintel.jobs import run_digest, scheduled_actions

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "data" / "recipients.example.toml"
LITHIUM = "Lithium & battery materials"
ROBOTS = "Humanoid robots"

RECIPIENTS = """
[[recipients]]
email = "ana@example.com"
themes = ["lithium_batteries"]
period = "daily"

[[recipients]]
email = "ben@example.com"

[[recipients]]
email = "cy@example.com"
themes = ["humanoid_robots", "AI regulation"]  # an id and a label
period = "weekly"
"""


def write(tmp_path: Path, text: str, name: str = "recipients.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the file ---------------------------------------------------------------------------


def test_the_example_file_loads_and_names_only_real_themes() -> None:
    from newsintel.themes.definitions import load_themes

    recipients = load_recipients(EXAMPLE)
    assert [r.email for r in recipients] == [
        "ana@example.com",
        "ben@example.com",
        "desk@example.com",
    ]
    assert recipients[0].period == "daily" and recipients[1].period == "weekly"
    assert recipients[2] == Recipient("desk@example.com")  # every theme, both periods
    check_themes(recipients, [t.theme_id for t in load_themes(ROOT / "data" / "themes.toml")])


def test_defaults_and_period_choice(tmp_path: Path) -> None:
    ana, ben, cy = load_recipients(write(tmp_path, RECIPIENTS))
    assert ana.themes == ("lithium_batteries",) and ana.recipient_themes == ("lithium_batteries",)
    assert ben.themes == () and ben.recipient_themes is None and ben.period == "both"
    assert [r.wants("daily") for r in (ana, ben, cy)] == [True, True, False]
    assert [r.wants("weekly") for r in (ana, ben, cy)] == [False, True, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[recipients]\nemail = 'a@b.c'", "is not valid TOML"),
        ("[[people]]\nemail = 'a@b.c'", "unknown key 'people'"),
        ("recipients = 'a@b.c'", "must be \\[\\[recipients\\]\\] tables"),
        ("[[recipients]]\nthemes = ['ev_demand']", "#1: 'email' must be an email address"),
        ("[[recipients]]\nemail = 'ana.example.com'", "'email' must be an email address"),
        ("[[recipients]]\nemail = 'ana@example.com'\nthemes = 'ev_demand'", "list of theme ids"),
        ("[[recipients]]\nemail = 'ana@example.com'\nperiod = 'monthly'", "daily, weekly or both"),
        ("[[recipients]]\nemail = 'ana@example.com'\ntheme = ['x']", "unknown key 'theme'"),
        (
            "[[recipients]]\nemail = 'ana@example.com'\n[[recipients]]\nemail = 'ANA@example.com'",
            "listed twice",
        ),
    ],
)
def test_bad_files_are_config_errors_naming_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_recipients(path)
    assert str(path) in str(caught.value)


def test_only_the_default_file_may_be_missing(tmp_path: Path) -> None:
    missing = str(tmp_path / "recipients.toml")
    assert configured_recipients(missing, default_file=missing) == ()
    with pytest.raises(ConfigError, match="does not exist"):
        configured_recipients(str(tmp_path / "typo.toml"), default_file=missing)


def test_unknown_themes_name_the_recipient() -> None:
    listed = (Recipient("ana@example.com", ("lithium_batteris",)),)
    with pytest.raises(ConfigError, match=r"ana@example\.com: unknown theme 'lithium_batteris'"):
        check_themes(listed, ["lithium_batteries", LITHIUM])
    check_themes((Recipient("b@x.y", ("LITHIUM & battery materials",)),), [LITHIUM])


def test_override_list_picks_people_and_keeps_their_themes() -> None:
    listed = (
        Recipient("ana@example.com", ("lithium_batteries",), "daily"),
        Recipient("cy@example.com", ("humanoid_robots",), "weekly"),
    )
    assert select_recipients(listed, [], "weekly") == (listed[1],)
    chosen = select_recipients(
        listed, ["CY@example.com", "new@example.com", "cy@example.com"], "daily"
    )
    # The override ignores the period chosen in the file; unknown addresses get everything.
    assert chosen == (
        Recipient("CY@example.com", ("humanoid_robots",)),
        Recipient("new@example.com"),
        Recipient("cy@example.com", ("humanoid_robots",)),
    )


# --- delivery through a real SMTP server ------------------------------------------------


@pytest.fixture
def recipient_settings(demo_db: Settings, tmp_path: Path) -> Settings:
    """A private copy of the demo database, the recipients file above and no digest_to."""
    copy = tmp_path / "digest.duckdb"
    shutil.copy(demo_db.db, copy)
    return replace(
        demo_db,
        db=str(copy),
        digest_to=[],
        recipients_file=str(write(tmp_path, RECIPIENTS)),
        digest_from="newsintel@example.com",
        smtp_host="127.0.0.1",
        smtp_tls="none",
        smtp_timeout=3.0,
    )


def inbox(server: SmtpServer) -> dict[str, EmailMessage]:
    """What each envelope recipient got (one message each)."""
    got: dict[str, EmailMessage] = {}
    for received in server.received:
        assert len(received.rcpt_tos) == 1
        got[received.rcpt_tos[0]] = received.message()
    return got


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def html_of(message: EmailMessage) -> str:
    body = message.get_body(("html",))
    assert body is not None
    return str(body.get_content())


def chart_about(message: EmailMessage) -> str | None:
    """The chart's alt text (it starts with the theme's label), or None without a chart."""
    pngs = [part for part in message.walk() if part.get_content_type() == "image/png"]
    if not pngs:
        return None
    match = re.search(r'<img[^>]*alt="([^"]*)"', html_of(message))
    assert match is not None
    return html.unescape(match.group(1))


@pytest.mark.slow
def test_each_recipient_gets_their_themes_and_period(recipient_settings: Settings) -> None:
    with smtp_server() as server:
        settings = replace(recipient_settings, smtp_port=server.port)
        daily = run_digest(settings, period="daily", on_date="2026-08-19", send=True)
        assert [(d.recipient, d.status) for d in daily.deliveries] == [
            ("ana@example.com", "sent"),
            ("ben@example.com", "sent"),
        ]
        got = inbox(server)
        assert set(got) == {"ana@example.com", "ben@example.com"}
        ana, ben = got["ana@example.com"], got["ben@example.com"]
        assert f"your themes: {LITHIUM}" in text_of(ana)
        assert LITHIUM in text_of(ana) and ROBOTS not in text_of(ana)
        assert "Lithium &amp; battery materials" in html_of(ana)
        assert ROBOTS not in html_of(ana)
        # A chart about a theme Ana does not follow is left out of her digest.
        ana_chart = chart_about(ana)
        assert ana_chart is None or ana_chart.startswith(LITHIUM)
        assert "your themes" not in text_of(ben)
        assert LITHIUM in text_of(ben) and ROBOTS in text_of(ben)
        assert chart_about(ben) is not None

        server.received.clear()
        weekly = run_digest(settings, period="weekly", send=True)
        assert [d.recipient for d in weekly.deliveries] == ["ben@example.com", "cy@example.com"]
        cy = inbox(server)["cy@example.com"]
        # The text part wraps at 72 columns: the list may run onto the next line.
        lines = text_of(cy).split("your themes: ", 1)[1].splitlines()
        paragraph = lines[: next((i for i, line in enumerate(lines) if not line.strip()), 1)]
        followed = " ".join(" ".join(paragraph).split())
        assert sorted(followed.split(", ")) == ["AI regulation", ROBOTS]
        assert LITHIUM not in text_of(cy)
        cy_chart = chart_about(cy)
        assert cy_chart is None or cy_chart.startswith(("AI regulation", ROBOTS))


@pytest.mark.slow
def test_digest_to_overrides_who_but_not_what(recipient_settings: Settings) -> None:
    with smtp_server() as server:
        settings = replace(recipient_settings, smtp_port=server.port, digest_to=["cy@example.com"])
        report = run_digest(settings, period="daily", on_date="2026-08-19", send=True)
        assert [(d.recipient, d.status) for d in report.deliveries] == [("cy@example.com", "sent")]
        cy = inbox(server)["cy@example.com"]
        assert "your themes: " in text_of(cy) and LITHIUM not in text_of(cy)


@pytest.mark.slow
def test_without_a_recipients_file_digest_to_gets_every_theme(
    recipient_settings: Settings, tmp_path: Path
) -> None:
    with smtp_server() as server:
        settings = replace(
            recipient_settings,
            smtp_port=server.port,
            recipients_file=Settings().recipients_file,  # the default, absent in tests
            digest_to=["ana@example.com"],
        )
        assert not Path(settings.recipients_file).exists()
        report = run_digest(settings, period="weekly", send=True)
        assert report.ok and len(report.deliveries) == 1
        ana = inbox(server)["ana@example.com"]
        assert LITHIUM in text_of(ana) and ROBOTS in text_of(ana)


@pytest.mark.slow
def test_nobody_for_this_period_sends_nothing_and_is_fine(
    recipient_settings: Settings, tmp_path: Path
) -> None:
    weekly_only = write(
        tmp_path, '[[recipients]]\nemail = "cy@example.com"\nperiod = "weekly"\n', "w.toml"
    )
    with smtp_server() as server:
        settings = replace(
            recipient_settings, smtp_port=server.port, recipients_file=str(weekly_only)
        )
        report = run_digest(settings, period="daily", send=True)
        assert report.ok and report.deliveries == ()
        assert server.received == []
    nobody = replace(recipient_settings, recipients_file=Settings().recipients_file)
    with pytest.raises(DigestError, match="no recipients"):
        run_digest(nobody, period="daily", send=True)


@pytest.mark.slow
def test_an_unknown_theme_stops_the_digest_before_anything_is_sent(
    recipient_settings: Settings, tmp_path: Path
) -> None:
    typo = write(
        tmp_path,
        RECIPIENTS + '\n[[recipients]]\nemail = "dee@example.com"\nthemes = ["robots"]\n',
        "typo.toml",
    )
    with smtp_server() as server:
        settings = replace(recipient_settings, smtp_port=server.port, recipients_file=str(typo))
        with pytest.raises(ConfigError, match=r"dee@example\.com: unknown theme 'robots'"):
            run_digest(settings, period="daily", send=True)
        assert server.received == []


@pytest.mark.slow
def test_dry_run_writes_one_file_per_recipient_with_their_themes(
    recipient_settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    report = run_digest(recipient_settings, period="weekly", out_dir=out)
    assert [d.recipient for d in report.deliveries] == ["ben@example.com", "cy@example.com"]
    cy_html = next(out.glob("*cy-example-com.html")).read_text(encoding="utf-8")
    assert (
        "your themes: " in cy_html and ROBOTS in cy_html and LITHIUM not in html.unescape(cy_html)
    )


@pytest.mark.slow
def test_cli_reports_a_bad_recipients_file_in_one_line(
    recipient_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = write(tmp_path, "[[recipients]]\nemail = 'ana'\n", "bad.toml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSINTEL_RECIPIENTS_FILE", str(bad))
    code = main(["--db", recipient_settings.db, "digest", "--dry-run", "--out", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: recipients file") and "'email' must be an email address" in err
    assert "\n" not in err


@pytest.mark.slow
def test_the_scheduled_weekly_digest_sends_last_week_to_the_recipients(
    recipient_settings: Settings, fake_embedder: object
) -> None:
    from datetime import date, timedelta

    with smtp_server() as server:
        settings = replace(recipient_settings, smtp_port=server.port)
        send_weekly = scheduled_actions(settings, embedder=fake_embedder)["weekly_digest"]  # type: ignore[arg-type]
        summary = send_weekly()
        today = date.today()
        last_monday = today - timedelta(days=today.weekday() + 7)
        assert f"period starting {last_monday.isoformat()}" in summary
        assert set(inbox(server)) == {"ben@example.com", "cy@example.com"}
        # Run again (a restart, a misfire): digest_log keeps it from going out twice.
        assert send_weekly().endswith(": 2 already_sent")
        assert len(server.received) == 2
