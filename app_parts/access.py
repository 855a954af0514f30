"""Page side of who may do what (rules in maskloc/classroom/access.py): who this session is, the
teacher's passcode box, and guarded Stop / Delete / activate callbacks for buttons."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import streamlit as st

from app_parts.i18n import error_text, t
from app_parts.jobs import registry
from app_parts.model_chooser import SESSION_MODEL_KEY
from maskloc.config.paths import runs_root

__all__ = ["SESSION_MODEL_KEY"]  # re-exported for pages
from maskloc.classroom.access import AccessDenied, AccessPolicy, Actor
from maskloc.config.paths import teacher_passcode

SESSION_ID_KEY = "maskloc_session_id"
TEACHER_KEY = "maskloc_teacher"
MESSAGE_KEY = "maskloc_access_message"


@st.cache_resource(show_spinner=False)
def _policy(root: str, passcode_fingerprint: str) -> AccessPolicy:
    """One policy (and one passcode rate limiter) per runs folder and passcode, per process."""
    return AccessPolicy.from_env(root)


def policy() -> AccessPolicy:
    passcode = teacher_passcode() or ""
    fingerprint = hashlib.sha256(passcode.encode()).hexdigest() if passcode else ""
    return _policy(str(runs_root().resolve()), fingerprint)


def _signed_in_user() -> str | None:
    """The single-sign-on user where the server has `st.login` configured, else None."""
    try:
        if st.user.is_logged_in:
            return str(st.user.get("email") or st.user.get("sub") or "") or None
    except Exception:  # no auth configured: st.user has no identity
        return None
    return None


def actor() -> Actor:
    """This browser session (or signed-in user), teacher once the passcode was given."""
    user = _signed_in_user()
    if user:
        identity = f"user:{user}"
    else:
        identity = f"session:{st.session_state.setdefault(SESSION_ID_KEY, uuid.uuid4().hex)}"
    return Actor(identity, teacher=bool(st.session_state.get(TEACHER_KEY)))


def _unlock() -> None:
    attempt = st.session_state.get("teacher_passcode", "")
    st.session_state["teacher_passcode"] = ""
    try:
        policy().unlock(actor(), attempt)
    except AccessDenied as error:
        refusal = t("Teacher mode refused: {error}")
        st.session_state[MESSAGE_KEY] = refusal.format(error=error_text(error))
        return
    st.session_state[TEACHER_KEY] = True
    st.session_state.pop(MESSAGE_KEY, None)


def _lock() -> None:
    st.session_state.pop(TEACHER_KEY, None)


def teacher_sidebar() -> None:
    """The passcode box (only on a server with MASKLOC_TEACHER_PASSWORD set)."""
    if not policy().enforced:
        return
    with st.sidebar:
        if st.session_state.get(TEACHER_KEY):
            st.success(t("Teacher mode: you may stop, delete and activate any run."))
            st.button(t("Leave teacher mode"), key="teacher_lock", on_click=_lock)
        else:
            with st.expander(t("Teacher")):
                st.text_input(t("Passcode"), type="password", key="teacher_passcode")
                st.button(t("Unlock teacher mode"), key="teacher_unlock", on_click=_unlock)
    show_message()


def show_message() -> None:
    """The last refusal of this session, once."""
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.error(message)


def may_control(run_path: Path) -> bool:
    return policy().may_control(actor(), run_path)


def may_change_for_everyone() -> bool:
    """May this session change what every user gets (the active model, the scheduler)?"""
    return policy().may_change_for_everyone(actor())


def guarded_stop(name: str) -> None:
    """Button callback: stop a run if this session may, else say why."""
    try:
        policy().stop(registry(), actor(), name)
    except AccessDenied as error:
        st.session_state[MESSAGE_KEY] = t("Not stopped: {error}").format(error=error_text(error))


def guarded_delete(name: str) -> bool:
    try:
        policy().delete(registry(), actor(), name)
    except AccessDenied as error:
        st.session_state[MESSAGE_KEY] = t("Not deleted: {error}").format(error=error_text(error))
        return False
    if Path(st.session_state.get(SESSION_MODEL_KEY) or ".").parent.name == name:
        st.session_state.pop(SESSION_MODEL_KEY, None)
    return True


def guarded_activate(checkpoint: Path) -> None:
    try:
        policy().activate_for_everyone(registry(), actor(), checkpoint)
    except AccessDenied as error:
        st.session_state[MESSAGE_KEY] = t("Not changed: {error}").format(error=error_text(error))


def guarded_scheduler(address: str) -> bool:
    """May this session send everyone's new runs to `address`? Says why not, once."""
    try:
        policy().change_scheduler(actor(), address)
    except AccessDenied as error:
        st.session_state[MESSAGE_KEY] = t("Not switched: {error}").format(error=error_text(error))
        return False
    return True


def claim(run_path: Path) -> None:
    """Record this session as the owner of a run it just started."""
    policy().claim(run_path, actor())


def use_in_session(checkpoint: Path) -> None:
    """This session's own choice of model (Predict and Webcam offer it first)."""
    st.session_state[SESSION_MODEL_KEY] = str(checkpoint.resolve())
