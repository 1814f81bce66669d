"""Application settings kept in the database, so every desktop on a shared database agrees.

What belongs to one desktop (the name its person acts under) is not here: see
``core.local_settings``.

The Twilio auth token is NOT a setting: it lives in the OS keyring (see
``core.secrets``) and never reaches the database.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, fields

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.replies import Keywords, parse_keywords
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.core.timefmt import known_zone
from trustpager_desktop.store.models import Setting

PROVIDER_MODES = ("auto", "sandbox", "twilio")  # auto: Twilio when credentials exist
DEFAULT_CONFIRMATION = (
    "You're unsubscribed from {business}. No more texts. Reply START to resubscribe."
)
DEFAULT_CONFIRMATION_ES = (
    "Has cancelado tu suscripción a {business}. No recibirás más mensajes. "
    "Responde START para volver a suscribirte."
)
CONFIRMATION_MAX = 320  # two segments at most: a confirmation says one thing
MAX_TEXTS_PER_DAY = 50
DEFAULT_PURPOSE = "Marketing"
PURPOSE_MAX = 40
PURPOSES_MAX = 20
_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|ly|co|io)\b", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"{([^{}]*)}")


@functools.lru_cache(maxsize=32)
def _keywords(opt_out: str, opt_in: str, help_words: str) -> Keywords:
    return Keywords.with_extra(
        _parsed_or_none(opt_out, False), _parsed_or_none(opt_in, True),
        _parsed_or_none(help_words, True),
    )  # fmt: skip


def _parsed_or_none(text: str, single: bool) -> tuple[str, ...]:
    # A value damaged outside the app (it was validated when saved): keep the locked words.
    try:
        return parse_keywords(text, single_words=single)
    except ValueError:
        return ()


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
    first_run_done: bool = False
    keep_in_tray: bool = True
    # Consent at the edges (issue 14).
    hold_while_pending: bool = True  # a reply waiting for review holds automation texts
    extra_opt_out_keywords: str = "PARAR, ALTO, BAJA, CANCELAR, DETENER"
    extra_opt_in_keywords: str = ""
    extra_help_keywords: str = ""
    confirm_opt_outs: bool = True  # one confirmation text per opt-out Twilio did not confirm
    business_name: str = ""
    confirmation_text: str = DEFAULT_CONFIRMATION
    confirmation_text_es: str = DEFAULT_CONFIRMATION_ES
    automation_texts_per_day: int = 3  # per contact, in any 24 hours; 0 = no cap
    # Consent records (issue 15).
    automations_need_consent: bool = False  # skip contacts with no consent on record
    sms_purposes: str = DEFAULT_PURPOSE  # the business's purposes, "; "-separated

    @property
    def purposes(self) -> tuple[str, ...]:
        """The SMS purposes the business keeps (never empty: "Marketing" at least)."""
        return parse_purposes(self.sms_purposes) or (DEFAULT_PURPOSE,)

    @property
    def keywords(self) -> Keywords:
        """The classifier's keyword lists: the locked defaults plus the words added here."""
        return _keywords(
            self.extra_opt_out_keywords, self.extra_opt_in_keywords, self.extra_help_keywords
        )


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
    "user_name": "Your name",  # kept in the database before it moved to each computer
    "first_run_done": "First-run assistant finished",
    "keep_in_tray": "Keep running in the tray",
    "automations_paused": "Automations paused",
    "automations_need_consent": "Automations text only contacts with consent on record",
    "sms_purposes": "SMS purposes",
}


def setting_label(key: str) -> str:
    """'Sending hours end' for ``quiet_hours_end``; an unknown key is made readable
    ('some_key' -> 'Some key')."""
    return SETTING_LABELS.get(key, key.replace("_", " ").capitalize())


def check_settings(settings: AppSettings) -> None:
    """Raise UserInputError (with the field) when ``settings`` could not be saved; for a
    screen that checks one step before the save (the first-run assistant's pages)."""
    _validate(dataclasses.replace(settings, default_country=settings.default_country.upper()))


def _validate(settings: AppSettings) -> None:
    if settings.default_country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise UserInputError(
            f"'{settings.default_country}' is not a country code phone numbers know (e.g. US, GB, CA).",
            field="default_country",
        )
    if known_zone(settings.business_timezone) is None:
        raise UserInputError(
            f"'{settings.business_timezone}' is not a time zone name (e.g. America/Chicago).",
            field="business_timezone",
        )
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
    _validate_keywords(settings)
    _validate_confirmation(settings.confirmation_text, "confirmation_text")
    _validate_confirmation(settings.confirmation_text_es, "confirmation_text_es")
    if len(settings.business_name) > 100:
        raise UserInputError("The business name is too long (100 characters at most).",
                             field="business_name")  # fmt: skip
    _validate_purposes(settings.sms_purposes)
    if not 0 <= settings.automation_texts_per_day <= MAX_TEXTS_PER_DAY:
        raise UserInputError(
            f"Automation texts per contact a day: 0 (no limit) to {MAX_TEXTS_PER_DAY}.",
            field="automation_texts_per_day",
        )


