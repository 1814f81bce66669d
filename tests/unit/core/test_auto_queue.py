"""core.auto_queue on its own: quiet hours in the recipient's time zone, back-off, claiming
due items once with the time rules, the queue as listed, and the dispatch report."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.core import auto_queue, automations, consent
from trustpager_desktop.core.auto_queue import (
    next_allowed_send_time,
    recipient_timezone,
    retry_delay,
    send_time,
)
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.settings import AppSettings
from trustpager_desktop.core.states import ConsentSource, QueueStatus
from trustpager_desktop.store.models import Contact, QueueItem

NY, LA = "America/New_York", "America/Los_Angeles"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (utc(2026, 11, 26, 15, 0), NY, utc(2026, 11, 26, 15, 0)),  # 10:00 local: now
        (utc(2026, 11, 26, 8, 0), NY, utc(2026, 11, 26, 13, 0)),  # 03:00 -> 08:00 same day
        (utc(2026, 11, 27, 2, 30), NY, utc(2026, 11, 27, 13, 0)),  # 21:30 -> 08:00 next day
        (utc(2026, 11, 27, 2, 0), NY, utc(2026, 11, 27, 13, 0)),  # 21:00 sharp is closed
        (utc(2026, 11, 27, 1, 59), NY, utc(2026, 11, 27, 1, 59)),  # 20:59 still open
        (utc(2026, 11, 26, 11, 0), LA, utc(2026, 11, 26, 16, 0)),  # 03:00 PST -> 08:00 PST
        # DST starts 2026-03-08: 08:00 EDT is 12:00 UTC, not 13:00.
        (utc(2026, 3, 8, 6, 0), NY, utc(2026, 3, 8, 12, 0)),
        # DST ends 2026-11-01: 08:00 EST is 13:00 UTC.
        (utc(2026, 11, 1, 5, 30), NY, utc(2026, 11, 1, 13, 0)),
        # Evening before the change: the next window opens after the clocks go back.
        (utc(2026, 11, 1, 3, 0), NY, utc(2026, 11, 1, 13, 0)),
    ],
)
def test_next_allowed_send_time(now, tz, expected):
    assert next_allowed_send_time(now, tz, 8, 21) == expected


def test_window_opening_in_a_spring_forward_gap_opens_at_the_first_real_instant():
    # 02:00 does not exist on 2026-03-08 in New York; 03:00 EDT (07:00 UTC) is the first.
    assert next_allowed_send_time(utc(2026, 3, 8, 5, 0), NY, 2, 21) == utc(2026, 3, 8, 7, 0)


def test_recipient_time_zone_from_the_number_with_fallback():
    assert recipient_timezone("+14155550101", NY) == LA
    assert recipient_timezone("+12125550199", LA) == NY
    assert recipient_timezone("+442079460000", NY) == "Europe/London"
    assert recipient_timezone("+447700900123", NY) == NY  # UK mobile: several zones
    assert recipient_timezone(None, "Europe/Paris") == "Europe/Paris"
    assert recipient_timezone("+18005550100", "Europe/Paris") == "Europe/Paris"  # toll-free: many


# Valid and invalid numbers, one-zone and many-zone prefixes, Guam (+1 671) far from the US.
NUMBERS = [
    "+14155550101", "+14150000001", "+12125550199", "+16715550123", "+18085550123",
    "+19075550123", "+18005550100", "+442079460000", "+447700900123", "+61212345678",
    "+81312345678", "+33142685300", "+5511912345678", "+999123", None, "",
]  # fmt: skip


@pytest.mark.parametrize("business_zone", [NY, "Pacific/Auckland"])
def test_send_time_matches_the_exact_time_zone_lookup(business_zone):
    """The shortcut that skips the costly lookup when it cannot matter gives the same
    answer as the lookup itself, at every hour of a day, for every kind of number."""
    settings = AppSettings(business_timezone=business_zone)
    for hour in range(24):
        now = utc(2026, 11, 26, hour, 30)
        for number in NUMBERS:
            zone = recipient_timezone(number, business_zone)
            assert send_time(now, number, settings) == next_allowed_send_time(now, zone, 8, 21), (
                hour,
                number,
            )


def test_retry_delay_grows_and_is_capped():
    delays = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert 24 <= delays[0] <= 36 and delays[-1] <= 1800
    assert delays[3] > delays[0]


# -- claiming: due items once, with the time rules applied in the same transaction ---------------

MORNING_NY = utc(2026, 11, 26, 15, 0)  # 10:00 in New York, 07:00 in Los Angeles


def _enrolled(db, clock, phone: str, *, due_at=None) -> int:
    """One contact enrolled in a one-text automation; the text's queue item id."""
    contact_id = add_contact(db, clock, "Ann", "Lee", phone=phone)
    with db.write() as s:
        view = automations.create_automation(
            s, AutomationInput("Reminder", [StepInput("send_sms", "Hi {first_name}")]), clock=clock
        )
        automations.enroll(s, view.id, Audience(contact_ids=(contact_id,)), actor="t", clock=clock)
        item = s.scalars(select(QueueItem).where(QueueItem.contact_id == contact_id)).one()
        if due_at is not None:
            item.due_at = due_at
        return item.id


