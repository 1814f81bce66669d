"""Opportunities: the list (by stage), the panel, the contact page's card, and adding
or changing one. Widgets get plain ``OpportunityRow`` data, never ORM objects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Row, Select, func, or_, select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.models import TITLE_MAX, Contact, Opportunity

# The pipeline a new business starts with; stages typed in the editor join the list.
DEFAULT_STAGES = ("New lead", "Quote sent", "Negotiating", "Won", "Lost")
STAGE_MAX = 40
VALUE_MAX = Decimal("9999999999.99")  # Numeric(12, 2)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class OpportunityInput:
    """What the editor holds: the value as typed ('1,250', '$80.50' or empty)."""

    title: str
    contact_id: int
    value: str = ""
    stage: str = DEFAULT_STAGES[0]


@dataclass(frozen=True)
class OpportunityRow:
    id: int
    title: str
    contact_id: int
    contact_name: str
    value: Decimal
    stage: str
    created_at: datetime

    @property
    def value_text(self) -> str:
        return format_value(self.value)


def format_value(value: Decimal) -> str:
    """'$1,250.00' (the demo business works in dollars; no currency setting exists yet)."""
    return f"${value:,.2f}"


def _select() -> Select[*tuple[Any, ...]]:
    return select(
        Opportunity.id,
        Opportunity.title,
        Opportunity.contact_id,
        Contact.first_name,
        Contact.last_name,
        Opportunity.value,
        Opportunity.stage,
        Opportunity.created_at,
    ).join(Contact, Contact.id == Opportunity.contact_id)


def _row(r: Row[*tuple[Any, ...]]) -> OpportunityRow:
    return OpportunityRow(
        id=r.id,
        title=r.title,
        contact_id=r.contact_id,
        contact_name=f"{r.first_name} {r.last_name}".strip(),
        value=Decimal(r.value or 0),
        stage=r.stage,
        created_at=r.created_at,
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(stmt: Select[Any], stage: str | None, query: str) -> Select[Any]:
    """Only ``stage`` (if given) and only titles or contact names holding ``query``."""
    if stage:
        stmt = stmt.where(Opportunity.stage == stage)
    text = (query or "").strip()
    if text:
        pattern = f"%{_escape_like(text)}%"
        full_name = Contact.first_name + " " + Contact.last_name
        stmt = stmt.where(
            or_(
                Opportunity.title.ilike(pattern, escape="\\"),
                full_name.ilike(pattern, escape="\\"),
            )
        )
    return stmt


def count_opportunities(session: Session, stage: str | None = None, query: str = "") -> int:
    stmt = select(func.count()).select_from(Opportunity)
    if (query or "").strip():
        stmt = stmt.join(Contact, Contact.id == Opportunity.contact_id)
    return session.scalar(_filtered(stmt, stage, query)) or 0


def list_opportunities(
    session: Session,
    *,
    offset: int = 0,
    limit: int = 200,
    stage: str | None = None,
    contact_id: int | None = None,
    query: str = "",
) -> list[OpportunityRow]:
    """One page of opportunities, newest first; only one ``stage`` or one contact's if
    given, and only those whose title or contact's name holds ``query``."""
    stmt = _filtered(_select(), stage, query)
    if contact_id is not None:
        stmt = stmt.where(Opportunity.contact_id == contact_id)
    stmt = stmt.order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
    return [_row(r) for r in session.execute(stmt.offset(offset).limit(limit))]


def stages(session: Session) -> list[str]:
    """The default pipeline in order, then any other stage in use (alphabetical)."""
    used = set(session.scalars(select(Opportunity.stage).distinct()))
    return [*DEFAULT_STAGES, *sorted(used - set(DEFAULT_STAGES), key=str.casefold)]


def parse_value(typed: str) -> Decimal:
    """'$1,250.50' -> Decimal('1250.50'); empty -> 0. Raises UserInputError (field 'value')."""
    text = (typed or "").strip().replace(",", "").replace("$", "").strip()
    if not text:
        return Decimal("0")
    try:
        value = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise UserInputError(f"'{typed.strip()}' is not an amount (e.g. 1250.00).",
                             field="value") from exc  # fmt: skip
    if not value.is_finite() or value < 0 or value > VALUE_MAX:
        raise UserInputError("The value must be between 0 and 9,999,999,999.99.", field="value")
    return value


