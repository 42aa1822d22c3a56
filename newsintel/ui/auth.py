"""Sign-in in front of every page: an identity provider (OIDC), or a password.

- When ``.streamlit/secrets.toml`` has an ``[auth]`` section, Streamlit's built-in OIDC
  login (``st.login``) is used: the team's identity provider decides who gets in.
- Otherwise, with ``NEWSINTEL_APP_PASSWORD_HASH`` (scrypt, see newsintel.passwords) or
  ``NEWSINTEL_APP_PASSWORD`` set, a password form. Failed attempts are throttled per
  browser session and per client address (newsintel.ui.throttle): after three, each
  failure doubles the wait before the next attempt is even checked.
- With none of them, no gate.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import math
import secrets
from typing import Any

import streamlit as st

from newsintel.passwords import check_hash_format, verify_password
from newsintel.ui.throttle import Throttle

_KEY = "newsintel.auth"
_SESSION = "newsintel.auth.session"
# One per server process: every session's failures count against its address here.
THROTTLE = Throttle()


def _fingerprint(secret: str) -> str:
    # Remember which password was accepted, so changing it signs every session out.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def oidc_config() -> Any:
    """The ``[auth]`` section of ``.streamlit/secrets.toml``, or None without one."""
    # No secrets file at all is the common case: probe first, so nothing is raised.
    if not st.secrets.load_if_toml_exists():
        return None
    return st.secrets.get("auth")


AUTHLIB_MISSING = (
    "Sign-in is configured in .streamlit/secrets.toml but Authlib is not installed: "
    'pip install "newsintel[auth]" (in a checkout: pip install -e ".[auth]").'
)


def authlib_installed() -> bool:
    """Whether Authlib, which st.login needs (the ``auth`` extra), can be imported."""
    return importlib.util.find_spec("authlib") is not None


def require_oidc_login(auth: Any) -> None:
    """Stop the run behind the identity provider's login unless the user is signed in.

    ``[auth]`` with its own ``client_id`` is one provider (``st.login()``); otherwise the
    first named sub-section (``[auth.google]``...) is used.
    """
    if st.user.get("is_logged_in", False):
        with st.sidebar:
            name = st.user.get("name") or st.user.get("email") or "signed in"
            st.caption(f"Signed in as {name}")
            st.button("Log out", on_click=st.logout, icon=":material/logout:")
        return
    providers = [k for k in auth if hasattr(auth[k], "keys")]
    provider = None if "client_id" in auth or not providers else providers[0]
    st.title("newsintel")
    st.caption("This dashboard is protected. Sign in with your organisation's account.")
    if not authlib_installed():
        # st.login would raise a traceback on the click: say what to install instead, and
        # show no button that cannot work. Nothing is shown without a sign-in.
        st.error(AUTHLIB_MISSING)
        st.stop()
    st.button("Log in", type="primary", on_click=st.login, args=(provider,))
    st.stop()


def client_address() -> str | None:
    """The client's IP address; None when Streamlit cannot tell (AppTest, localhost)."""
    return st.context.ip_address


def _throttle_keys() -> list[str]:
    if _SESSION not in st.session_state:
        st.session_state[_SESSION] = secrets.token_hex(8)
    keys = [f"session:{st.session_state[_SESSION]}"]
    address = client_address()
    if address:
        keys.append(f"address:{address}")
    return keys


def require_password(expected: str, expected_hash: str = "") -> None:
    """Stop the run behind a sign-in form unless this session gave the password.

    ``expected_hash`` (scrypt) wins over the plain ``expected``; both empty mean no
    gate. Comparison is constant-time, and failures are throttled (module docstring).
    """
    secret = expected_hash or expected
    if not secret:
        return
    if expected_hash:
        check_hash_format(expected_hash)
    if st.session_state.get(_KEY) == _fingerprint(secret):
        return
    st.title("newsintel")
    st.caption("This dashboard is protected. Enter the password to continue.")
    with st.form("newsintel_sign_in"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        keys = _throttle_keys()
        wait = THROTTLE.wait_s(keys)
        if wait > 0:
            st.error(
                f"Too many failed attempts: try again in {math.ceil(wait)} s.",
                icon=":material/timer:",
            )
            st.stop()
        if expected_hash:
            ok = verify_password(given, expected_hash)
        else:
            ok = hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
        if ok:
            THROTTLE.succeeded(keys)
            st.session_state[_KEY] = _fingerprint(secret)
            st.rerun()
        THROTTLE.failed(keys)
        st.error("Wrong password.")
    st.stop()


def require_sign_in(password: str, password_hash: str) -> None:
    """The gate app.py puts in front of every page (module docstring)."""
    auth = oidc_config()
    if auth is not None:
        require_oidc_login(auth)
        return
    require_password(password, password_hash)
