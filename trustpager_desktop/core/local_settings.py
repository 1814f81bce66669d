"""Settings of this desktop only (this OS user on this computer), kept in a small JSON
file outside the database: today the name the activity log shows for what a person did.

Why not the database: several desktops share one PostgreSQL database, and each person
acting there must show as themselves ("Maria on FRONTDESK", "Dan on BACKOFFICE"), not
as whoever saved the name last. The file is ``desktop.json`` in the user config folder
(Linux ``~/.config/TrustPager``, Windows ``%LOCALAPPDATA%\\TrustPager``, macOS
``~/Library/Application Support/TrustPager``); ``TRUSTPAGER_CONFIG_DIR`` overrides the
folder (tests, a portable install).

With no name given, a desktop acts as ``"<login> on <HOST>"``: still two different names
for two desktops. A name that was kept in the database by earlier versions is moved
here once (``claim_database_name``): the first desktop to start takes it, so it is not
copied to every desktop on a shared database.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import re
import socket
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clean_text import clean_line
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.models import Setting

log = logging.getLogger("trustpager.local_settings")

CONFIG_DIR_ENV = "TRUSTPAGER_CONFIG_DIR"
APP_DIR_NAME = "TrustPager"
FILE_NAME = "desktop.json"
NAME_MAX = 100  # the actor columns hold 100 characters
LEGACY_NAME_KEY = "user_name"  # the database setting earlier versions kept
LEGACY_DEFAULT = "Office"  # its default: nobody's name, so it is not moved
# Names the application itself acts under: a person taking one would make the log lie.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
RESERVED_NAMES = frozenset(
    {"inbox", "schedule", "twilio", "automation", "opt-out confirmation", "demo", "system"}
)


@dataclass(frozen=True)
class LocalSettings:
    """What this desktop keeps for itself. ``user_name`` "" means none was given (the
    default name applies); ``name_asked``: the assistant asked for it on this desktop."""

    user_name: str = ""
    name_asked: bool = False


def config_dir() -> Path:
    """``TRUSTPAGER_CONFIG_DIR`` if set, else the platform user config folder."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_DIR_NAME, appauthor=False))


def settings_path(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / FILE_NAME


def default_name() -> str:
    """'maria on FRONTDESK': the login name and the computer's short name."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        user = "user"
    host = socket.gethostname().split(".")[0] or "this computer"
    return f"{user} on {host}"[:NAME_MAX]


def clean_name(raw: str) -> str:
    """The name as it will be stored, or UserInputError saying why it cannot be used.
    "" (no name: the default applies) is allowed."""
    name = clean_line(raw or "").strip()
    if _CONTROL.search(name):
        raise UserInputError("Your name contains control characters; remove them.",
                             field="user_name")  # fmt: skip
    if len(name) > NAME_MAX:
        raise UserInputError(f"Your name is too long ({NAME_MAX} characters at most).",
                             field="user_name")  # fmt: skip
    if name.lower() in RESERVED_NAMES:
        raise UserInputError(
            f"'{name}' is how TrustPager itself shows in the activity log; choose your own name.",
            field="user_name",
        )
    return name


def load(path: Path | None = None) -> LocalSettings:
    """This desktop's settings; defaults when the file is missing or damaged (a damaged
    file is logged and left alone until the next save replaces it)."""
    path = path or settings_path()
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return LocalSettings()
    except (OSError, ValueError) as exc:
        log.warning("this desktop's settings file %s cannot be read (%s): using defaults",
                    path, exc)  # fmt: skip
        return LocalSettings()
    if not isinstance(raw, dict):
        return LocalSettings()
    name = raw.get("user_name")
    asked = raw.get("name_asked") is True
    try:
        return LocalSettings(clean_name(name) if isinstance(name, str) else "", asked)
    except UserInputError:
        return LocalSettings(name_asked=asked)


def save(settings: LocalSettings, path: Path | None = None) -> Path:
    """Write the file whole (a temporary file moved into place, readable by its owner only).
    Raises UserInputError for a name that cannot be used and OSError when it cannot be
    written; the old file then stays as it was."""
    settings = LocalSettings(clean_name(settings.user_name), settings.name_asked)
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".desktop-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(asdict(settings), handle, ensure_ascii=False, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def acting_name(settings: LocalSettings) -> str:
    """The name this desktop's actions carry in the log."""
    return settings.user_name or default_name()


def legacy_name(session: Session) -> str:
    """The name earlier versions kept in the database ("" when none, or the old default)."""
    value = session.scalar(select(Setting.value).where(Setting.key == LEGACY_NAME_KEY))
    return "" if not value or value.strip() == LEGACY_DEFAULT else value.strip()


def claim_database_name(session: Session, *, clock: Clock = SYSTEM_CLOCK) -> str:
    """Take the name earlier versions kept in the shared database, once: the row is
    removed in the caller's transaction, so of several desktops starting together one
    gets it and the others see nothing. Returns the name ("" when there was none)."""
    row = session.scalar(select(Setting).where(Setting.key == LEGACY_NAME_KEY))
    if row is None:
        return ""
    value = row.value.strip()
    taken = session.connection().execute(
        delete(Setting).where(Setting.key == LEGACY_NAME_KEY, Setting.value == row.value)
    )
    session.expunge(row)  # deleted behind the ORM's back
    if taken.rowcount != 1 or value == LEGACY_DEFAULT:
        return ""
    try:
        name = clean_name(value)
    except UserInputError:
        return ""
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.SETTINGS_CHANGE,
            summary=f"Your name ('{name}') is now kept on this computer ({default_name()}), "
            "not in the shared database",
            actor=name,
            details={LEGACY_NAME_KEY: [value, ""], "moved_to": default_name()},
        ),
        clock=clock,
    )
    return name


def log_name_change(
    session: Session, before: str, new: LocalSettings, *, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Say in the log that this desktop now acts under another name (so a name in older
    entries can still be traced to a login and a computer)."""
    after = acting_name(new)
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.SETTINGS_CHANGE,
            summary=f"Name on this computer ({default_name()}) changed from '{before}' to "
            f"'{after}'",
            actor=after,
            details={LEGACY_NAME_KEY: [before, after], "computer": default_name()},
        ),
        clock=clock,
    )
