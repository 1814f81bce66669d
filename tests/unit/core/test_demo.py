"""The sandbox demo business: filled through the same core rules as real use, so its
consent history and log are genuine."""

from __future__ import annotations

from sqlalchemy import func, select

from trustpager_desktop.core import demo
from trustpager_desktop.core.optout_audit import audit
from trustpager_desktop.core.states import ConsentEventKind
from trustpager_desktop.store.models import Automation, ConsentEvent, Contact, Opportunity


def _fill(db, clock) -> int:
    with db.write() as s:
        assert demo.is_empty(s)
        return demo.fill_demo(s, clock=clock)


def test_the_demo_business_has_contacts_opportunities_and_two_automations(db, clock):
    assert _fill(db, clock) == demo.DEMO_CONTACTS
    with db.read() as s:
        assert not demo.is_empty(s)
        assert s.scalar(select(func.count()).select_from(Contact)) == demo.DEMO_CONTACTS
        assert s.scalar(select(func.count()).select_from(Opportunity)) == 18
        automations = dict(s.execute(select(Automation.name, Automation.enabled)).all())
    assert automations == {"Appointment reminder": True, "Quote follow-up": False}


def test_its_opt_outs_are_real_consent_history_that_the_audit_accepts(db, clock):
    _fill(db, clock)
    with db.read() as s:
        opted_out = s.scalar(select(func.count()).where(Contact.sms_opted_out.is_(True)))
        kinds = list(s.scalars(select(ConsentEvent.kind).order_by(ConsentEvent.id)))
        result = audit(s)
    assert opted_out == 4  # five opt-outs, one of whom asked for texts again
    assert sorted(kinds) == [ConsentEventKind.OPT_OUT] * 5 + [ConsentEventKind.RE_CONSENT]
    assert result.mismatches == [] and result.contacts_opted_out == 4


def test_the_opt_outs_happened_in_the_weeks_before_the_day_it_was_filled(db, clock):
    _fill(db, clock)
    with db.read() as s:
        received = list(
            s.scalars(
                select(ConsentEvent.received_at).where(
                    ConsentEvent.kind == ConsentEventKind.OPT_OUT
                )
            )
        )
    assert len(received) == 5 and all(at < clock.now() for at in received)
