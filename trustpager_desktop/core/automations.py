"""Automations: ordered steps (send SMS, wait, create task), enrolment, JSON export/import.

Qt-free. Widgets and commands get plain dataclass views, never ORM objects.

Due times. Enrolling a contact creates one queue item per step. Waits are
cumulative: a step is due at ``enrolled_at + sum of the waits up to and
including it``. A wait step is itself a queue item (due when the wait is over)
that the runner simply marks ``done``, so the Auto Queue shows the whole plan.

No duplicates. A contact that still has pending or in-flight items in an
automation is not enrolled in it again (``EnrollResult.already_enrolled``);
once every item of the earlier enrolment is finished it may be enrolled anew.
The database enforces it, like a dispatch claim: at most one OPEN enrolment
per (automation, contact) (a partial unique index on ``enrollments`` where
``closed_at IS NULL``), inserted with ON CONFLICT DO NOTHING, so two desktops,
a manual enrolment and a schedule firing at the same moment cannot double it.

Opted-out contacts may be enrolled: the opt-out is checked when a text is due
(the gateway's one rule), so a later re-consent is honoured and the
automation's other steps still run. ``EnrollResult.opted_out`` lets a window
show a note.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.journal import WriteJournal
from trustpager_desktop.core.segments import MessageBodyError, validate_body
from trustpager_desktop.core.settings import DEFAULT_PURPOSE, load_settings
from trustpager_desktop.core.states import ActivityKind, QueueStatus
from trustpager_desktop.store import bulk
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import (
    TITLE_MAX,
    Automation,
    AutomationStep,
    Contact,
    Enrollment,
    Opportunity,
    QueueItem,
)

SEND_SMS = "send_sms"
WAIT = "wait"
CREATE_TASK = "create_task"
ACTION_TYPES = (SEND_SMS, WAIT, CREATE_TASK)
ACTION_LABELS = {SEND_SMS: "Send SMS", WAIT: "Wait", CREATE_TASK: "Create task"}
TEMPLATE_FIELDS = ("first_name", "last_name", "company", "full_name")
NAME_MAX = 200
MAX_STEPS = 50
MAX_WAIT_SECONDS = 366 * 86_400
EXPORT_FORMAT = "trustpager-automations"
EXPORT_VERSION = 1
OPEN_STATUSES = (QueueStatus.PENDING, QueueStatus.IN_FLIGHT, QueueStatus.HELD)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# -- plain data -----------------------------------------------------------------------


@dataclass(frozen=True)
class StepInput:
    """One step as typed in the editor or read from a file."""

    action_type: str
    template: str = ""
    wait_seconds: int = 0
    task_title: str = ""


@dataclass(frozen=True)
class AutomationInput:
    name: str
    steps: Sequence[StepInput]
    enabled: bool = True
    schedule: dict[str, Any] | None = None
    purpose: str = DEFAULT_PURPOSE  # contacts who declined it are skipped (core.consent)


@dataclass(frozen=True)
class StepView:
    id: int
    position: int
    action_type: str
    template: str
    wait_seconds: int
    task_title: str

    @property
    def summary(self) -> str:
        """'Send SMS: Hi {first_name}…', 'Wait 1 day', 'Create task: Call…'."""
        if self.action_type == WAIT:
            return f"Wait {describe_duration(self.wait_seconds)}"
        text = self.template if self.action_type == SEND_SMS else self.task_title
        return f"{ACTION_LABELS.get(self.action_type, self.action_type)}: {text}"


@dataclass(frozen=True)
class AutomationView:
    id: int
    name: str
    enabled: bool
    schedule: dict[str, Any] | None
    steps: tuple[StepView, ...]
    created_at: datetime
    purpose: str = DEFAULT_PURPOSE

    def as_input(self) -> AutomationInput:
        return AutomationInput(
            name=self.name,
            enabled=self.enabled,
            schedule=self.schedule,
            purpose=self.purpose,
            steps=[
                StepInput(s.action_type, s.template, s.wait_seconds, s.task_title)
                for s in self.steps
            ],
        )


@dataclass(frozen=True)
class AutomationRow:
    """One line of the automations list: steps and last-run counts."""

    id: int
    name: str
    enabled: bool
    scheduled: bool
    step_count: int
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0
    last_run_at: datetime | None = None
    purpose: str = DEFAULT_PURPOSE


@dataclass(frozen=True)
class Audience:
    """Who to enrol: explicit contacts, a tag, a pipeline stage, or everyone."""

    contact_ids: tuple[int, ...] | None = None
    tag: str | None = None
    stage: str | None = None
    everyone: bool = False

    def describe(self) -> str:
        if self.everyone:
            return "everyone"
        if self.tag:
            return f"tag '{self.tag}'"
        if self.stage:
            return f"stage '{self.stage}'"
        return f"{len(self.contact_ids or ())} selected contact(s)"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        if data.get("all") or data.get("everyone"):
            return cls(everyone=True)
        if data.get("tag"):
            return cls(tag=str(data["tag"]))
        if data.get("stage"):
            return cls(stage=str(data["stage"]))
        raise UserInputError(
            'A schedule\'s audience must be {"stage": ...}, {"tag": ...} or {"all": true}.',
            field="schedule",
        )


@dataclass(frozen=True)
class EnrollResult:
    automation_name: str
    enrolled: list[int] = field(default_factory=list)
    already_enrolled: list[int] = field(default_factory=list)
    opted_out: list[int] = field(default_factory=list)  # enrolled, but texts will be skipped
    queue_items: int = 0

    def describe(self) -> str:
        parts = [f"Enrolled {len(self.enrolled)} contact(s) in '{self.automation_name}'"]
        if self.already_enrolled:
            parts.append(f"{len(self.already_enrolled)} already enrolled (left as they were)")
        if self.opted_out:
            parts.append(
                f"{len(self.opted_out)} opted out of SMS: their texts will be skipped, "
                "other steps still run"
            )
        return "; ".join(parts) + "."


# -- templates --------------------------------------------------------------------------


def template_fields(template: str, label: str = "The template") -> list[str]:
    """Names of the {fields} used in ``template``. Raises UserInputError for broken braces."""
    return [name for _, name, _, _ in _parse_template(template, label) if name is not None]


def _parse_template(
    template: str, label: str
) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(string.Formatter().parse(template))
    except ValueError as exc:
        raise UserInputError(
            f"{label}: stray brace ({exc}). Use {{first_name}} style fields.",
            field="template",
        ) from exc


def _check_template(template: str, label: str) -> None:
    for _text, name, spec, conversion in _parse_template(template, label):
        if name is None:
            continue
        if spec or conversion:
            # {first_name:>3000000000} would pad to three billion characters on render.
            shown = (
                f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
            )
            raise UserInputError(
                f"{label}: {shown[:40]} has a format; use plain fields like {{first_name}}.",
                field="template",
            )
        if name not in TEMPLATE_FIELDS:
            shown = name or "{}"
            raise UserInputError(
                f"{label}: unknown field {{{shown}}}. Available: "
                + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS)
                + ".",
                field="template",
            )


def render(template: str, *, first_name: str, last_name: str, company: str) -> str:
    """Fill a template's fields from contact data (already validated templates only)."""
    values = {
        "first_name": first_name,
        "last_name": last_name,
        "company": company,
        "full_name": f"{first_name} {last_name}".strip(),
    }
    return template.format_map(values).strip()


