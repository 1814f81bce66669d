"""A texting history built through the real paths, for insights and compliance tests.

Texts go through the OutboundGateway (sandbox provider), replies through
``inbox.store_inbound`` + ``inbox.process_pending`` (so a STOP opts out exactly as in
use), staff opt-outs through ``consent``. Each call sets the fixed clock first, so
every record carries the time the test chose. Delivery reports, which the inbox
poller will read from Twilio (issue 19 item 1), are written as that poller will:
onto ``outbound_messages.status`` and ``error_code``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.core import automations, consent, contacts, delivery, inbox
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.gateway import AutomationOrigin, ManualOrigin, OutboundGateway
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.providers.base import FailureKind, InboundRecord, MessageRecord
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import InboundMessage


class History:
    def __init__(self, db: Database, clock: FixedClock) -> None:
        self.db = db
        self.clock = clock
        self.provider = SandboxProvider(clock=clock.now)
        self.gateway = OutboundGateway(db, self.provider, clock=clock)

    def at(self, when: datetime) -> History:
        self.clock.set(when)
        return self

    def contact(self, first: str, phone: str, *, last: str = "") -> int:
        return add_contact(self.db, self.clock, first, last, phone=phone)

    def automation(self, name: str, *templates: str) -> automations.AutomationView:
        steps = [StepInput("send_sms", template=t) for t in templates]
        with self.db.write() as s:
            return automations.create_automation(s, AutomationInput(name, steps), clock=self.clock)

    def text(self, automation: automations.AutomationView, position: int, contact_id: int):  # type: ignore[no-untyped-def]
        """An automation step's text to the contact, sent now; returns the SendOutcome."""
        step = next(s for s in automation.steps if s.position == position)
        origin = AutomationOrigin(automation.id, automation.name, step.id, step.position)
        return self.gateway.send(body=step.template, origin=origin, contact_id=contact_id)

    def manual_text(self, contact_id: int, body: str = "Hello", actor: str = "Dana"):  # type: ignore[no-untyped-def]
        return self.gateway.send(body=body, origin=ManualOrigin(actor), contact_id=contact_id)

    def failing(self, number: str, kind: FailureKind = FailureKind.PERMANENT) -> None:
        self.provider.fail_number(number, kind)

    def reply(self, number: str, body: str, *, sent_at: datetime | None = None) -> str:
        """A reply the customer sent at ``sent_at`` (default: now), stored and acted on by
        the inbox now (a STOP opts out, wording that may be one goes to review)."""
        sid = "SM" + uuid.uuid4().hex
        when = sent_at or self.clock.now()
        record = InboundRecord(sid, number, self.provider.sender, body, when, "inbound")
        inbox.store_inbound(self.db, [record], self.clock)
        inbox.process_pending(self.db, self.clock)
        return sid

    def staff_opt_out(self, contact_id: int, actor: str = "Dana") -> None:
        with self.db.write() as s:
            contact = contacts.get_contact_row(s, contact_id)
            consent.opt_out_contact(
                s, contact, source=ConsentSource.MANUAL_TOGGLE, actor=actor,
                evidence="Asked on the phone", clock=self.clock,
            )  # fmt: skip

    def decide(self, sid: str, decision: str, actor: str = "Dana") -> None:
        with self.db.read() as s:
            inbound_id = s.scalar(select(InboundMessage.id).where(InboundMessage.sid == sid))
        inbox.decide_review(self.db, inbound_id, decision, actor, self.clock)

    def delivery(self, outcome, status: str, error_code: int | None = None) -> None:  # type: ignore[no-untyped-def]
        """Twilio's later delivery report for a sent text, recorded as the poller does."""
        listed = MessageRecord(
            outcome.provider_sid, "", "", "", self.clock.now(), "outbound-api", status, error_code
        )
        delivery.record_statuses(self.db, [listed], self.clock)
