"""Which contacts have a number: the one query inbox, consent, delivery and the CLI share
(opt-out follows the number, DESIGN promise 6)."""

from __future__ import annotations

from tests.support.contacts import add_contact
from trustpager_desktop.core import number_contacts


def test_every_contact_with_a_number_is_found_whatever_format_it_was_typed_in(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    bob = add_contact(db, clock, "Bob", "Able", phone="+1 415 555 0101")
    add_contact(db, clock, "Cy", phone="(415) 555-0102")
    with db.read() as s:
        found = number_contacts.contacts_with_number(s, "+14155550101")
        assert [c.id for c in found] == [ann, bob]  # oldest first
        assert number_contacts.contacts_with_number(s, None) == []


def test_many_numbers_at_once_keep_unknown_numbers_as_empty(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    with db.read() as s:
        found = number_contacts.contacts_by_number(s, ["+14155550101", "+14155550199", None])
        assert {n: [c.id for c in people] for n, people in found.items()} == {
            "+14155550101": [ann],
            "+14155550199": [],
        }


def test_names_by_number_lists_every_contact_with_each_number(db, clock):
    add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    add_contact(db, clock, "Bob", "Able", phone="+1 415 555 0101")
    add_contact(db, clock, "Cy", phone="(415) 555-0102")
    with db.read() as s:
        names = number_contacts.names_by_number(s, ["+14155550101", "+14155550102", "+14155550199"])
    assert names == {"+14155550101": ("Bob Able", "Ann Lee"), "+14155550102": ("Cy",)}
