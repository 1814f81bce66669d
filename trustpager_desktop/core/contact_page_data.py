"""Everything the contact page shows, read in five round trips (issue 18 item 1).

Against a shared database across a network each statement costs a full round-trip
time, so the page is read in five statements, not one per card:

1. the contact;
2. its consent facts (``core.consent``'s one UNION ALL) and its number's delivery
   failures, in one statement;
3. its activity timeline;
4. its tasks and its opportunities, in one UNION ALL;
5. the conversation, both directions in one UNION ALL (``core.conversation``).

Run it in ``Database.read(snapshot=False)`` so no BEGIN/ROLLBACK is spent either. The
settings come from the caller (the window keeps them; a settings change reloads them),
not from the database on each page. Widgets get frozen dataclasses, never ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Integer, Numeric, String, cast, literal, null, select, union_all
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent, contacts, conversation, delivery
from trustpager_desktop.core.contact_tasks import TaskView
from trustpager_desktop.core.conversation import ConversationItem
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.opportunities import OpportunityRow
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.store.models import Contact, Opportunity, Task, UndeliverableNumber

OPPORTUNITIES_SHOWN = 50
TIMELINE_SHOWN = 200
MESSAGES_SHOWN = 200


@dataclass(frozen=True)
class ContactPageData:
    """One contact page: the card (with its consent state), messages, activity, tasks,
    opportunities and the number's delivery problem, if any."""

    contact: contacts.ContactView
    timeline: tuple[activity.ActivityView, ...]
    tasks: tuple[TaskView, ...]
    opportunities: tuple[OpportunityRow, ...]
    messages: tuple[ConversationItem, ...]
    delivery_problem: delivery.DeliveryProblem | None


def load_contact_page(session: Session, contact_id: int, settings: AppSettings) -> ContactPageData:
    """Read one contact's page. Raises NotFoundError when the contact no longer exists."""
    row = session.get(Contact, contact_id)
    if row is None:
        raise NotFoundError(f"Contact {contact_id} no longer exists.")
    e164 = row.phone_e164
    state, problem = _consent_and_delivery(session, contact_id, e164, settings)
    contact = contacts.to_view(row, settings.default_country, settings.business_timezone, state)
    timeline = activity.for_contact(session, contact_id, limit=TIMELINE_SHOWN)
    tasks, deals = _tasks_and_opportunities(session, contact)
    messages = conversation.items_from_rows(
        session.execute(conversation.conversation_select(contact_id, e164, MESSAGES_SHOWN)),
        MESSAGES_SHOWN,
    )
    return ContactPageData(
        contact, tuple(timeline), tuple(tasks), tuple(deals), tuple(messages), problem
    )


def _nothing(type_: Any) -> Any:
    return cast(null(), type_)


def _consent_and_delivery(
    session: Session, contact_id: int, e164: str | None, settings: AppSettings
) -> tuple[consent.ConsentState, delivery.DeliveryProblem | None]:
    """The consent state and the delivery problem, in one statement (none without a number:
    the state is then 'no number' whatever is recorded)."""
    if not e164:
        return consent.Facts().state(contact_id, None, settings), None
    failures = select(  # the branches share one shape: code and count travel as text
        literal("delivery_problem"),
        UndeliverableNumber.phone_e164,
        cast(UndeliverableNumber.error_code, String),
        cast(UndeliverableNumber.failures, String),
        cast(UndeliverableNumber.blocked_at.is_not(None), String),
        UndeliverableNumber.first_failed_at,
        _nothing(Integer),
    ).where(UndeliverableNumber.phone_e164 == e164, UndeliverableNumber.failures > 0)
    statement = union_all(*consent.fact_selects(), failures)
    rows = session.execute(statement, {"numbers": [e164], "ids": [contact_id]}).all()
    facts = consent.Facts()
    facts.add_rows(rows)
    problem = None
    for kind, number, code, count, blocked, since, _n in rows:
        if kind == "delivery_problem":
            problem = delivery.DeliveryProblem(number, int(code), int(count), since,
                                               _truthy(blocked))  # fmt: skip
    return facts.state(contact_id, e164, settings), problem


def _truthy(text: str | None) -> bool:
    """A boolean cast to text: 'true' on PostgreSQL, '1' on SQLite."""
    return (text or "").lower() in ("1", "true", "t")


def _tasks_and_opportunities(
    session: Session, contact: contacts.ContactView
) -> tuple[list[TaskView], list[OpportunityRow]]:
    """The contact's tasks (all) and newest opportunities, in one UNION ALL."""
    tasks = select(
        literal("task").label("kind"),
        Task.id.label("id"),
        Task.title.label("title"),
        Task.due_at.label("at"),
        Task.done.label("done"),
        Task.automation_id.label("automation_id"),
        _nothing(Numeric(12, 2)).label("value"),
        _nothing(String).label("stage"),
    ).where(Task.contact_id == contact.id)
    deals = (
        select(
            literal("opportunity").label("kind"),
            Opportunity.id.label("id"),
            Opportunity.title.label("title"),
            Opportunity.created_at.label("at"),
            _nothing(Boolean).label("done"),
            _nothing(Integer).label("automation_id"),
            Opportunity.value.label("value"),
            Opportunity.stage.label("stage"),
        )
        .where(Opportunity.contact_id == contact.id)
        .order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
        .limit(OPPORTUNITIES_SHOWN)
        .subquery()
    )
    rows = session.execute(union_all(tasks, select(*deals.c))).all()
    task_rows = [r for r in rows if r.kind == "task"]
    # Open tasks first, then by due date (undated last), then oldest first.
    task_rows.sort(key=lambda r: (bool(r.done), r.at is None, r.at or 0, r.id))
    deal_rows = sorted((r for r in rows if r.kind == "opportunity"),
                       key=lambda r: (r.at, r.id), reverse=True)  # fmt: skip
    return (
        [TaskView(r.id, r.title, r.at, bool(r.done), r.automation_id is not None)
         for r in task_rows],
        [OpportunityRow(r.id, r.title, contact.id, contact.display_name,
                        Decimal(r.value or 0), r.stage, r.at) for r in deal_rows],
    )  # fmt: skip