def describe_duration(seconds: int) -> str:
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


# -- validation --------------------------------------------------------------------------


def _validate_step(step: StepInput, position: int) -> StepInput:
    label = f"Step {position}"
    if step.action_type not in ACTION_TYPES:
        raise UserInputError(
            f"{label}: unknown action '{step.action_type}' (use send_sms, wait or create_task).",
            field="action_type",
        )
    if step.action_type == SEND_SMS:
        template = (step.template or "").strip()
        if not template:
            raise UserInputError(f"{label}: the text message is empty.", field="template")
        _check_template(template, label)
        try:
            validate_body(render(template, first_name="A", last_name="B", company="C"))
        except MessageBodyError as exc:
            raise UserInputError(f"{label}: {exc}", field="template") from exc
        return StepInput(SEND_SMS, template=template)
    if step.action_type == WAIT:
        seconds = step.wait_seconds
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise UserInputError(f"{label}: the wait must be whole seconds.", field="wait_seconds")
        if seconds < 0:
            raise UserInputError(f"{label}: a wait cannot be negative.", field="wait_seconds")
        if seconds > MAX_WAIT_SECONDS:
            raise UserInputError(f"{label}: a wait can be a year at most.", field="wait_seconds")
        return StepInput(WAIT, wait_seconds=seconds)
    title = (step.task_title or "").strip()
    if not title:
        raise UserInputError(f"{label}: the task title is empty.", field="task_title")
    if len(title) > TITLE_MAX:
        raise UserInputError(
            f"{label}: the task title is too long ({TITLE_MAX} characters at most).",
            field="task_title",
        )
    _check_template(title, label)
    return StepInput(CREATE_TASK, task_title=title)