def _item(db, item_id: int) -> QueueItem:
    with db.read() as s:
        return s.get(QueueItem, item_id)


def test_a_due_text_is_claimed_by_one_worker_with_a_lease(db, clock):
    clock.set(MORNING_NY)
    item_id = _enrolled(db, clock, "(212) 555-0101")
    (claimed,) = auto_queue.claim_due(db, "w1", clock.now(), clock=clock)
    assert claimed.id == item_id and claimed.render("Hi {first_name}") == "Hi Ann"
    assert auto_queue.claim_due(db, "w2", clock.now(), clock=clock) == []  # taken already
    item = _item(db, item_id)
    assert (item.status, item.claimed_by) == (QueueStatus.IN_FLIGHT, "w1")
    assert item.lease_until.replace(tzinfo=UTC) == clock.now() + auto_queue.LEASE


def test_a_text_due_in_the_recipient_s_night_waits_for_their_morning(db, clock):
    clock.set(MORNING_NY)  # 07:00 in Los Angeles: before sending hours
    item_id = _enrolled(db, clock, "(415) 555-0101")
    report = auto_queue.DispatchReport()
    assert auto_queue.claim_due(db, "w1", clock.now(), clock=clock, report=report) == []
    item = _item(db, item_id)
    assert (item.status, item.reason) == (QueueStatus.PENDING, auto_queue.REASON_QUIET_HOURS)
    assert item.due_at.replace(tzinfo=UTC) == utc(2026, 11, 26, 16, 0)  # 08:00 PST
    assert (report.claimed, report.deferred) == (1, 1)


def test_a_text_past_its_send_window_is_skipped_with_the_reason(db, clock):
    clock.set(MORNING_NY)
    settings = AppSettings()
    item_id = _enrolled(
        db, clock, "(212) 555-0101",
        due_at=clock.now() - timedelta(hours=settings.stale_limit_hours + 1),
    )  # fmt: skip
    report = auto_queue.DispatchReport()
    assert auto_queue.claim_due(db, "w1", clock.now(), clock=clock, report=report) == []
    item = _item(db, item_id)
    assert (item.status, item.reason) == (
        QueueStatus.SKIPPED,
        f"skipped: {auto_queue.REASON_STALE}",
    )
    assert report.skipped == 1


def test_the_queue_lists_what_will_happen_to_a_text_still_to_run(db, clock):
    clock.set(MORNING_NY)
    item_id = _enrolled(db, clock, "(212) 555-0101")
    with db.write() as s:
        contact = s.get(Contact, s.get(QueueItem, item_id).contact_id)
        consent.opt_out_contact(
            s, contact, source=ConsentSource.MANUAL_TOGGLE, actor="t", clock=clock
        )
    with db.read() as s:
        (row,) = auto_queue.list_queue(s, statuses=[QueueStatus.PENDING])
        counts = auto_queue.count_by_status(s)
    assert (row.contact_name, row.status_label, row.action_label) == (
        "Ann Lee",
        auto_queue.STATUS_LABELS[QueueStatus.PENDING],
        "Send SMS",
    )
    assert row.reason.startswith("will be skipped:")
    assert counts == {QueueStatus.PENDING: 1}


def test_a_dispatch_report_adds_up_and_reads_as_a_sentence():
    total = auto_queue.DispatchReport(claimed=2, sent=1, skipped=1)
    total.add(auto_queue.DispatchReport(claimed=1, held=1, checking=1))
    assert total.describe() == (
        "3 due item(s): 1 sent, 1 skipped, 0 failed, 0 done, 0 to retry, "
        "0 waiting for quiet hours, 1 held (reply waiting for review), "
        "1 being checked with Twilio (may have been sent)"
    )
    assert auto_queue.DispatchReport(paused=True).describe() == (
        "Automations are paused; nothing was run."
    )
