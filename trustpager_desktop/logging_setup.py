"""Logging for the window and the agent: a rotating file in the platform log folder,
readable by its owner only (0600, folder 0700), rotations included.

Every handler installed here carries a :class:`SecretScrubber`, so no secret reaches a
log line, whichever path it takes (message, arguments, exception text, stack):

- any registered secret string (the Twilio auth token: ``register_secret``);
- a 32-character hex value written after "token", "auth", "password", "secret" or "key"
  (how Twilio auth tokens and API secrets appear in URLs, reprs and error texts);
- the password part of a URL with credentials (``https://user:pass@host``).

Qt-free, so the headless agent uses it too.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

if TYPE_CHECKING:
    from trustpager_desktop.services import AppServices

APP_DIR_NAME = "TrustPager"
LOG_FILE_NAME = "trustpager.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 5
REDACTED = "[hidden]"
_MIN_SECRET_LENGTH = 6  # shorter "secrets" would blank out ordinary words

_LABELLED_HEX = re.compile(
    r"(?i)((?:token|auth|password|passwd|pwd|secret|key)[\w-]*[\"']?\s*[:=]?\s*[\"']?)[0-9a-f]{32}\b"
)
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]+@")

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


LOG_DIR_ENV = "TRUSTPAGER_LOG_DIR"


def default_log_dir() -> Path:
    """``TRUSTPAGER_LOG_DIR`` if set, else the platform log folder
    (e.g. ~/.local/state/TrustPager/log on Linux)."""
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir(APP_DIR_NAME, appauthor=False))


def register_secret(value: str | None) -> None:
    """Hide ``value`` in every log line from now on (empty or very short values are ignored)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def register_known_secrets(services: AppServices) -> None:
    """Hide the Twilio auth token from the environment and the stored one in every log line."""
    register_secrets_from_env()
    sid = services.settings.twilio_account_sid
    if sid:
        register_secret(services.tokens.get(sid))


def register_secrets_from_env(env: dict[str, str] | None = None) -> None:
    """Register the Twilio auth token from ``TWILIO_AUTH_TOKEN`` or the token file, if set."""
    from trustpager_desktop.core.credentials import CredentialsError, token_from_file

    env = dict(os.environ) if env is None else env
    register_secret(env.get("TWILIO_AUTH_TOKEN"))
    with contextlib.suppress(CredentialsError):  # an unusable file is reported elsewhere
        register_secret(token_from_file(env))


def scrub(text: str) -> str:
    """``text`` with every secret described in the module docstring replaced by [hidden]."""
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)  # longest first: no partial leftovers
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _LABELLED_HEX.sub(lambda m: m.group(1) + REDACTED, text)
    return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + "@", text)


class SecretScrubber(logging.Filter):
    """A handler filter that rewrites each record with its secrets hidden.

    The message is formatted here (arguments merged) and the exception and stack
    texts are rendered and scrubbed, so the formatter only ever sees clean text.
    Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        record.exc_info = None  # the scrubbed exc_text above is what gets written
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files only their owner can read (0600): lines name contacts
    and hold phone numbers. Each new file (the first and every rotation) is created
    with that mode; a file left readable by an older version is tightened on open."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def _tighten(log_dir: Path) -> None:
    """Owner-only folder and files, including rotations an older version left 0644."""
    if os.name != "posix":
        return  # the user profile's ACL already keeps it private
    for path in [log_dir, *log_dir.glob(LOG_FILE_NAME + "*")]:
        try:
            path.chmod(0o700 if path.is_dir() else 0o600)
        except OSError:
            continue


def _has_handler(logger: logging.Logger, marker: str) -> logging.Handler | None:
    return next((h for h in logger.handlers if getattr(h, "_trustpager", "") == marker), None)


def setup_logging(
    *,
    log_dir: Path | None = None,
    level: int = logging.INFO,
    console_level: int | None = None,
) -> Path:
    """Send log records to a rotating file (1 MB × 5) in ``log_dir`` (default: the platform
    log folder), and to stderr at ``console_level`` if given. Idempotent per folder.

    Returns the log file path. If the folder cannot be created the file handler is
    skipped (a warning goes to stderr) and the path is still returned.
    """
    register_secrets_from_env()
    log_dir = log_dir or default_log_dir()
    log_file = log_dir / LOG_FILE_NAME
    root = logging.getLogger()
    for handler in root.handlers:  # e.g. basicConfig's console: keep showing what it showed
        if handler.level == logging.NOTSET:
            handler.setLevel(root.level)
    root.setLevel(min(level, console_level or level))
    existing = _has_handler(root, "file")
    if existing is not None and Path(existing.baseFilename) != log_file:  # type: ignore[attr-defined]
        root.removeHandler(existing)
        existing.close()
        existing = None
    if existing is None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            _tighten(log_dir)
            handler = PrivateRotatingFileHandler(
                log_file, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
            )
        except OSError as exc:
            print(f"trustpager: cannot write the log in {log_dir}: {exc}", file=sys.stderr)
        else:
            _add(root, handler, "file", level, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    if console_level is not None and _has_handler(root, "console") is None:
        _add(root, logging.StreamHandler(), "console", console_level, "%(message)s")
    scrub_all_handlers()
    return log_file


def scrub_all_handlers() -> None:
    """Add a SecretScrubber to every root handler that lacks one (e.g. from basicConfig)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretScrubber) for f in handler.filters):
            handler.addFilter(SecretScrubber())


def _add(root: logging.Logger, handler: logging.Handler, marker: str, level: int, fmt: str) -> None:
    handler._trustpager = marker  # type: ignore[attr-defined]
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(SecretScrubber())
    root.addHandler(handler)


def shutdown_logging() -> None:
    """Remove and close the handlers ``setup_logging`` added (tests, or before exit)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_trustpager", ""):
            root.removeHandler(handler)
            handler.close()
