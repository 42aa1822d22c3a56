"""An optional password gate in front of every page (settings.app_password)."""

from __future__ import annotations

import hashlib
import hmac

import streamlit as st

_KEY = "newsintel.auth"


def _fingerprint(password: str) -> str:
    # Remember which password was accepted, so changing it signs every session out.
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def require_password(expected: str) -> None:
    """Stop the run behind a sign-in form unless this session gave ``expected``.

    An empty ``expected`` means no gate. Comparison is constant-time.
    """
    if not expected:
        return
    if st.session_state.get(_KEY) == _fingerprint(expected):
        return
    st.title("newsintel")
    st.caption("This dashboard is protected. Enter the password to continue.")
    with st.form("newsintel_sign_in"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            st.session_state[_KEY] = _fingerprint(expected)
            st.rerun()
        st.error("Wrong password.")
    st.stop()