def validate_schedule(schedule: dict[str, Any] | None) -> dict[str, Any] | None:
    """Check a schedule dict; returns it unchanged or raises UserInputError."""
    if schedule is None:
        return None
    if not isinstance(schedule, dict):
        raise UserInputError("The schedule must be a JSON object.", field="schedule")
    from trustpager_desktop.core.schedules import build_trigger, check_min_interval  # a cycle

    check_min_interval(build_trigger(schedule, "UTC"))
    Audience.from_json(schedule.get("audience") or {})
    return schedule


def validate(data: AutomationInput) -> AutomationInput:
    """Return a cleaned copy of ``data`` or raise UserInputError naming what is wrong."""
    name = (data.name or "").strip()
    if not name:
        raise UserInputError("The automation needs a name.", field="name")
    if len(name) > NAME_MAX or _CONTROL.search(name):
        raise UserInputError(
            f"The name must be plain text of at most {NAME_MAX} characters.", field="name"
        )
    if not data.steps:
        raise UserInputError("Add at least one step.", field="steps")
    if len(data.steps) > MAX_STEPS:
        raise UserInputError(f"An automation has {MAX_STEPS} steps at most.", field="steps")
    steps = [_validate_step(step, i) for i, step in enumerate(data.steps, start=1)]
    purpose = " ".join((data.purpose or "").split()) or DEFAULT_PURPOSE
    return AutomationInput(name, steps, bool(data.enabled), validate_schedule(data.schedule),
                           purpose)  # fmt: skip


def _known_purpose(session: Session, purpose: str) -> str:
    """``purpose`` as the business spells it in Settings; UserInputError when it is not
    one of the business's SMS purposes."""
    known = load_settings(session).purposes
    for name in known:
        if name.casefold() == purpose.casefold():
            return name
    raise UserInputError(f"'{purpose}' is not one of the SMS purposes ({', '.join(known)}); "
                         "add it in Settings first.", field="purpose")  # fmt: skip


# -- create / update / delete / list ---------------------------------------------------


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    query = select(Automation.id).where(func.lower(Automation.name) == name.lower())
    if except_id is not None:
        query = query.where(Automation.id != except_id)
    return session.scalar(query) is not None


def _set_steps(automation: Automation, steps: Iterable[StepInput]) -> None:
    automation.steps = [
        AutomationStep(
            position=i,
            action_type=s.action_type,
            template=s.template,
            wait_seconds=s.wait_seconds,
            task_title=s.task_title,
        )
        for i, s in enumerate(steps, start=1)
    ]


