"""Who is reviewing, and are they allowed in.

Three access modes, decided by configuration:

- ``oidc``: ``.streamlit/secrets.toml`` has an ``[auth]`` section, so Streamlit's
  ``st.login`` (OpenID Connect) signs people in; the reviewer name is their e-mail.
- ``secret``: a shared secret in ``COLLABSCOPE_REVIEW_SECRET`` or
  ``st.secrets["collabscope"]["review_secret"]``, asked for once per browser session and
  compared in constant time (``hmac.compare_digest``); then a name field.
- ``local``: nothing configured; only allowed on loopback (``collabscope review`` refuses
  to serve other interfaces without one of the above). A name field.

``collabscope review --allow-remote`` sets ``COLLABSCOPE_REVIEW_REMOTE=1``; the app then
refuses to show anything without authentication, even if started some other way.
"""

from __future__ import annotations

import hmac
import os
import time

import streamlit as st

MAX_ATTEMPTS = 5


def _secrets_section(name: str) -> dict | None:
    try:
        if name in st.secrets:
            return dict(st.secrets[name])
    except Exception:  # no secrets file at all
        return None
    return None


def shared_secret() -> str | None:
    env = os.environ.get("COLLABSCOPE_REVIEW_SECRET")
    if env:
        return env
    section = _secrets_section("collabscope") or {}
    value = section.get("review_secret")
    return str(value) if value else None


def access_mode() -> str:
    if _secrets_section("auth"):
        return "oidc"
    if shared_secret():
        return "secret"
    return "local"


def _name_form() -> None:
    st.title("collabscope review")
    st.write("Every decision is logged under your name. Who is reviewing?")
    with st.form("who"):
        name = st.text_input("Your name", key="reviewer_input", max_chars=80)
        if st.form_submit_button("Start reviewing", type="primary"):
            name = " ".join((name or "").split())
            if not name or name == "machine" or name.startswith("system:"):
                st.error("Enter your name (not 'machine').")
            else:
                st.session_state["reviewer"] = name
                st.rerun()
    st.stop()


def _secret_form(secret: str) -> None:
    st.title("collabscope review")
    attempts = st.session_state.get("_auth_attempts", 0)
    if attempts >= MAX_ATTEMPTS:
        st.error("Too many wrong attempts. Reload the page to try again.")
        st.stop()
    with st.form("access"):
        given = st.text_input("Access secret", type="password", key="secret_input")
        if st.form_submit_button("Enter", type="primary"):
            if hmac.compare_digest(given.encode(), secret.encode()):
                st.session_state["_access_ok"] = True
                st.session_state.pop("secret_input", None)
                st.rerun()
            st.session_state["_auth_attempts"] = attempts + 1
            time.sleep(1.0)  # slows guessing
            st.error("Wrong secret.")
    st.stop()


def ready() -> bool:
    """Whether this session may see the pages, without drawing anything."""
    mode = access_mode()
    if os.environ.get("COLLABSCOPE_REVIEW_REMOTE") == "1" and mode == "local":
        return False
    if mode == "oidc":
        return bool(st.user.is_logged_in)
    if mode == "secret" and not st.session_state.get("_access_ok"):
        return False
    return bool(st.session_state.get("reviewer"))


def require_reviewer() -> str:
    """Gate every page: authenticate if configured, then make sure we have a name."""
    mode = access_mode()
    if os.environ.get("COLLABSCOPE_REVIEW_REMOTE") == "1" and mode == "local":
        st.error("This review server is reachable from the network but no authentication is configured. "
                 "Set COLLABSCOPE_REVIEW_SECRET or an [auth] section in .streamlit/secrets.toml "
                 "(see docs/REVIEW.md).")
        st.stop()
    if mode == "oidc":
        if not st.user.is_logged_in:
            st.title("collabscope review")
            st.button("Log in", on_click=st.login, type="primary", key="login")
            st.stop()
        name = str(st.user.get("email") or st.user.get("name") or "")
        if not name:
            st.error("Your identity provider did not give an e-mail or name; ask the admin.")
            st.stop()
        st.session_state["reviewer"] = name
        return name
    if mode == "secret" and not st.session_state.get("_access_ok"):
        _secret_form(shared_secret() or "")
    if not st.session_state.get("reviewer"):
        _name_form()
    return st.session_state["reviewer"]
