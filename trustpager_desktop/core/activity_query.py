"""Reading the activity log: filters and keyset paging for the viewer and exports.

The log can hold millions of entries, so nothing here loads it whole. Pages are
read newest first by id (``id < before_id ORDER BY id DESC LIMIT n``) on the
composite (kind|contact_id|automation_id, id) indexes, which keeps the first
page and every later page equally quick.

Free-text search cannot use an index (it is a substring match over summary,
contact name and details), so each call scans at most ``scan_limit`` ids below
its cursor and says where it stopped (``LogPage.next_before_id``); the caller
asks again to search further back. The first page of a search therefore comes
back in bounded time whatever the log size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from trustpager_desktop.core.activity import KIND_LABELS, ActivityView
from trustpager_desktop.core.consent import RECONSENT_METHODS, SOURCE_LABELS
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.settings import setting_label
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.store.models import ActivityEntry, Automation

PAGE_SIZE = 200
# Ids scanned per free-text call: ~30 ms on SQLite on a 2-core machine.
TEXT_SCAN_LIMIT = 50_000
TEXT_MAX = 200

_T = ActivityEntry.__table__.c
_COLUMNS = (
    _T.id,
    _T.occurred_at,
    _T.recorded_at,
    _T.kind,
    _T.contact_id,
    _T.contact_name,
    _T.automation_id,
    _T.actor,
    _T.summary,
    _T.details,
)


@dataclass(frozen=True)
class LogFilter:
    """What the viewer (or an export) wants to see. Empty fields do not filter.

    ``since`` is inclusive and ``until`` exclusive; both must be timezone-aware.
    ``text``: every word must appear (any case) in the summary, contact name or details.
    ``sources``: only opt-outs and re-consents that came this way (``consent.Source``),
    e.g. ``("stop_reply",)`` for opt-outs by STOP reply.
    """

    kinds: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    contact_id: int | None = None
    automation_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise UserInputError(f"The '{name}' date needs a time zone.", field=name)
        if self.since and self.until and self.since >= self.until:
            raise UserInputError("The start date must be before the end date.", field="since")
        if len(self.text) > TEXT_MAX:
            raise UserInputError(
                f"The search text is too long ({TEXT_MAX} characters at most).", field="text"
            )

    @property
    def words(self) -> list[str]:
        return [w for w in self.text.lower().split() if w]

    @property
    def is_empty(self) -> bool:
        return self == LogFilter()


@dataclass(frozen=True)
class LogPage:
    """One page, newest first. ``next_before_id`` is the cursor for the next (older)
    page, or None when nothing older can match. With a text search a page may hold
    fewer than ``limit`` entries (even none) and still have a cursor: the scan
    stopped at its bound, not at the end of the log."""

    entries: list[ActivityView] = field(default_factory=list)
    next_before_id: int | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _source_condition(sources: tuple[str, ...]) -> ColumnElement[bool]:
    # details is canonical JSON (sorted keys, no spaces), so the pair is written exactly so.
    return or_(*(_T.details.like(f'%"source":"{_escape_like(s)}"%', escape="\\") for s in sources))


def _conditions(flt: LogFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.kinds:
        conds.append(_T.kind.in_(flt.kinds))
    if flt.sources:
        conds.append(_source_condition(flt.sources))
    if flt.contact_id is not None:
        conds.append(_T.contact_id == flt.contact_id)
    if flt.automation_id is not None:
        conds.append(_T.automation_id == flt.automation_id)
    if flt.since is not None:
        conds.append(_T.occurred_at >= flt.since)
    if flt.until is not None:
        conds.append(_T.occurred_at < flt.until)
    for word in flt.words:
        pattern = f"%{_escape_like(word)}%"
        conds.append(
            or_(
                _T.summary.ilike(pattern, escape="\\"),
                _T.contact_name.ilike(pattern, escape="\\"),
                _T.details.ilike(pattern, escape="\\"),
            )
        )
    return conds


def _row_to_view(row: Row[*tuple[Any, ...]]) -> ActivityView:
    return ActivityView(
        id=row.id,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        kind=row.kind,
        contact_id=row.contact_id,
        contact_name=row.contact_name,
        automation_id=row.automation_id,
        actor=row.actor,
        summary=row.summary,
        details=_parse_details(row.details),
    )


def _parse_details(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"details": raw}
    return value if isinstance(value, dict) else {"details": value}


def _select(flt: LogFilter) -> Select[Any]:
    stmt = select(*_COLUMNS)
    conds = _conditions(flt)
    return stmt.where(and_(*conds)) if conds else stmt


def latest_id(session: Session) -> int:
    """The newest entry's id (0 for an empty log); the viewer polls above it."""
    return session.scalar(select(func.max(_T.id))) or 0