def create_automation(
    session: Session, data: AutomationInput, *, clock: Clock = SYSTEM_CLOCK
) -> AutomationView:
    """Validate and add an automation. Raises UserInputError (bad input or name taken)."""
    data = validate(data)
    if _name_taken(session, data.name):
        raise UserInputError(f"An automation named '{data.name}' already exists.", field="name")
    automation = Automation(
        name=data.name,
        enabled=data.enabled,
        purpose=_known_purpose(session, data.purpose),
        schedule=json.dumps(data.schedule) if data.schedule else None,
        created_at=clock.now(),
    )
    _set_steps(automation, data.steps)
    session.add(automation)
    session.flush()
    return to_view(automation)


def update_automation(
    session: Session, automation_id: int, data: AutomationInput
) -> AutomationView:
    """Replace name, enabled, schedule and steps. Items already queued keep their step copy
    (they remember position and type; texts re-read the template when they are sent)."""
    data = validate(data)
    automation = _get(session, automation_id)
    if _name_taken(session, data.name, except_id=automation_id):
        raise UserInputError(f"An automation named '{data.name}' already exists.", field="name")
    automation.purpose = _known_purpose(session, data.purpose)
    automation.name = data.name
    automation.enabled = data.enabled
    automation.schedule = json.dumps(data.schedule) if data.schedule else None
    _replace_steps(session, automation, data.steps)
    session.flush()
    session.refresh(automation)
    return to_view(automation)


def _replace_steps(session: Session, automation: Automation, steps: Sequence[StepInput]) -> None:
    """Update step rows in place by position so queued items keep pointing at their step;
    items of a removed step are skipped by the runner ("step removed")."""
    existing = list(automation.steps)
    for position, data in enumerate(steps, start=1):
        if position <= len(existing):
            row = existing[position - 1]
        else:
            row = AutomationStep(automation_id=automation.id)
            session.add(row)
        row.position = position
        row.action_type = data.action_type
        row.template = data.template
        row.wait_seconds = data.wait_seconds
        row.task_title = data.task_title
    for row in existing[len(steps) :]:
        session.delete(row)


def set_enabled(session: Session, automation_id: int, enabled: bool) -> None:
    _get(session, automation_id).enabled = enabled


def delete_automation(session: Session, automation_id: int) -> None:
    """Delete an automation, its steps, enrolments and unfinished queue items.
    Finished items stay as history of what was sent."""
    automation = _get(session, automation_id)
    session.execute(
        delete(QueueItem).where(
            QueueItem.automation_id == automation_id, QueueItem.status.in_(OPEN_STATUSES)
        )
    )
    session.delete(automation)


def _get(session: Session, automation_id: int) -> Automation:
    automation = session.get(Automation, automation_id)
    if automation is None:
        raise NotFoundError(f"Automation {automation_id} no longer exists.")
    return automation


def get_automation(session: Session, automation_id: int) -> AutomationView:
    return to_view(_get(session, automation_id))


def find_by_name(session: Session, name: str) -> AutomationView:
    automation = session.scalar(
        select(Automation).where(func.lower(Automation.name) == name.strip().lower())
    )
    if automation is None:
        raise NotFoundError(f"There is no automation named '{name}'.")
    return to_view(automation)


def to_view(automation: Automation) -> AutomationView:
    return AutomationView(
        id=automation.id,
        name=automation.name,
        enabled=automation.enabled,
        schedule=json.loads(automation.schedule) if automation.schedule else None,
        steps=tuple(
            StepView(s.id, s.position, s.action_type, s.template, s.wait_seconds, s.task_title)
            for s in automation.steps
        ),
        created_at=automation.created_at,
        purpose=automation.purpose or DEFAULT_PURPOSE,
    )


def list_automations(session: Session) -> list[AutomationView]:
    return [to_view(a) for a in session.scalars(select(Automation).order_by(Automation.name))]


