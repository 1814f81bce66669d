"""The Tasks card of the contact page: what is still to do comes first, soonest first."""

from __future__ import annotations

from datetime import timedelta

from tests.support.contacts import add_contact
from trustpager_desktop.core.contact_tasks import tasks_for_contact
from trustpager_desktop.store.models import Task


def _add_tasks(db, clock, contact_id: int, *tasks: dict) -> None:
    with db.write() as s:
        for task in tasks:
            s.add(Task(contact_id=contact_id, created_at=clock.now(), **task))
            s.flush()  # ids in the order given: the tie-break is "oldest first"


def test_undated_open_tasks_come_after_dated_ones_and_ties_keep_the_order_they_were_made(db, clock):
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    tomorrow = clock.now() + timedelta(days=1)
    _add_tasks(
        db, clock, ann,
        {"title": "Someday"},
        {"title": "Call back", "due_at": tomorrow},
        {"title": "Whenever"},
        {"title": "Send quote", "due_at": tomorrow},
        {"title": "Overdue", "due_at": clock.now() - timedelta(days=3)},
    )  # fmt: skip
    with db.read() as s:
        titles = [t.title for t in tasks_for_contact(s, ann)]
    assert titles == ["Overdue", "Call back", "Send quote", "Someday", "Whenever"]


def test_done_tasks_sink_below_open_ones_and_automation_tasks_say_where_they_came_from(db, clock):
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    soon = clock.now() + timedelta(hours=1)
    _add_tasks(
        db, clock, ann,
        {"title": "Done early", "due_at": soon, "done": True},
        {"title": "Follow up", "automation_id": 7},
    )  # fmt: skip
    with db.read() as s:
        views = tasks_for_contact(s, ann)
    assert [(v.title, v.done, v.from_automation) for v in views] == [
        ("Follow up", False, True),
        ("Done early", True, False),
    ]
    assert views[1].due_at == soon


def test_a_contact_without_tasks_has_an_empty_card(db, clock):
    ann = add_contact(db, clock, "Ann", phone="(415) 555-0101")
    bob = add_contact(db, clock, "Bob", phone="(415) 555-0102")
    _add_tasks(db, clock, bob, {"title": "Bob's"})
    with db.read() as s:
        assert tasks_for_contact(s, ann) == []
