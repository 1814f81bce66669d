"""Twilio credentials: the auth token lives in the OS keyring, never in the database.

Where the token comes from, first match wins:

1. ``TWILIO_AUTH_TOKEN`` in the environment (tests, a one-off run);
2. a file: ``TWILIO_AUTH_TOKEN_FILE`` names it, or systemd's ``LoadCredential=
   twilio_auth_token:...`` puts it in ``$CREDENTIALS_DIRECTORY``. The file must be
   readable by its owner only (0600/0400) or it is refused, with the reason: this is
   how the headless agent gets its token on a server without a desktop session;
3. the OS keyring (Secret Service, KWallet, macOS Keychain, Windows Credential Manager).
   A backend that keeps secrets as plain text in a file (``keyrings.alt``'s
   PlaintextKeyring) is refused like the "fail" backend, and the reason is shown;
   the token is then kept in memory for this session only and the user is told so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.providers.base import SmsProvider
from trustpager_desktop.providers.sandbox_provider import SandboxProvider

log = logging.getLogger("trustpager.credentials")


def _keyring() -> Any:  # keyring has no type hints
    """The keyring module, imported on first use: it costs a fifth of a second at start-up."""
    import keyring
    import keyring.errors  # noqa: F401 - makes keyring.errors available

    return keyring


KEYRING_SERVICE = "TrustPager Desktop (Twilio)"
ENV_ACCOUNT_SID = "TWILIO_ACCOUNT_SID"
ENV_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"  # noqa: S105 - a variable name, not a secret
ENV_SENDER = "TRUSTPAGER_TWILIO_FROM"
ENV_API_BASE = "TRUSTPAGER_TWILIO_API_BASE"
ENV_AUTH_TOKEN_FILE = "TWILIO_AUTH_TOKEN_FILE"  # noqa: S105 - a variable name
SYSTEMD_CREDENTIAL = "twilio_auth_token"  # the name given to LoadCredential=
NO_KEYRING = (
    "No system keyring works on this computer: the token is kept only until TrustPager "
    "closes. On a server, give the agent a token file instead (TWILIO_AUTH_TOKEN_FILE)."
)


class CredentialsError(ValueError):
    """A token source is set up but unusable; the message says why and what to do."""


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
    def keyring_problem() -> str | None:
        """None when a keyring that really protects secrets works here; else why not."""
        from keyring.backends import fail

        backend = _keyring().get_keyring()
        for part in getattr(backend, "backends", None) or [backend]:  # a chainer: every part
            if _stores_plain_text(part):
                where = getattr(part, "file_path", "") or "a file"
                return (
                    f"The keyring backend {type(part).__module__}.{type(part).__name__} keeps "
                    f"secrets as plain text ({where}), so the Twilio Auth Token is not stored "
                    "there. Use the system keyring, or a token file (TWILIO_AUTH_TOKEN_FILE)."
                )
        if isinstance(backend, fail.Keyring) or backend.priority <= 0:
            return NO_KEYRING
        return None

    def keyring_available(self) -> bool:
        return self.keyring_problem() is None

    def get(self, account_sid: str) -> str | None:
        with self._lock:
            if account_sid in self._session_tokens:
                return self._session_tokens[account_sid]
        if not account_sid or not self.keyring_available():
            return None
        try:
            token: str | None = _keyring().get_password(KEYRING_SERVICE, account_sid)
            return token
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


def _stores_plain_text(backend: object) -> bool:
    kind = type(backend)
    return "plaintext" in kind.__name__.lower() or (
        kind.__module__.startswith("keyrings.alt") and "Encrypted" not in kind.__name__
        and "Multipart" not in kind.__name__
    )  # fmt: skip


def token_file(env: dict[str, str]) -> Path | None:
    """The token file the environment points at (TWILIO_AUTH_TOKEN_FILE, or the systemd
    credential ``twilio_auth_token``), or None."""
    named = env.get(ENV_AUTH_TOKEN_FILE)
    if named:
        return Path(named)
    folder = env.get("CREDENTIALS_DIRECTORY")
    if folder and (Path(folder) / SYSTEMD_CREDENTIAL).is_file():
        return Path(folder) / SYSTEMD_CREDENTIAL
    return None


def token_from_file(env: dict[str, str] | None = None) -> str | None:
    """The auth token read from :func:`token_file`, or None when none is set up.

    Raises CredentialsError when the file is missing, empty, or readable by others."""
    env = dict(os.environ) if env is None else env
    path = token_file(env)
    if path is None:
        return None
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        token = path.read_text("utf-8").strip()
    except OSError as exc:
        raise CredentialsError(
            f"The Twilio token file {path} cannot be read: {exc.strerror or exc}."
        ) from exc
    if os.name == "posix" and mode & 0o077:
        raise CredentialsError(
            f"The Twilio token file {path} is readable by other users (mode {mode:04o}); "
            f"make it owner-only with: chmod 600 {path}"
        )
    if not token:
        raise CredentialsError(f"The Twilio token file {path} is empty.")
    return token


def resolve_credentials(
    settings: AppSettings, tokens: TokenStore, env: dict[str, str] | None = None
) -> TwilioCredentials | None:
    """Credentials from the environment (which wins), a token file, or settings plus keyring;
    None if incomplete. Raises CredentialsError when a token file is set up but unusable."""
    env = dict(os.environ) if env is None else env
    sid = env.get(ENV_ACCOUNT_SID) or settings.twilio_account_sid
    token = env.get(ENV_AUTH_TOKEN) or token_from_file(env) or (tokens.get(sid) if sid else None)
    sender = env.get(ENV_SENDER) or settings.twilio_sender
    if not (sid and token and sender):
        return None
    return TwilioCredentials(sid, token, sender, env.get(ENV_API_BASE) or None)


# ---- choosing the provider: Twilio when it is set up, the offline sandbox otherwise ----

SANDBOX_DESCRIPTION = "Sandbox: no texts leave this computer"


@dataclass(frozen=True)
class ProviderChoice:
    provider: SmsProvider
    is_sandbox: bool
    warning: str = ""  # e.g. Twilio chosen but not usable

    @property
    def description(self) -> str:
        return self.provider.description


def choose_provider(
    settings: AppSettings, tokens: TokenStore, env: dict[str, str] | None = None
) -> ProviderChoice:
    """Never raises: a broken Twilio set-up falls back to the sandbox with a warning,
    so the application always starts and nothing is texted by accident."""
    if settings.provider_mode == "sandbox":
        return ProviderChoice(SandboxProvider(), True)
    try:
        credentials = resolve_credentials(settings, tokens, env)
    except CredentialsError as exc:
        return ProviderChoice(SandboxProvider(), True, f"{exc} Using the sandbox until then.")
    if credentials is None:
        warning = (
            "Twilio is selected but the Account SID, Auth Token or sending number is missing; "
            "using the sandbox until they are set."
            if settings.provider_mode == "twilio"
            else ""
        )
        return ProviderChoice(SandboxProvider(), True, warning)
    from trustpager_desktop.providers.twilio_provider import TwilioProvider

    try:
        provider = TwilioProvider(
            credentials.account_sid,
            credentials.auth_token,
            credentials.sender,
            api_base=credentials.api_base,
        )
    except ValueError as exc:
        return ProviderChoice(SandboxProvider(), True, f"Twilio settings are not usable: {exc}")
    return ProviderChoice(provider, False)
