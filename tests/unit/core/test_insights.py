"""Insights arithmetic on a history made through the real send and inbox paths:
attribution of opt-outs and replies (48 hours, most recent text), per-step figures,
delivery and failure codes, weekly trends, consent coverage and review age."""

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.history import History
from trustpager_desktop.core import insights, opt_in
from trustpager_desktop.providers.base import FailureKind
from trustpager_desktop.store.models import Contact

NY = "America/New_York"
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York
SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
def history(db, clock) -> History:
    return History(db, clock)


def gather(db, since=SINCE, until=UNTIL):  # type: ignore[no-untyped-def]
    with db.read() as s:
        return insights.gather_insights(s, since=since, until=until, timezone_name=NY)


def step_of(result, name: str, position: int):  # type: ignore[no-untyped-def]
    automation = next(a for a in result.automations if a.name == name)
    return next(s for s in automation.steps if s.label.startswith(f"Step {position}:"))


# ---- on the database ------------------------------------------------------------------


def test_opt_out_at_exactly_48_hours_counts_for_the_step_and_one_later_does_not(history, db):
    reminder = history.automation("Reminder", "Hi, see you tomorrow")
    ann = history.at(T0).contact("Ann", "+14155550101")
    ben = history.contact("Ben", "+14155550102")
    history.text(reminder, 1, ann)
    history.text(reminder, 1, ben)
    history.at(T0 + timedelta(hours=48)).reply("+14155550101", "STOP")
    history.at(T0 + timedelta(hours=48, seconds=1)).reply("+14155550102", "STOP")
    # and a millisecond past the line is past it too
    carl = history.at(T0).contact("Carl", "+14155550103")
    history.text(reminder, 1, carl)
    history.at(T0 + timedelta(hours=48, milliseconds=1)).reply("+14155550103", "STOP")

    result = gather(db)
    step = step_of(result, "Reminder", 1)
    assert (step.sent, step.opt_outs, step.replies) == (3, 1, 1)
    assert step.opt_out_rate == 1 / 3
    assert result.opt_outs == 3 and result.opt_outs_unattributed == 2


