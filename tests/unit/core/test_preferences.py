"""The Communication Preferences card's saves: opt-out by hand, its confirmation, purposes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.core import preferences
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.store.models import Contact, OptOutConfirmation


def _confirmations(db) -> list[tuple[str, int | None]]:
    with db.read() as s:
        rows = s.scalars(select(OptOutConfirmation)).all()
        return [(r.phone_e164, r.contact_id) for r in rows]


def test_a_staff_opt_out_asks_for_a_confirmation_text_only_when_the_person_said_yes(db, clock):
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    bob = add_contact(db, clock, "Bob", phone="(415) 555-0102")
    with db.write() as s:
        assert preferences.confirmation_offered(s)
        assert preferences.opt_out_by_hand(s, ann, actor="Jo", clock=clock)
        assert preferences.opt_out_by_hand(s, bob, actor="Jo", clock=clock, send_confirmation=True)
    assert _confirmations(db) == [("+14155550102", bob)]
    with db.read() as s:
        assert s.get_one(Contact, ann).sms_opted_out and s.get_one(Contact, bob).sms_opted_out


def test_opting_out_twice_changes_nothing_and_asks_for_no_second_confirmation(db, clock):
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    with db.write() as s:
        preferences.opt_out_by_hand(s, ann, actor="Jo", clock=clock, send_confirmation=True)
    clock.advance(minutes=1)
    with db.write() as s:
        again = preferences.opt_out_by_hand(s, ann, actor="Jo", clock=clock, send_confirmation=True)
    assert again is False
    assert len(_confirmations(db)) == 1


def test_a_contact_deleted_meanwhile_is_a_clear_error(db, clock):
    with pytest.raises(NotFoundError), db.write() as s:
        preferences.opt_out_by_hand(s, 999, actor="Jo", clock=clock)


def test_declined_purposes_must_be_the_business_s_and_an_unknown_one_changes_nothing(db, clock):
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    with db.write() as s:
        assert preferences.set_declined_by_hand(s, ann, ["Marketing"], actor="Jo", clock=clock)
    with pytest.raises(UserInputError), db.write() as s:
        preferences.set_declined_by_hand(s, ann, ["Lottery"], actor="Jo", clock=clock)
    with db.read() as s:
        assert s.get_one(Contact, ann).declined_purposes == "Marketing"
