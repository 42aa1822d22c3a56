"""Sign-in that holds: throttled failures, hashed passwords, OIDC when configured."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from newsintel.errors import ConfigError
from newsintel.passwords import hash_password, verify_password
from newsintel.ui import auth
from newsintel.ui.throttle import Throttle

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_wait_longer_and_longer_per_key() -> None:
    clock = Clock()
    throttle = Throttle(free=3, base_s=1.0, cap_s=60.0, clock=clock)
    session_a, session_b, address = "session:a", "session:b", "address:10.0.0.7"
    for _ in range(3):  # typos cost nothing
        assert throttle.wait_s([session_a, address]) == 0
        throttle.failed([session_a, address])
    waits = []
    for _ in range(5):
        waits.append(throttle.wait_s([session_a, address]))
        clock.now += waits[-1]
        throttle.failed([session_a, address])
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]
    # A fresh session from the same address waits as long: the address counts.
    assert throttle.wait_s([session_b, address]) == 32.0
    assert throttle.wait_s([session_b]) == 0
    assert throttle.delay_after(40) == 60.0  # capped
    throttle.succeeded([session_a, address])
    assert throttle.wait_s([session_a, address]) == 0


def test_scrypt_hashes_verify_and_reject() -> None:
    stored = hash_password("correct horse", n=2**10)
    assert stored.startswith("scrypt$1024$8$1$")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert hash_password("correct horse", n=2**10) != stored  # salted
    with pytest.raises(ConfigError, match="NEWSINTEL_APP_PASSWORD_HASH"):
        verify_password("x", "sha256$abc")


def test_the_hash_maker_prints_a_usable_hash() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "newsintel.passwords"],
        input="s3cret\ns3cret\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    stored = done.stdout.strip().splitlines()[-1]
    assert verify_password("s3cret", stored)


def gate(monkeypatch: pytest.MonkeyPatch, db: str, stored_hash: str) -> AppTest:
    monkeypatch.setenv("NEWSINTEL_DB", db)
    monkeypatch.setenv("NEWSINTEL_APP_PASSWORD", "")
    monkeypatch.setenv("NEWSINTEL_APP_PASSWORD_HASH", stored_hash)
    monkeypatch.delenv("NEWSINTEL_CONFIG", raising=False)
    return AppTest.from_file(APP, default_timeout=60).run()


def attempt(at: AppTest, password: str) -> list[str]:
    at.text_input[0].input(password)
    at.button[0].click().run()
    return [e.value for e in at.error]


@pytest.mark.slow
def test_sign_in_is_rate_limited_per_session_and_address(
    monkeypatch: pytest.MonkeyPatch,
    demo_db,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr(auth, "THROTTLE", Throttle(free=3, base_s=1.5))
    monkeypatch.setattr(auth, "client_address", lambda: "192.0.2.10")
    stored = hash_password("s3cret", n=2**12)
    at = gate(monkeypatch, demo_db.db, stored)
    for _ in range(3):
        assert attempt(at, "guess") == ["Wrong password."]
    # The fourth attempt is not even checked, however right it is.
    [message] = attempt(at, "s3cret")
    assert message.startswith("Too many failed attempts: try again in")
    # A new session from the same address is held back too.
    other = gate(monkeypatch, demo_db.db, stored)
    assert attempt(other, "s3cret")[0].startswith("Too many failed attempts")
    time.sleep(1.6)
    assert attempt(other, "s3cret") == []
    assert other.title[0].value == "What moved this week"
    # The wait is over for the first session too: the right password lets it in.
    assert attempt(at, "s3cret") == []


@pytest.mark.slow
def test_oidc_login_is_used_when_secrets_configure_it(
    monkeypatch: pytest.MonkeyPatch,
    demo_db,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("NEWSINTEL_DB", demo_db.db)
    monkeypatch.setenv("NEWSINTEL_APP_PASSWORD", "ignored-when-oidc-is-configured")
    monkeypatch.delenv("NEWSINTEL_CONFIG", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "a-long-random-string",
        "client_id": "newsintel",
        "client_secret": "secret",
        "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
    }
    at.run()
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.text_input  # no password form
    at.user = {"is_logged_in": True, "name": "Ada"}  # what the provider's callback sets
    at.run()
    assert at.title[0].value == "What moved this week"
    assert "Signed in as Ada" in [c.value for c in at.sidebar.caption]


@pytest.mark.slow
def test_oidc_without_authlib_says_what_to_install_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The gate stops the run before any data is read: no database is needed.
    monkeypatch.setenv("NEWSINTEL_DB", str(tmp_path / "never-opened.duckdb"))
    monkeypatch.delenv("NEWSINTEL_CONFIG", raising=False)
    monkeypatch.setattr(auth, "authlib_installed", lambda: False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {"client_id": "newsintel", "client_secret": "secret"}
    at.run()
    assert not at.exception
    [message] = [e.value for e in at.error]
    assert message == auth.AUTHLIB_MISSING and "\n" not in message
    assert 'pip install "newsintel[auth]"' in message
    assert not at.button and not at.text_input  # no button that cannot work, no data
