"""Twilio credentials: the auth token lives in the OS keyring, never in the database.

Where no keyring backend works (a bare Linux server, a locked-down desktop),
the token is kept in memory for this session only and the user is told so.
Environment variables override everything, for the agent and for tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass

from trustpager_desktop.core.settings import AppSettings

log = logging.getLogger("trustpager.credentials")


def _keyring():  # type: ignore[no-untyped-def]
    """The keyring module, imported on first use: it costs a fifth of a second at start-up."""
    import keyring
    import keyring.errors  # noqa: F401 - makes keyring.errors available

    return keyring


KEYRING_SERVICE = "TrustPager Desktop (Twilio)"
ENV_ACCOUNT_SID = "TWILIO_ACCOUNT_SID"
ENV_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_SENDER = "TRUSTPAGER_TWILIO_FROM"
ENV_API_BASE = "TRUSTPAGER_TWILIO_API_BASE"


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: str
    sender: str
    api_base: str | None = None

    def __repr__(self) -> str:  # never print the token, even in a traceback
        return f"TwilioCredentials(account_sid={self.account_sid!r}, sender={self.sender!r})"


class TokenStore:
    """Keeps auth tokens per Account SID: keyring first, else memory for this session."""

    def __init__(self) -> None:
        self._session_tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keyring_available() -> bool:
        from keyring.backends import fail

        backend = _keyring().get_keyring()
        return not isinstance(backend, fail.Keyring) and backend.priority > 0

    def get(self, account_sid: str) -> str | None:
        with self._lock:
            if account_sid in self._session_tokens:
                return self._session_tokens[account_sid]
        if not account_sid or not self.keyring_available():
            return None
        try:
            return _keyring().get_password(KEYRING_SERVICE, account_sid)
        except _keyring().errors.KeyringError as exc:
            log.warning("The system keyring could not be read: %s", type(exc).__name__)
            return None

    def set(self, account_sid: str, token: str, *, session_only: bool = False) -> str:
        """Store the token; returns where: 'keyring' or 'session'."""
        if not session_only and self.keyring_available():
            try:
                _keyring().set_password(KEYRING_SERVICE, account_sid, token)
                with self._lock:
                    self._session_tokens.pop(account_sid, None)
                return "keyring"
            except _keyring().errors.KeyringError as exc:
                log.warning("The system keyring refused the token: %s", type(exc).__name__)
        with self._lock:
            self._session_tokens[account_sid] = token
        return "session"

    def delete(self, account_sid: str) -> None:
        with self._lock:
            self._session_tokens.pop(account_sid, None)
        if self.keyring_available():
            with contextlib.suppress(_keyring().errors.KeyringError):  # nothing stored there
                _keyring().delete_password(KEYRING_SERVICE, account_sid)


def resolve_credentials(
    settings: AppSettings, tokens: TokenStore, env: dict[str, str] | None = None
) -> TwilioCredentials | None:
    """Credentials from the environment (which wins) or settings plus keyring; None if incomplete."""
    env = dict(os.environ) if env is None else env
    sid = env.get(ENV_ACCOUNT_SID) or settings.twilio_account_sid
    token = env.get(ENV_AUTH_TOKEN) or (tokens.get(sid) if sid else None)
    sender = env.get(ENV_SENDER) or settings.twilio_sender
    if not (sid and token and sender):
        return None
    return TwilioCredentials(sid, token, sender, env.get(ENV_API_BASE) or None)