def list_rows(session: Session) -> list[AutomationRow]:
    """The automations list: step counts and queue outcome counts per automation."""
    steps = dict(
        session.execute(
            select(AutomationStep.automation_id, func.count()).group_by(
                AutomationStep.automation_id
            )
        ).all()
    )
    counts: dict[tuple[int, str], int] = {}
    last_run: dict[int, datetime] = {}
    for automation_id, status, count, last in session.execute(
        select(
            QueueItem.automation_id,
            QueueItem.status,
            func.count(),
            func.max(QueueItem.finished_at),
        ).group_by(QueueItem.automation_id, QueueItem.status)
    ):
        counts[(automation_id, status)] = count
        if last is not None:
            last = _aware(last)
            last_run[automation_id] = max(last, last_run.get(automation_id, last))
    rows = []
    for a in session.scalars(select(Automation).order_by(Automation.name)):
        rows.append(
            AutomationRow(
                id=a.id,
                name=a.name,
                enabled=a.enabled,
                scheduled=bool(a.schedule),
                step_count=steps.get(a.id, 0),
                sent=counts.get((a.id, QueueStatus.SENT), 0),
                skipped=counts.get((a.id, QueueStatus.SKIPPED), 0),
                failed=counts.get((a.id, QueueStatus.FAILED), 0)
                + counts.get((a.id, QueueStatus.REVIEW), 0),
                pending=sum(counts.get((a.id, status), 0) for status in OPEN_STATUSES),
                last_run_at=last_run.get(a.id),
                purpose=a.purpose or DEFAULT_PURPOSE,
            )
        )
    return rows


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


# -- enrolment ----------------------------------------------------------------------------


def audience_contact_ids(session: Session, audience: Audience) -> list[int]:
    """Contact ids for an audience, in id order. Raises UserInputError for an empty choice."""
    if audience.everyone:
        return list(session.scalars(select(Contact.id).order_by(Contact.id)))
    if audience.tag:
        tag = audience.tag.strip().lower()
        padded = "," + Contact.tags + ","
        return list(
            session.scalars(
                select(Contact.id).where(padded.contains(f",{tag},")).order_by(Contact.id)
            )
        )
    if audience.stage:
        return list(
            session.scalars(
                select(Contact.id)
                .join(Opportunity, Opportunity.contact_id == Contact.id)
                .where(func.lower(Opportunity.stage) == audience.stage.strip().lower())
                .distinct()
                .order_by(Contact.id)
            )
        )
    if audience.contact_ids is not None:
        return list(dict.fromkeys(audience.contact_ids))
    raise UserInputError("Choose who to enrol: contacts, a tag, a stage or everyone.")


def enroll(
    session: Session,
    automation_id: int,
    audience: Audience,
    *,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
    start_at: datetime | None = None,
) -> EnrollResult:
    """Enrol an audience: an Enrollment and one queue item per step for each new contact.

    Contacts with an open enrolment in this automation (unfinished items) are left
    alone; the database decides which (see ``_open_enrolments``), so two desktops,
    a manual enrolment and a schedule enrolling at once never enrol anyone twice.
    Raises NotFoundError for an unknown automation or contact id, UserInputError
    for an automation without steps.
    """
    automation = _get(session, automation_id)
    steps = list(automation.steps)
    if not steps:
        raise UserInputError(f"'{automation.name}' has no steps to run.")
    ids = audience_contact_ids(session, audience)
    contacts = _load_contacts(session, ids)
    # Lock order: the log's append lock before the enrolment rows (see activity.lock_chain).
    activity.lock_chain(session)
    now = clock.now()
    _close_finished_enrolments(session, automation_id, ids, now)
    opened = _open_enrolments(session, automation_id, ids, actor, now)
    start = start_at or now
    rows: list[dict[str, Any]] = []
    enrolled, opted_out = [], []
    journal = WriteJournal.open(session, clock)
    for contact_id in ids:
        if contact_id not in opened:
            continue
        rows.extend(_queue_rows(opened[contact_id], automation_id, contact_id, steps, start))
        enrolled.append(contact_id)
        contact = contacts[contact_id]
        if contact.sms_opted_out:
            opted_out.append(contact_id)
        _log_enrolment(journal, automation, contact, actor, audience)
    journal.flush()
    if rows:
        session.execute(insert(QueueItem), rows)
    already = [c for c in ids if c not in opened]
    return EnrollResult(automation.name, enrolled, already, opted_out, len(rows))