def query_entries(
    session: Session,
    flt: LogFilter | None = None,
    *,
    before_id: int | None = None,
    limit: int = PAGE_SIZE,
    scan_limit: int | None = None,
) -> LogPage:
    """One page of entries matching ``flt``, newest first, with ids below ``before_id``.

    Without a text search the page is full unless the log is exhausted. With one,
    at most ``scan_limit`` ids are examined; see LogPage for the cursor.
    """
    flt = flt or LogFilter()
    stmt = _select(flt)
    lower_bound: int | None = None
    if flt.words:
        top = before_id if before_id is not None else latest_id(session) + 1
        lower_bound = max(top - (scan_limit or TEXT_SCAN_LIMIT), 0)
        stmt = stmt.where(_T.id >= lower_bound)
    if before_id is not None:
        stmt = stmt.where(_T.id < before_id)
    rows = session.execute(stmt.order_by(_T.id.desc()).limit(limit)).all()
    entries = [_row_to_view(r) for r in rows]
    if len(entries) == limit:
        return LogPage(entries, entries[-1].id)
    if lower_bound is not None and lower_bound > 0:
        return LogPage(entries, lower_bound)
    return LogPage(entries, None)


def newer_entries(
    session: Session,
    flt: LogFilter | None,
    after_id: int,
    up_to_id: int | None = None,
    limit: int = 1000,
) -> list[ActivityView]:
    """Entries with ``after_id < id <= up_to_id`` that match, newest first (the viewer's
    live poll). Cheap: an index range on the primary key."""
    stmt = _select(flt or LogFilter()).where(_T.id > after_id)
    if up_to_id is not None:
        stmt = stmt.where(_T.id <= up_to_id)
    rows = session.execute(stmt.order_by(_T.id.desc()).limit(limit)).all()
    return [_row_to_view(r) for r in rows]


def iter_entries(
    session: Session, flt: LogFilter | None = None, batch: int = 2000
) -> Iterator[ActivityView]:
    """Every matching entry, newest first, in batches (for exports)."""
    flt = flt or LogFilter()
    before: int | None = None
    while True:
        page = query_entries(session, flt, before_id=before, limit=batch, scan_limit=200_000)
        yield from page.entries
        if page.next_before_id is None:
            return
        before = page.next_before_id


def count_entries(session: Session, flt: LogFilter | None = None) -> int:
    """How many entries match. Quick with index filters; a text search reads every row."""
    conds = _conditions(flt or LogFilter())
    stmt = select(func.count()).select_from(ActivityEntry.__table__)
    if conds:
        stmt = stmt.where(and_(*conds))
    return session.scalar(stmt) or 0


def get_entry(session: Session, entry_id: int) -> ActivityView:
    """One entry by id. Raises NotFoundError if there is none."""
    row = session.execute(select(*_COLUMNS).where(_T.id == entry_id)).first()
    if row is None:
        raise NotFoundError(f"Activity entry {entry_id} does not exist.")
    return _row_to_view(row)