def test_two_automations_texting_one_contact_the_most_recent_text_takes_the_opt_out(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    promo = history.automation("Promo", "Promo text", "Second promo")
    ann = history.at(T0).contact("Ann", "+14155550101")
    history.text(reminder, 1, ann)
    history.at(T0 + timedelta(hours=1)).text(promo, 2, ann)
    history.at(T0 + timedelta(hours=2)).reply("+14155550101", "STOP")

    result = gather(db)
    assert step_of(result, "Promo", 2).opt_outs == 1
    assert step_of(result, "Reminder", 1).opt_outs == 0
    promo_total = next(a for a in result.automations if a.name == "Promo").total
    assert promo_total.opt_outs == 1 and promo_total.sent == 1


def test_a_stop_to_a_number_two_contacts_share_is_one_opt_out(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    ann = history.at(T0).contact("Ann", "+14155550101")
    history.contact("Andy", "+14155550101")
    history.text(reminder, 1, ann)
    history.at(T0 + timedelta(hours=3)).reply("+14155550101", "STOP")
    result = gather(db)
    assert result.opt_outs == 1
    assert step_of(result, "Reminder", 1).opt_outs == 1


def test_manual_texts_have_their_own_row_and_staff_opt_outs_attribute_too(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    ann = history.at(T0).contact("Ann", "+14155550101")
    history.text(reminder, 1, ann)
    history.at(T0 + timedelta(hours=5)).manual_text(ann, "Your invoice is ready")
    history.at(T0 + timedelta(hours=6)).staff_opt_out(ann)
    result = gather(db)
    assert (result.manual.sent, result.manual.opt_outs) == (1, 1)
    assert step_of(result, "Reminder", 1).opt_outs == 0
    assert result.total.sent == 2


def test_delivery_failures_by_code_and_blocked_texts(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    ids = [history.at(T0).contact(n, f"+1415555020{i}") for i, n in enumerate("ABCDE")]
    delivered = history.text(reminder, 1, ids[0])
    undelivered = history.text(reminder, 1, ids[1])
    failed = history.text(reminder, 1, ids[2])
    history.failing("+14155550203", FailureKind.PERMANENT)
    history.text(reminder, 1, ids[3])  # refused when sent: no code
    history.staff_opt_out(ids[4])
    history.text(reminder, 1, ids[4])  # opted out: blocked, never sent
    history.delivery(delivered, "delivered")
    history.delivery(undelivered, "undelivered", 30003)
    history.delivery(failed, "failed", 30003)

    result = gather(db)
    step = step_of(result, "Reminder", 1)
    assert result.delivery_tracked
    assert (step.sent, step.delivered, step.blocked) == (3, 1, 1)
    assert step.failures == ((30003, 2), (None, 1))
    assert insights.failures_text(step.failures) == "30003 x2, no code x1"
    assert step.failed == 3


def test_a_twilio_21610_refusal_is_a_failure_with_its_code(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    ann = history.at(T0).contact("Ann", "+14155550101")
    history.failing("+14155550101", FailureKind.UNSUBSCRIBED)
    history.text(reminder, 1, ann)
    step = step_of(gather(db), "Reminder", 1)
    assert step.failures == ((21610, 1),) and step.sent == 0


def test_without_delivery_reports_delivered_is_not_tracked_rather_than_zero(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    history.text(reminder, 1, history.at(T0).contact("Ann", "+14155550101"))
    result = gather(db)
    assert not result.delivery_tracked
    cells = insights.table_rows(result)[0]
    assert cells[3] == "not tracked yet"
    assert "delivery not tracked yet" in insights.describe(result)


def test_replies_go_to_the_latest_text_within_48_hours(history, db):
    reminder = history.automation("Reminder", "Reminder text", "Second")
    ann = history.at(T0).contact("Ann", "+14155550101")
    history.text(reminder, 1, ann)
    history.at(T0 + timedelta(hours=1)).reply("+14155550101", "Thanks, see you")
    history.at(T0 + timedelta(days=1)).text(reminder, 2, ann)
    history.at(T0 + timedelta(days=1, hours=2)).reply("+14155550101", "Can we move it?")
    history.at(T0 + timedelta(days=5)).reply("+14155550101", "Hello?")  # long after: nobody's
    result = gather(db)
    assert step_of(result, "Reminder", 1).replies == 1
    assert step_of(result, "Reminder", 2).replies == 1
    assert result.replies == 3


def test_only_the_period_counts(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    ann = history.at(T0 - timedelta(days=60)).contact("Ann", "+14155550101")
    history.text(reminder, 1, ann)
    history.at(T0).text(reminder, 1, ann)
    result = gather(db, since=T0 - timedelta(days=1))
    assert step_of(result, "Reminder", 1).sent == 1
    with pytest.raises(ValueError):
        gather(db, since=UNTIL, until=SINCE)


def test_weekly_trend_uses_local_monday_weeks(history, db):
    reminder = history.automation("Reminder", "Reminder text")
    ann = history.at(T0).contact("Ann", "+14155550101")
    ben = history.contact("Ben", "+14155550102")
    history.text(reminder, 1, ann)  # Mon 2 Nov
    history.at(T0 + timedelta(days=7)).text(reminder, 1, ben)  # Mon 9 Nov
    history.at(T0 + timedelta(days=7, hours=1)).reply("+14155550102", "STOP")
    # Sunday 8 Nov 23:30 in New York is Monday in UTC, but belongs to the week of 2 Nov.
    sunday_night = datetime(2026, 11, 9, 4, 30, tzinfo=UTC)
    history.at(sunday_night).manual_text(ann)
    result = gather(db, since=T0 - timedelta(hours=1), until=T0 + timedelta(days=14))
    weeks = {w.start: (w.sent, w.opt_outs) for w in result.weeks}
    assert weeks == {
        date(2026, 11, 2): (2, 0),
        date(2026, 11, 9): (1, 1),
        date(2026, 11, 16): (0, 0),
    }


def test_consent_coverage_counts_contacts_with_an_opt_in_record(history, db, clock):
    ann = history.at(T0).contact("Ann", "+14155550101")
    history.contact("Ben", "+14155550102")
    result = gather(db)
    assert result.coverage.describe() == "Consent on record: 0 of 2 contacts (0.0 %)"
    with db.write() as s:
        record = opt_in.ConsentRecord(T0, "web form, spring promo", "written")
        opt_in.set_record(s, s.get(Contact, ann), record, actor="Jo", clock=clock)
    with db.read() as s:
        coverage = insights.consent_coverage(s)
    assert (coverage.contacts, coverage.with_consent, coverage.share) == (2, 1, 0.5)
    assert coverage.describe() == "Consent on record: 1 of 2 contacts (50 %)"


def test_review_queue_age_in_business_day_bands(history, db, clock):
    history.at(T0).contact("Ann", "+14155550101")
    history.at(datetime(2026, 11, 2, 15, tzinfo=UTC)).reply("+14155550101", "no more texts please")
    history.at(datetime(2026, 11, 24, 15, tzinfo=UTC)).reply("+14155550101", "leave me alone")
    history.at(datetime(2026, 11, 30, 15, tzinfo=UTC)).reply("+14155550101", "not interested")
    with db.read() as s:
        age = insights.review_age(s, datetime(2026, 11, 30, 20, tzinfo=UTC), NY)
    assert age.pending == 3
    assert age.oldest_received_at == datetime(2026, 11, 2, 15, tzinfo=UTC)
    # 2 Nov -> 30 Nov: 20 weekdays less Veterans Day and Thanksgiving = 18 business days
    assert age.oldest_business_days == 18
    assert dict(age.bands) == {
        "today": 1,
        "1-4 business days": 1,  # Tue 24 Nov -> Mon 30 Nov: 25, 27, 30 (Thanksgiving off)
        "5-9 business days": 0,
        "10+ business days": 1,
    }
    assert age.describe() == "Needs review: 3 replies waiting, the oldest for 18 business days"


def test_an_empty_database_gives_an_empty_report(db):
    result = gather(db)
    assert result.is_empty
    assert result.automations == () and result.total.sent == 0
    assert "Manual" in insights.describe(result)