def _load_contacts(session: Session, ids: list[int]) -> dict[int, Contact]:
    found: dict[int, Contact] = {}
    for chunk in bulk.chunks(ids):
        found.update(
            {c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(chunk)))}
        )
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"Contact {missing[0]} no longer exists.")
    return found


_OPEN_ITEM = (
    select(QueueItem.id)
    .where(QueueItem.enrollment_id == Enrollment.id, QueueItem.status.in_(OPEN_STATUSES))
    .exists()
)


def _close_finished_enrolments(
    session: Session, automation_id: int, ids: list[int], now: datetime
) -> None:
    """Close these contacts' open enrolments whose items are all finished: they may be
    enrolled anew. (No item goes back from finished to waiting, so this cannot race.)"""
    for chunk in bulk.chunks(ids):
        session.execute(
            update(Enrollment)
            .where(
                Enrollment.automation_id == automation_id,
                Enrollment.contact_id.in_(chunk),
                Enrollment.closed_at.is_(None),
                ~_OPEN_ITEM,
            )
            .values(closed_at=now)
            .execution_options(synchronize_session=False)
        )


def _open_enrolments(
    session: Session, automation_id: int, ids: list[int], actor: str, now: datetime
) -> dict[int, int]:
    """Insert an open enrolment for each contact unless one is open already; returns
    {contact id: new enrolment id} for the ones inserted.

    The partial unique index ``uq_enrollments_open`` decides: ON CONFLICT DO NOTHING
    leaves out a contact whose open enrolment exists, including one that another
    transaction inserted and has not committed yet (PostgreSQL waits for it, SQLite's
    write lock has serialised us already)."""
    table = Enrollment.__table__
    dialect = session.get_bind().dialect.name
    make_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    opened: dict[int, int] = {}
    # Contact id order: two enrolments racing on PostgreSQL wait for each other in one order.
    for chunk in bulk.chunks(sorted(ids)):
        values = [
            {"automation_id": automation_id, "contact_id": cid, "enrolled_at": now,
             "enrolled_by": actor, "closed_at": None}
            for cid in chunk
        ]  # fmt: skip
        statement = (
            make_insert(table)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=["automation_id", "contact_id"],
                index_where=table.c.closed_at.is_(None),
            )
            .returning(table.c.contact_id, table.c.id)
        )
        opened.update({contact_id: row_id for contact_id, row_id in session.execute(statement)})
    return opened


def _queue_rows(
    enrollment_id: int,
    automation_id: int,
    contact_id: int,
    steps: list[AutomationStep],
    start: datetime,
) -> list[dict[str, Any]]:
    due = start
    rows = []
    for step in steps:
        if step.action_type == WAIT:
            due = due + timedelta(seconds=step.wait_seconds)
        rows.append(
            {
                "enrollment_id": enrollment_id,
                "automation_id": automation_id,
                "step_id": step.id,
                "step_position": step.position,
                "action_type": step.action_type,
                "contact_id": contact_id,
                "due_at": due,
                "status": QueueStatus.PENDING,
                "attempts": 0,
            }
        )
    return rows


def _log_enrolment(
    journal: WriteJournal, automation: Automation, contact: Contact, actor: str, audience: Audience
) -> None:
    note = " (opted out of SMS: texts will be skipped)" if contact.sms_opted_out else ""
    journal.log(
        activity.LogEntry(
            kind=ActivityKind.ENROLLED,
            summary=f"Enrolled in automation '{automation.name}'{note}",
            actor=actor,
            contact_id=contact.id,
            contact_name=contact.display_name,
            automation_id=automation.id,
            details={"automation": automation.name, "audience": audience.describe()},
        )
    )


