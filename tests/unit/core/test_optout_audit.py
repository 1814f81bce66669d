"""The opt-out audit behind ``log verify``: the consent events are the evidence, and a flag or
suppression changed behind the application's back is named."""

from __future__ import annotations

from sqlalchemy import update

from tests.support.contacts import add_contact
from trustpager_desktop.core import consent
from trustpager_desktop.core.optout_audit import audit
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.store.models import Contact, NumberSuppression

ANN, BOB = "+14155550101", "+14155550102"


def _audit(db):
    with db.read() as s:
        return audit(s)


def _opted_out_pair(db, clock) -> tuple[int, int]:
    ann = add_contact(db, clock, "Ann", "Lee", phone=ANN, opted_out=True)
    bob = add_contact(db, clock, "Bob", phone=BOB)
    with db.write() as s:  # a STOP reply speaks for the number, as the inbox records it
        consent.opt_out_number(
            s, BOB, source=ConsentSource.STOP_REPLY, actor="Inbox", evidence="STOP", clock=clock
        )
    add_contact(db, clock, "Cy", phone="+14155550103")
    return ann, bob


def test_state_the_application_wrote_matches_its_consent_events(db, clock):
    _opted_out_pair(db, clock)
    result = _audit(db)
    assert result.mismatches == []
    assert result.describe() == (
        "Opt-out state matches the consent events (2 contacts opted out, 1 numbers held)."
    )


def test_a_flag_cleared_in_the_database_is_named_with_the_event_that_set_it(db, clock):
    ann, _bob = _opted_out_pair(db, clock)
    with db.write() as s:
        s.execute(update(Contact).where(Contact.id == ann).values(sms_opted_out=False))
    [problem] = _audit(db).mismatches
    assert problem.startswith(f"Contact {ann} (Ann Lee) is marked subscribed, but consent event ")
    assert problem.endswith("opted them out and no re-consent follows.")


def test_a_lifted_suppression_of_a_stop_reply_is_named(db, clock):
    _opted_out_pair(db, clock)
    with db.write() as s:
        s.execute(update(NumberSuppression).values(lifted_at=clock.now()))
    [problem] = _audit(db).mismatches
    assert problem.startswith(f"Number {BOB} should be held as opted out (consent event ")
    assert problem.endswith("but its suppression is missing or lifted.")


def test_an_opt_out_flag_without_an_event_behind_it_is_named(db, clock):
    cy = add_contact(db, clock, "Cy", phone="+14155550103")
    with db.write() as s:
        s.execute(update(Contact).where(Contact.id == cy).values(sms_opted_out=True))
    assert _audit(db).mismatches == [
        f"Contact {cy} (Cy) is marked opted out, but no consent event records an opt-out."
    ]
