"""Opportunities as plain data: the list and the panel of the Opportunities page."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trustpager_desktop.core.consent import ConsentState, consent_states
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.store.models import Contact, Opportunity


@dataclass(frozen=True)
class OpportunityRow:
    id: int
    title: str
    contact_id: int
    contact_name: str
    value: Decimal
    stage: str
    created_at: datetime
    consent: ConsentState | None = None  # the contact's SMS consent state

    @property
    def value_text(self) -> str:
        return format_value(self.value)


def format_value(value: Decimal) -> str:
    """'$1,250.00' (the demo business works in dollars; no currency setting exists yet)."""
    return f"${value:,.2f}"


def _select():  # type: ignore[no-untyped-def]
    return select(
        Opportunity.id,
        Opportunity.title,
        Opportunity.contact_id,
        Contact.first_name,
        Contact.last_name,
        Opportunity.value,
        Opportunity.stage,
        Opportunity.created_at,
        Contact.phone_e164,
    ).join(Contact, Contact.id == Opportunity.contact_id)


def _rows(session: Session, rows) -> list[OpportunityRow]:  # type: ignore[no-untyped-def]
    """Rows with their contacts' consent states (one read for the page)."""
    rows = list(rows)
    states = consent_states(session, [(r.contact_id, r.phone_e164) for r in rows])
    return [dataclasses.replace(_row(r), consent=st) for r, st in zip(rows, states, strict=True)]


def _row(r) -> OpportunityRow:  # type: ignore[no-untyped-def]
    return OpportunityRow(
        id=r.id,
        title=r.title,
        contact_id=r.contact_id,
        contact_name=f"{r.first_name} {r.last_name}".strip(),
        value=Decimal(r.value or 0),
        stage=r.stage,
        created_at=r.created_at,
    )


def count_opportunities(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Opportunity)) or 0


def list_opportunities(
    session: Session, *, offset: int = 0, limit: int = 200
) -> list[OpportunityRow]:
    """One page of opportunities, newest first."""
    stmt = _select().order_by(Opportunity.created_at.desc(), Opportunity.id.desc())
    return _rows(session, session.execute(stmt.offset(offset).limit(limit)))


def get_opportunity(session: Session, opportunity_id: int) -> OpportunityRow:
    """One opportunity. Raises NotFoundError when it no longer exists."""
    row = session.execute(_select().where(Opportunity.id == opportunity_id)).first()
    if row is None:
        raise NotFoundError(f"Opportunity {opportunity_id} no longer exists.")
    return _rows(session, [row])[0]
