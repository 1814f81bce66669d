"""The write journal: one transaction's log entries and opt-outs, written in call order."""

import pytest
from sqlalchemy import select

from trustpager_desktop.core import activity, consent, contacts
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.journal import UnflushedJournalWarning, WriteJournal
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.models import ActivityEntry, Contact


def _entry(summary, contact_id=None):
    return activity.LogEntry(
        kind=ActivityKind.INBOUND_MESSAGE, summary=summary, actor="t", contact_id=contact_id
    )


def _summaries(db):
    with db.read() as s:
        return list(s.scalars(select(ActivityEntry.summary).order_by(ActivityEntry.id)))


def _chain_ok(db):
    with db.read() as s:
        return activity.verify_chain(s).ok


def test_entries_land_in_the_order_they_were_logged_around_immediate_ones(db, clock):
    """Journal entries, an immediate append and an opt-out's own entry, mixed in one
    transaction: the log holds them in call order and the chain verifies."""
    with db.write() as s:
        ann = contacts.create_contact(
            s, ContactInput(first_name="Ann", phone="(415) 555-0101"), actor="t", clock=clock
        )
    with db.write() as s:
        journal = WriteJournal(s, clock)
        journal.log(_entry("first"))
        activity.append(s, _entry("second, written at once"), clock=clock)
        journal.log(_entry("third"))
        item = consent.NumberOptOut("+14155550101", ConsentSource.STOP_REPLY, "Inbox",
                                    summary="fourth: the STOP")  # fmt: skip
        [result] = consent.opt_out_numbers(s, [item], clock=clock, journal=journal)
        assert result.contact_ids == [ann.id]  # answered at once, written at the flush
        journal.log(_entry("fifth"))
        journal.flush()
        assert s.get(Contact, ann.id).sms_opted_out
    assert _summaries(db)[-5:] == [
        "first",
        "second, written at once",
        "third",
        "fourth: the STOP",
        "fifth",
    ]
    assert _chain_ok(db)


def test_a_second_stop_in_the_same_journal_is_recorded_once(db, clock):
    with db.write() as s:
        contacts.create_contact(
            s, ContactInput(first_name="Ann", phone="(415) 555-0101"), actor="t", clock=clock
        )
    with db.write() as s:
        journal = WriteJournal(s, clock)
        item = consent.NumberOptOut("+14155550101", ConsentSource.STOP_REPLY, "Inbox")
        first = consent.opt_out_numbers(s, [item], clock=clock, journal=journal)[0]
        again = consent.opt_out_numbers(s, [item], clock=clock, journal=journal)[0]
        journal.flush()
    assert first.contact_ids and first.number_suppressed
    assert not again.contact_ids and not again.number_suppressed


def test_a_rolled_back_transaction_writes_nothing_of_its_journal(db, clock):
    with pytest.raises(RuntimeError, match="boom"), db.write() as s:
        journal = WriteJournal(s, clock)
        journal.log(_entry("never written"))
        raise RuntimeError("boom")
    with db.write() as s:
        assert WriteJournal.current(s) is None
        activity.append(s, _entry("after the rollback"), clock=clock)
    assert _summaries(db) == ["after the rollback"]
    assert _chain_ok(db)


def test_a_journal_nobody_flushed_is_written_at_commit_and_flagged(db, clock):
    """Entries are never lost, and the forgotten flush is loud (an error in the tests)."""
    with db.write() as s:
        WriteJournal(s, clock).log(_entry("forgotten"))
        with pytest.warns(UnflushedJournalWarning):
            s.commit()
    assert _summaries(db) == ["forgotten"]
    assert _chain_ok(db)


def test_two_journals_with_writes_cannot_share_a_transaction(db, clock):
    with db.write() as s:
        journal = WriteJournal(s, clock)
        journal.log(_entry("held"))
        with pytest.raises(RuntimeError, match="unwritten writes"):
            WriteJournal(s, clock)
        assert WriteJournal.open(s, clock) is journal
        journal.flush()
