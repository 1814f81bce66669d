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

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from trustpager_desktop.core.activity import ActivityView
from trustpager_desktop.core.consent import RECONSENT_METHODS, SOURCE_LABELS
from trustpager_desktop.core.errors import NotFoundError, UserInputError
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
    """

    kinds: tuple[str, ...] = ()
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


def _conditions(flt: LogFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.kinds:
        conds.append(_T.kind.in_(flt.kinds))
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


def _row_to_view(row) -> ActivityView:  # type: ignore[no-untyped-def]
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


def _parse_details(raw: str | None) -> dict:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"details": raw}
    return value if isinstance(value, dict) else {"details": value}


def _select(flt: LogFilter) -> Select:
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


def _when(moment: datetime) -> str:
    local = moment.astimezone()
    return f"{local.strftime('%d %b %Y %H:%M:%S %Z')} ({moment.isoformat(timespec='seconds')})"


def details_lines(view: ActivityView) -> list[str]:
    """The full record as readable 'Label: value' lines (for the details pane)."""
    lines = [
        f"Entry: {view.id}",
        f"Kind: {view.kind_label}",
        f"Happened: {_when(view.occurred_at)}",
        f"Recorded: {_when(view.recorded_at)}",
        f"Contact: {view.contact_name or '-'}"
        + (f" (id {view.contact_id})" if view.contact_id is not None else ""),
        f"By: {view.actor}",
    ]
    if view.automation_id is not None:
        lines.append(f"Automation: {view.automation_id}")
    lines.append(f"Summary: {view.summary}")
    for key in sorted(view.details):
        value = view.details[key]
        if value is None or value == "":
            continue
        label = key.replace("_", " ").capitalize()
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        if key == "source":
            text = f"{SOURCE_LABELS.get(text, text)} ({text})"
        elif key == "method":
            text = RECONSENT_METHODS.get(text, text)
        lines.append(f"{label}: {text}")
    return lines