# -- JSON export / import ------------------------------------------------------------------


def export_automations(session: Session) -> dict[str, Any]:
    """Every automation as a schema-versioned JSON-ready dict."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "automations": [
            {
                "name": a.name,
                "enabled": a.enabled,
                "purpose": a.purpose,
                "schedule": a.schedule,
                "steps": [_step_json(s) for s in a.steps],
            }
            for a in list_automations(session)
        ],
    }


def _step_json(step: StepView) -> dict[str, Any]:
    if step.action_type == SEND_SMS:
        return {"action": SEND_SMS, "template": step.template}
    if step.action_type == WAIT:
        return {"action": WAIT, "seconds": step.wait_seconds}
    return {"action": CREATE_TASK, "title": step.task_title}


def parse_export(data: Any) -> list[AutomationInput]:
    """Check a whole export file and return validated inputs; raises UserInputError.

    The schema (``core.automation_file``: strict types, lengths, known fields) first,
    then the editor's own rules for each automation."""
    from trustpager_desktop.core import automation_file  # it builds on this module's limits

    parsed = []
    seen: set[str] = set()
    for index, item in enumerate(automation_file.parse(data).automations, start=1):
        try:
            parsed.append(validate(_input_from_json(item)))
        except UserInputError as exc:
            raise UserInputError(f"Automation {index} ('{item.name[:40]}') in the file: "
                                 f"{exc.message}") from exc  # fmt: skip
        if parsed[-1].name.lower() in seen:
            raise UserInputError(f"The file has two automations named '{parsed[-1].name}'.")
        seen.add(parsed[-1].name.lower())
    return parsed


def _input_from_json(item: Any) -> AutomationInput:
    """An ``automation_file.AutomationJson`` (already type-checked) as editor input."""
    steps = [
        StepInput(
            action_type=raw.action,
            template=getattr(raw, "template", ""),
            wait_seconds=getattr(raw, "seconds", 0),
            task_title=getattr(raw, "title", ""),
        )
        for raw in item.steps
    ]
    schedule = item.schedule.model_dump(exclude_none=True) if item.schedule else None
    return AutomationInput(name=item.name, steps=steps, enabled=item.enabled, schedule=schedule,
                           purpose=item.purpose)  # fmt: skip


def import_automations(
    session: Session, data: Any, *, replace: bool = False, clock: Clock = SYSTEM_CLOCK
) -> list[str]:
    """Add the automations in ``data`` (a parsed export). All or nothing.

    A name that exists already is an error unless ``replace`` (then its steps
    are replaced). Returns the imported names.
    """
    inputs = parse_export(data)
    clashes = [d.name for d in inputs if _name_taken(session, d.name)]
    if clashes and not replace:
        raise UserInputError(
            f"An automation named '{clashes[0]}' already exists; nothing was imported. "
            "Rename it or import with --replace."
        )
    for item in inputs:
        existing = session.scalar(
            select(Automation.id).where(func.lower(Automation.name) == item.name.lower())
        )
        if existing is None:
            create_automation(session, item, clock=clock)
        else:
            update_automation(session, existing, item)
    return [d.name for d in inputs]


def enroll_contacts(
    db: Database,
    automation_id: int,
    contact_ids: Sequence[int],
    *,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
) -> EnrollResult:
    """Enrol chosen contacts (the contact page's and the browser's "Enrol" action) in one
    transaction. Raises NotFoundError / UserInputError; nothing is enrolled then."""
    with db.write() as session:
        return enroll(
            session,
            automation_id,
            Audience(contact_ids=tuple(contact_ids)),
            actor=actor,
            clock=clock,
        )