def automation_choices(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every automation, for the viewer's automation filter."""
    rows = session.execute(select(Automation.id, Automation.name).order_by(Automation.name))
    return [(r.id, r.name) for r in rows]


@dataclass(frozen=True)
class KindChoice:
    """One entry of the viewer's "Kind" list: what a person looks for, in their words."""

    key: str
    label: str
    kinds: tuple[str, ...]
    sources: tuple[str, ...] = ()

    def log_filter(self, **others: object) -> LogFilter:
        """A LogFilter for this choice combined with ``others`` (contact, dates, text)."""
        return LogFilter(kinds=self.kinds, sources=self.sources, **others)  # type: ignore[arg-type]  # others are LogFilter fields by name


# Ordered as a person thinks of them: opt-outs (and how they came), consent back, sends,
# replies, then housekeeping. STOP replies are logged as opt-outs whose source is the reply.
KIND_CHOICES: tuple[KindChoice, ...] = (
    KindChoice("opt_out", "Opt-outs (all)", (ActivityKind.OPT_OUT,)),
    KindChoice(
        "stop_reply",
        "STOP replies",
        (ActivityKind.OPT_OUT, ActivityKind.STOP_REPLY),
        (ConsentSource.STOP_REPLY,),
    ),
    KindChoice(
        "opt_out_by_hand",
        "Opt-outs by hand",
        (ActivityKind.OPT_OUT,),
        (ConsentSource.MANUAL_TOGGLE,),
    ),
    KindChoice(
        "opt_out_review", "Opt-outs after review", (ActivityKind.OPT_OUT,), (ConsentSource.REVIEW,)
    ),
    KindChoice(
        "twilio_21610",
        "Opt-outs reported by Twilio (21610)",
        (ActivityKind.OPT_OUT,),
        (ConsentSource.TWILIO_21610,),
    ),  # fmt: skip
    KindChoice("re_consent", "Re-consents", (ActivityKind.RE_CONSENT,)),
    KindChoice("consent_record", "Consent records (opt-in proof)", (ActivityKind.CONSENT_RECORD,)),
    KindChoice(
        "purpose_preference",
        "SMS purposes declined or allowed",
        (ActivityKind.PURPOSE_PREFERENCE,),
    ),
    KindChoice(
        "manual_send",
        "Texts sent by hand",
        (ActivityKind.MANUAL_SEND, ActivityKind.MANUAL_SEND_OPTED_OUT),
    ),
    KindChoice(
        "manual_send_opted_out",
        "Texts sent by hand to opted-out contacts",
        (ActivityKind.MANUAL_SEND_OPTED_OUT,),
    ),  # fmt: skip
    KindChoice("automation_sent", "Automation texts sent", (ActivityKind.AUTOMATION_SENT,)),
    KindChoice(
        "automation_skipped", "Automation steps skipped", (ActivityKind.AUTOMATION_SKIPPED,)
    ),
    KindChoice(
        "automation_held",
        "Automation texts held (reply waiting for review)",
        (ActivityKind.AUTOMATION_HELD,),
    ),  # fmt: skip
    KindChoice(
        "opt_out_confirmation", "Opt-out confirmation texts", (ActivityKind.OPT_OUT_CONFIRMATION,)
    ),
    KindChoice(
        "failed", "Failed sends", (ActivityKind.AUTOMATION_FAILED, ActivityKind.SEND_FAILED)
    ),
    KindChoice(
        "inbound_message",
        "Replies received (not STOP)",
        (ActivityKind.INBOUND_MESSAGE, ActivityKind.HELP_REQUEST),
    ),  # fmt: skip
    KindChoice("review_decision", "Review decisions", (ActivityKind.REVIEW_DECISION,)),
    KindChoice("enrolled", "Enrolments in automations", (ActivityKind.ENROLLED,)),
    KindChoice(
        "contact",
        "Contacts added, changed or deleted",
        (ActivityKind.CONTACT_CREATED, ActivityKind.CONTACT_UPDATED, ActivityKind.CONTACT_DELETED),
    ),  # fmt: skip
    KindChoice("task_created", "Tasks created", (ActivityKind.TASK_CREATED,)),
    KindChoice("import", "Imports", (ActivityKind.IMPORT,)),
    KindChoice("settings_change", "Settings changes and pauses", (ActivityKind.SETTINGS_CHANGE,)),
)
KIND_CHOICE_BY_KEY = {choice.key: choice for choice in KIND_CHOICES}


def kind_text(view: ActivityView) -> str:
    """The Kind column: 'Opt-out: STOP reply' says how an opt-out or re-consent came."""
    label = KIND_LABELS.get(view.kind, view.kind.replace("_", " ").capitalize())
    source = view.details.get("source")
    if (
        view.kind in (ActivityKind.OPT_OUT, ActivityKind.RE_CONSENT)
        and isinstance(source, str)
        and source
    ):
        return f"{label}: {SOURCE_LABELS.get(source, source)}"
    return label


# Details keys in the words of the screen; keys not listed are capitalised.
DETAIL_LABELS = {
    "body": "Message",
    "classification": "Read as",
    "evidence": "Evidence",
    "from": "From",
    "message_sid": "Twilio message SID",
    "method": "How consent was given",
    "note": "Note",
    "phone": "Number",
    "reason": "Why",
    "received_at": "Reply received",
    "source": "How it came",
    "to": "To",
}
_ORDER = tuple(DETAIL_LABELS)  # known keys in a fixed order, the rest after them


def _detail_value(key: str, value: object, zone: str) -> str:
    if key == "source" and isinstance(value, str):
        return SOURCE_LABELS.get(value, value)
    if key == "method" and isinstance(value, str):
        return RECONSENT_METHODS.get(value, value)
    if key == "classification" and isinstance(value, str):
        return value.replace("_", " ")
    if key.endswith("_at") and isinstance(value, str):
        try:
            return format_time(datetime.fromisoformat(value), zone, seconds=True)
        except ValueError:
            return value
    if isinstance(value, list) and len(value) == 2:  # a settings change: [before, after]
        return f"{_plain(value[0])} → {_plain(value[1])}"
    return _plain(value)


def _plain(value: object) -> str:
    if value is None or value == "":
        return "(empty)"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _detail_label(key: str, view: ActivityView) -> str:
    if view.kind == ActivityKind.SETTINGS_CHANGE:
        return setting_label(key)
    return DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())