def _validate(data: OpportunityInput) -> tuple[str, Decimal, str]:
    title = (data.title or "").strip()
    if not title:
        raise UserInputError("Give the opportunity a title.", field="title")
    if len(title) > TITLE_MAX or _CONTROL.search(title):
        raise UserInputError(f"The title must be one line of at most {TITLE_MAX} characters.",
                             field="title")  # fmt: skip
    stage = (data.stage or "").strip()
    if not stage or len(stage) > STAGE_MAX or _CONTROL.search(stage):
        raise UserInputError(f"Choose a stage (one line, {STAGE_MAX} characters at most).",
                             field="stage")  # fmt: skip
    return title, parse_value(data.value), stage


def _contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFoundError(f"Contact {contact_id} no longer exists.")
    return contact


def create_opportunity(
    session: Session, data: OpportunityInput, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> OpportunityRow:
    """Add an opportunity for a contact; noted on the contact's activity. Raises
    UserInputError (nothing added) for a bad field, NotFoundError for a missing contact."""
    title, value, stage = _validate(data)
    contact = _contact(session, data.contact_id)
    opportunity = Opportunity(title=title, value=value, stage=stage, contact_id=contact.id,
                              created_at=clock.now())  # fmt: skip
    session.add(opportunity)
    session.flush()
    activity.append(session, activity.LogEntry(kind=ActivityKind.CONTACT_UPDATED, actor=actor, contact=contact, summary=f"Opportunity added: {title} ({stage}, {format_value(value)})", details={"opportunity_id": opportunity.id}), clock=clock)  # fmt: skip
    return get_opportunity(session, opportunity.id)


def update_opportunity(
    session: Session,
    opportunity_id: int,
    data: OpportunityInput,
    *,
    actor: str,
    clock: Clock = SYSTEM_CLOCK,
) -> OpportunityRow:
    """Change title, value and stage (the contact stays). Raises UserInputError (nothing
    changed) or NotFoundError when the opportunity was deleted meanwhile."""
    title, value, stage = _validate(data)
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFoundError(f"Opportunity {opportunity_id} no longer exists.")
    changes = []
    if opportunity.stage != stage:
        changes.append(f"stage {opportunity.stage} → {stage}")
    if opportunity.title != title:
        changes.append("title")
    if Decimal(opportunity.value or 0) != value:
        changes.append(f"value {format_value(Decimal(opportunity.value or 0))} → "
                       f"{format_value(value)}")  # fmt: skip
    if changes:
        opportunity.title, opportunity.value, opportunity.stage = title, value, stage
        activity.append(session, activity.LogEntry(kind=ActivityKind.CONTACT_UPDATED, actor=actor, contact=_contact(session, opportunity.contact_id), summary=f"Opportunity {title} changed: " + ", ".join(changes), details={"opportunity_id": opportunity.id}), clock=clock)  # fmt: skip
    return get_opportunity(session, opportunity_id)


def get_opportunity(session: Session, opportunity_id: int) -> OpportunityRow:
    """One opportunity. Raises NotFoundError when it no longer exists."""
    row = session.execute(_select().where(Opportunity.id == opportunity_id)).first()
    if row is None:
        raise NotFoundError(f"Opportunity {opportunity_id} no longer exists.")
    return _row(row)


def delete_opportunity(
    session: Session, opportunity_id: int, *, actor: str, clock: Clock = SYSTEM_CLOCK
) -> None:
    """Delete an opportunity; noted on the contact's activity. Raises NotFoundError when
    it was deleted meanwhile (perhaps on another desktop)."""
    opportunity = session.get(Opportunity, opportunity_id)
    if opportunity is None:
        raise NotFoundError(f"Opportunity {opportunity_id} no longer exists.")
    title, stage, value = opportunity.title, opportunity.stage, Decimal(opportunity.value or 0)
    contact = _contact(session, opportunity.contact_id)
    session.delete(opportunity)
    session.flush()
    activity.append(session, activity.LogEntry(kind=ActivityKind.CONTACT_UPDATED, actor=actor, contact=contact, summary=f"Opportunity deleted: {title} ({stage}, {format_value(value)})", details={"opportunity_id": opportunity_id}), clock=clock)  # fmt: skip