def parse_purposes(text: str) -> tuple[str, ...]:
    """'Marketing; reminders' -> ('Marketing', 'Reminders'): trimmed, first letter
    capitalised, each once (case-insensitively), in the order given. ";" or "," separate."""
    found: dict[str, str] = {}
    for part in re.split(r"[;,\n]", text or ""):
        name = " ".join(part.split())
        if name:
            found.setdefault(name.casefold(), name[0].upper() + name[1:])
    return tuple(found.values())


def _validate_purposes(text: str) -> None:
    purposes = parse_purposes(text)
    if not purposes:
        raise UserInputError("Keep at least one SMS purpose (e.g. Marketing).",
                             field="sms_purposes")  # fmt: skip
    if len(purposes) > PURPOSES_MAX:
        raise UserInputError(f"At most {PURPOSES_MAX} SMS purposes.", field="sms_purposes")
    for name in purposes:
        if len(name) > PURPOSE_MAX:
            raise UserInputError(
                f"The purpose '{name[:20]}…' is too long ({PURPOSE_MAX} characters at most).",
                field="sms_purposes",
            )


def _validate_keywords(settings: AppSettings) -> None:
    """Each list parses, and no word is both an opt-out and an opt-in or help word."""
    lists = {}
    for field, single in (("extra_opt_out_keywords", False), ("extra_opt_in_keywords", True),
                          ("extra_help_keywords", True)):  # fmt: skip
        try:
            lists[field] = set(parse_keywords(getattr(settings, field), single_words=single))
        except ValueError as exc:
            raise UserInputError(f"Keywords: {exc}", field=field) from exc
    words = Keywords.with_extra(*(tuple(v) for v in lists.values()))
    for field, clash in (
        ("extra_opt_out_keywords", words.opt_out & (words.opt_in | words.help)),
        ("extra_opt_in_keywords", words.opt_in & words.help),
    ):
        if clash:
            word = sorted(clash)[0].upper()
            raise UserInputError(f"'{word}' cannot be in two keyword lists.", field=field)


def _validate_confirmation(text: str, field: str) -> None:
    """A confirmation says the opt-out worked and nothing else: no links, no offers."""
    if not text.strip():
        raise UserInputError("The confirmation text cannot be empty.", field=field)
    if len(text) > CONFIRMATION_MAX:
        raise UserInputError(
            f"The confirmation text is too long ({CONFIRMATION_MAX} characters at most).",
            field=field,
        )
    if _LINK.search(text):
        raise UserInputError(
            "A confirmation text may not carry links: it must never be marketing.", field=field
        )
    unknown = [p for p in _PLACEHOLDER.findall(text) if p != "business"]
    if unknown:
        raise UserInputError(
            f"Unknown field {{{unknown[0]}}} in the confirmation text; only {{business}} works.",
            field=field,
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
    return settings_from_stored({row.key: row.value for row in session.scalars(select(Setting))})


def settings_from_stored(stored: dict[str, str]) -> AppSettings:
    """The settings from the stored key/value rows (defaults for missing or damaged ones)."""
    values: dict[str, object] = {}
    for f in fields(AppSettings):
        if f.name in stored:
            try:
                values[f.name] = _decode(f.type, stored[f.name])
            except ValueError:
                continue  # a damaged value falls back to the default rather than crash
    return AppSettings(**values)  # type: ignore[arg-type]  # each value decoded to its field's type


def save_settings(
    session: Session, new: AppSettings, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> list[str]:
    """Validate and store ``new``; log each changed key. Returns the changed keys.

    Raises UserInputError (and stores nothing) when a value is invalid.
    """
    new = dataclasses.replace(new, default_country=new.default_country.upper())
    _validate(new)
    new = dataclasses.replace(new, sms_purposes="; ".join(parse_purposes(new.sms_purposes)))
    old = load_settings(session)
    changed = [f.name for f in fields(AppSettings) if getattr(old, f.name) != getattr(new, f.name)]
    for key in changed:
        session.merge(Setting(key=key, value=_encode(getattr(new, key))))
    if changed:
        activity.append(
            session,
            activity.LogEntry(
                kind=ActivityKind.SETTINGS_CHANGE,
                summary="Settings changed: " + ", ".join(setting_label(k) for k in changed),
                actor=actor,
                details={k: [_encode(getattr(old, k)), _encode(getattr(new, k))] for k in changed},
            ),
            clock=clock,
        )
    return changed
