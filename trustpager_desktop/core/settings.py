"""Application settings kept in the database, so every desktop on a shared database agrees.

The Twilio auth token is NOT a setting: it lives in the OS keyring (see
``core.secrets``) and never reaches the database.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from dataclasses import dataclass, fields

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.store.models import Setting

PROVIDER_MODES = ("auto", "sandbox", "twilio")  # auto: Twilio when credentials exist


@dataclass(frozen=True)
class AppSettings:
    default_country: str = "US"
    business_timezone: str = "America/New_York"
    provider_mode: str = "auto"
    twilio_account_sid: str = ""
    twilio_sender: str = ""  # +E.164 number or MG… messaging service SID
    poll_interval_seconds: int = 30
    inbox_look_back_days: int = 30  # how far the first read (and one after a long gap) looks back
    quiet_hours_start: int = 8  # automation texts allowed from 08:00 ...
    quiet_hours_end: int = 21  # ... until 21:00, recipient's local time
    stale_limit_hours: int = 24
    start_replies_need_review: bool = False
    user_name: str = "Office"
    first_run_done: bool = False
    keep_in_tray: bool = True


# What each setting is called on the screen (activity log entries, the details pane).
SETTING_LABELS = {
    "default_country": "Default country",
    "business_timezone": "Business time zone",
    "provider_mode": "Sending mode",
    "twilio_account_sid": "Twilio Account SID",
    "twilio_sender": "Sending number",
    "poll_interval_seconds": "Inbox check interval (seconds)",
    # The two hours bound when automated texts may go out (the screen's "sending hours").
    "quiet_hours_start": "Sending hours start",
    "quiet_hours_end": "Sending hours end",
    "stale_limit_hours": "Missed-send limit (hours)",
    "start_replies_need_review": "START replies need review",
    "user_name": "Your name",
    "first_run_done": "First-run assistant finished",
    "keep_in_tray": "Keep running in the tray",
    "automations_paused": "Automations paused",
}


def setting_label(key: str) -> str:
    """'Sending hours end' for ``quiet_hours_end``; an unknown key is made readable
    ('some_key' -> 'Some key')."""
    return SETTING_LABELS.get(key, key.replace("_", " ").capitalize())


def _validate(settings: AppSettings) -> None:
    if settings.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise UserInputError(
            f"'{settings.default_country}' is not a country code phone numbers know (e.g. US, GB, CA).",
            field="default_country",
        )
    try:
        zoneinfo.ZoneInfo(settings.business_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise UserInputError(
            f"'{settings.business_timezone}' is not a time zone name (e.g. America/Chicago).",
            field="business_timezone",
        ) from exc
    if settings.provider_mode not in PROVIDER_MODES:
        raise UserInputError(
            f"Unknown provider mode '{settings.provider_mode}'.", field="provider_mode"
        )
    if not 5 <= settings.poll_interval_seconds <= 3600:
        raise UserInputError(
            "Check the inbox every 5 to 3600 seconds.", field="poll_interval_seconds"
        )
    if not 1 <= settings.inbox_look_back_days <= 400:
        raise UserInputError(
            "Look back 1 to 400 days when reading the inbox for the first time.",
            field="inbox_look_back_days",
        )
    if not (0 <= settings.quiet_hours_start < settings.quiet_hours_end <= 24):
        raise UserInputError(
            "Quiet hours: the sending window must start before it ends, within 0-24.",
            field="quiet_hours_start",
        )
    if not 1 <= settings.stale_limit_hours <= 24 * 14:
        raise UserInputError(
            "The missed-send limit must be between 1 hour and 14 days.", field="stale_limit_hours"
        )
    sender = settings.twilio_sender
    if sender and not (sender.startswith("MG") or sender.startswith("+")):
        raise UserInputError(
            "The sending number must be in +E.164 form (e.g. +14155550100) or a Messaging Service SID (MG…).",
            field="twilio_sender",
        )
    sid = settings.twilio_account_sid
    if sid and not (sid.startswith("AC") and len(sid) == 34):
        raise UserInputError(
            "A Twilio Account SID starts with AC and has 34 characters.", field="twilio_account_sid"
        )


def _decode(field_type: object, raw: str) -> object:
    if field_type in (bool, "bool"):
        return raw == "1"
    if field_type in (int, "int"):
        return int(raw)
    return raw


def _encode(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def load_settings(session: Session) -> AppSettings:
    stored = {row.key: row.value for row in session.scalars(select(Setting))}
    values: dict[str, object] = {}
    for f in fields(AppSettings):
        if f.name in stored:
            try:
                values[f.name] = _decode(f.type, stored[f.name])
            except ValueError:
                continue  # a damaged value falls back to the default rather than crash
    return AppSettings(**values)  # type: ignore[arg-type]


def save_settings(
    session: Session, new: AppSettings, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> list[str]:
    """Validate and store ``new``; log each changed key. Returns the changed keys.

    Raises UserInputError (and stores nothing) when a value is invalid.
    """
    new = dataclasses.replace(new, default_country=new.default_country.upper())
    _validate(new)
    old = load_settings(session)
    changed = [f.name for f in fields(AppSettings) if getattr(old, f.name) != getattr(new, f.name)]
    for key in changed:
        session.merge(Setting(key=key, value=_encode(getattr(new, key))))
    if changed:
        activity.append(
            session,
            kind=activity.Kind.SETTINGS_CHANGE,
            summary="Settings changed: " + ", ".join(setting_label(k) for k in changed),
            actor=actor,
            details={k: [_encode(getattr(old, k)), _encode(getattr(new, k))] for k in changed},
            clock=clock,
        )
    return changed
