"""The change marker (migration 0012): every writer bumps the topic it changed, in its own
transaction, on SQLite and PostgreSQL; a watcher publishes just those topics."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from tests.support.contacts import add_contact
from trustpager_desktop.core import automations, contacts
from trustpager_desktop.core.automation_pause import set_automations_paused
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.events import ChangeBus
from trustpager_desktop.core.states import QueueStatus
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.store.change_marker import changed_topics, read_versions
from trustpager_desktop.store.models import Meta, QueueItem
from trustpager_desktop.usecases.live import ChangeWatcher


def _versions(db) -> dict[str, int]:
    with db.read() as s:
        return read_versions(s)


def _contact(db, clock, phone="+14155550101") -> int:
    return add_contact(db, clock, "Ann", "Lee", phone=phone)


def test_each_write_bumps_only_its_topics(db, clock):
    before = _versions(db)
    ann = _contact(db, clock)
    after_contact = _versions(db)
    assert changed_topics(before, after_contact) == {topic.CONTACTS, topic.ACTIVITY}

    with db.write() as s:
        hello = automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]), clock=clock
        )
        automations.enroll(s, hello.id, Audience(contact_ids=(ann,)), actor="t", clock=clock)
    after_enrol = _versions(db)
    assert topic.AUTOMATIONS in changed_topics(after_contact, after_enrol)
    assert topic.CONTACTS not in changed_topics(after_contact, after_enrol)

    set_automations_paused(db, True, actor="t", clock=clock)
    assert topic.PAUSE in changed_topics(after_enrol, _versions(db))


def test_machinery_writes_are_not_news(db, clock):
    """A lease renewal or another app_meta key changes nothing a person sees."""
    ann = _contact(db, clock)
    with db.write() as s:
        hello = automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]), clock=clock
        )
        automations.enroll(s, hello.id, Audience(contact_ids=(ann,)), actor="t", clock=clock)
    before = _versions(db)
    with db.write() as s:
        s.execute(update(QueueItem).values(lease_until=clock.now() + timedelta(minutes=2)))
        s.merge(Meta(key="inbox_poller_lease", value="someone"))
    assert changed_topics(before, _versions(db)) == set()
    with db.write() as s:
        s.execute(update(QueueItem).values(status=QueueStatus.SKIPPED))
    assert changed_topics(before, _versions(db)) == {topic.AUTOMATIONS}


def test_a_rolled_back_write_is_no_change(db, clock):
    before = _versions(db)
    try:
        with db.write() as s:
            contacts.create_contact(s, ContactInput("Bo", phone="+14155550102"), actor="t")
            raise RuntimeError("changed my mind")
    except RuntimeError:
        pass
    assert changed_topics(before, _versions(db)) == set()


def test_the_watcher_publishes_what_another_writer_changed(db, clock):
    heard: list[frozenset[str]] = []
    bus = ChangeBus()
    bus.subscribe(heard.append)
    watcher = ChangeWatcher(db, bus)
    assert watcher.poll() == frozenset()  # the baseline
    _contact(db, clock)
    assert watcher.poll() == {topic.CONTACTS, topic.ACTIVITY}
    assert watcher.poll() == frozenset()  # nothing new: nothing published
    assert heard == [{topic.CONTACTS, topic.ACTIVITY}]


def test_a_broken_listener_does_not_silence_the_others():
    bus = ChangeBus()
    heard: list[frozenset[str]] = []

    def broken(_topics: frozenset[str]) -> None:
        raise ValueError("bug in one view")

    bus.subscribe(broken)
    unsubscribe = bus.subscribe(heard.append)
    bus.publish({topic.CONTACTS})
    unsubscribe()
    bus.publish({topic.MESSAGES})
    assert heard == [{topic.CONTACTS}]