def detail_fields(view: ActivityView, zone: str) -> list[tuple[str, str]]:
    """The full record as (label, value) pairs in words, times in the business ``zone``
    (for the details pane). Empty values are left out."""
    contact = view.contact_name or "(none)"
    if view.contact_id is not None:
        contact += f" (id {view.contact_id})"
    fields = [
        ("What", kind_text(view)),
        ("Summary", view.summary),
        ("When", format_time(view.occurred_at, zone, seconds=True)),
        ("Recorded", format_time(view.recorded_at, zone, seconds=True)),
        ("Contact", contact),
        ("By", view.actor),
    ]
    if view.automation_id is not None:
        fields.append(("Automation", f"id {view.automation_id}"))
    keys = sorted(view.details, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k))
    for key in keys:
        value = view.details[key]
        if (value is None or value == "") and view.kind != ActivityKind.SETTINGS_CHANGE:
            continue
        fields.append((_detail_label(key, view), _detail_value(key, value, zone)))
    utc = view.occurred_at.isoformat(timespec="seconds")
    fields.append(("Entry", f"number {view.id}; happened {utc} (ISO, as exports write it)"))
    return fields


def details_lines(view: ActivityView, zone: str = "UTC") -> list[str]:
    """The full record as 'Label: value' lines (what "Copy" puts on the clipboard)."""
    return [f"{label}: {value}" for label, value in detail_fields(view, zone)]
