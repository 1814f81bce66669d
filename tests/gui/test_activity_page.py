"""The activity log page: paging model, filters, live entries, details, verify, export."""

import csv

import pytest
from PySide6.QtCore import Qt

from tests.support.contacts import add_contact
from tests.support.desktop import app_services
from tests.support.records import (
    TAMPERING,
    opt_out,
    seed_for_tampering,
    seed_log,
    tamper,
)
from trustpager_desktop.core import activity
from trustpager_desktop.core.activity_query import LogFilter
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.ui.activity_page import ActivityLogModel, ActivityPage
from trustpager_desktop.usecases.activity import ActivityService


@pytest.fixture
def page(qtbot, services):
    widget = ActivityPage(ActivityService(services), poll_interval_ms=50)
    qtbot.addWidget(widget)
    _wait_loaded(qtbot, widget)
    yield widget
    widget.shutdown()


def _wait_loaded(qtbot, page: ActivityPage) -> None:
    """Reads run in the background: wait until the asked-for filter is on screen."""
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)


def _apply(qtbot, page: ActivityPage) -> None:
    page.apply_filters()
    _wait_loaded(qtbot, page)


def _fetch_all(qtbot, model: ActivityLogModel) -> None:
    """Scroll to the end: one page at a time, each appended when it arrives."""
    while model.canFetchMore() or model.is_fetching:
        if model.is_fetching:  # asked for by someone else (the model tester)
            qtbot.waitUntil(lambda: not model.is_fetching, timeout=5_000)
            continue
        with qtbot.waitSignal(model.rows_fetched, timeout=5_000):
            model.fetchMore()
            assert not model.canFetchMore()  # one page fetch at a time


def test_model_pages_and_passes_the_model_tester(qtbot, qtmodeltester, sqlite_db, clock):
    seed_log(sqlite_db, clock, 450)
    model = ActivityLogModel(ActivityService(app_services(sqlite_db, clock)))
    with qtbot.waitSignal(model.filter_loaded, timeout=5_000):
        model.set_filter(LogFilter())
    assert model.rowCount() == 200 and model.canFetchMore()
    qtmodeltester.check(model)
    _fetch_all(qtbot, model)
    ids = [model.entry(r).id for r in range(model.rowCount())]
    assert ids == list(range(450, 0, -1))


def test_the_latest_filter_wins_and_rows_stay_until_it_arrives(qtbot, page, sqlite_db, clock):
    seed_log(sqlite_db, clock, 12, kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND))
    _apply(qtbot, page)
    shown: list[int] = []
    page.model.modelReset.connect(lambda: shown.append(page.model.rowCount()))
    assert page.model.rowCount() == 12
    # not a state: the Kind filter's key (core.activity_query.KIND_CHOICES)
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("opt_out"))
    assert page.model.rowCount() == 12 and page.status_label.text() == "Loading…"
    page.text_search.setText("entry 10")
    page.apply_filters()  # asked for while the kind filter's read is on its way
    with qtbot.waitSignal(page.model.filter_loaded, timeout=5_000):
        pass
    _wait_loaded(qtbot, page)
    assert [page.model.entry(r).summary for r in range(page.model.rowCount())] == ["entry 10"]
    assert shown == [1]  # the kind-only answer, overtaken, was never shown
    assert page.status_label.text() == "1 entries shown"


def test_filters_are_applied_in_the_database(qtbot, page, sqlite_db, clock):
    seed_log(
        sqlite_db,
        clock,
        12,
        kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND),
        contact_ids=(1, 2, 3),
    )
    _apply(qtbot, page)
    assert page.model.rowCount() == 12
    # not a state: the Kind filter's key (core.activity_query.KIND_CHOICES)
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("opt_out"))
    _wait_loaded(qtbot, page)
    assert page.model.rowCount() == 6
    page.automation_combo.addItem("Reminders", 7)
    page.automation_combo.setCurrentIndex(page.automation_combo.count() - 1)
    _wait_loaded(qtbot, page)
    assert [page.model.entry(r).summary for r in range(page.model.rowCount())] == [
        "entry 10",
        "entry 0",
    ]
    page.clear_filters()
    page.text_search.setText("ENTRY 11")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1)
    assert page.model.entry(0).summary == "entry 11"
    page.clear_filters()
    _wait_loaded(qtbot, page)
    assert page.model.rowCount() == 12


def test_the_automation_filter_lists_automations_read_in_the_background(qtbot, services):
    from trustpager_desktop.core import automations
    from trustpager_desktop.core.automations import AutomationInput, StepInput

    with services.db.write() as s:
        for name in ("Reminders", "Follow-up"):
            automations.create_automation(
                s, AutomationInput(name, [StepInput("send_sms", template="Hi")]),
                clock=services.clock,
            )  # fmt: skip
    page = ActivityPage(ActivityService(services), poll_interval_ms=60_000)
    qtbot.addWidget(page)
    _wait_loaded(qtbot, page)
    combo = page.automation_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "All automations",
        "Follow-up",
        "Reminders",
    ]
    page.shutdown()


def test_contact_search_filters_to_that_contact(qtbot, page, sqlite_db, clock):
    ann = add_contact(sqlite_db, clock, "Ann", "Lee", phone="+14155550101")
    add_contact(sqlite_db, clock, "Bob", phone="+14155550102")
    _apply(qtbot, page)
    page.contact_search.setText("lee")
    qtbot.waitUntil(lambda: page.contact_combo.currentData() == ann)
    _wait_loaded(qtbot, page)
    assert page.model.rowCount() == 1
    assert page.model.entry(0).contact_name == "Ann Lee"


def test_new_entries_appear_on_top_while_the_view_is_open(qtbot, page, sqlite_db, clock):
    seed_log(sqlite_db, clock, 3)
    _apply(qtbot, page)
    page.show()
    qtbot.waitExposed(page)
    with sqlite_db.write() as s:
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.STOP_REPLY, summary="STOP from +1415", actor="Inbox"
            ),
            clock=clock,
        )
    qtbot.waitUntil(lambda: page.model.rowCount() == 4)
    assert page.model.entry(0).summary == "STOP from +1415"


def test_a_hidden_view_does_not_poll_and_catches_up_when_shown(qtbot, page, sqlite_db, clock):
    """The poll runs on the GUI thread; on a distant database each look is a round trip."""
    from trustpager_desktop.store.round_trips import RoundTripCounter

    seed_log(sqlite_db, clock, 3)
    _apply(qtbot, page)
    with sqlite_db.write() as s:
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.STOP_REPLY, summary="STOP from +1415", actor="Inbox"
            ),
            clock=clock,
        )
    with RoundTripCounter(sqlite_db.engine) as counter:
        for _ in range(3):
            page.poll_timer.timeout.emit()  # the timer fires while another page shows
    assert counter.total == 0 and page.model.rowCount() == 3
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 4)
    assert page.model.entry(0).summary == "STOP from +1415"


def test_details_show_the_record_literally_and_open_contact_emits(qtbot, page, sqlite_db, clock):
    with sqlite_db.write() as s:
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.INBOUND_MESSAGE,
                summary="Reply <b>bold</b>",
                actor="Inbox",
                contact_id=9,
                contact_name="<i>Ann</i>",
                details={"body": "<script>alert(1)</script> STOP", "message_sid": "SM123"},
            ),
            clock=clock,
        )
    _apply(qtbot, page)
    page.table.selectRow(0)
    text = page.details_text()
    assert "Message: <script>alert(1)</script> STOP" in text
    assert "Twilio message SID: SM123" in text and "Contact: <i>Ann</i> (id 9)" in text
    shown = [page.details_form.itemAt(i).widget() for i in range(page.details_form.count())]
    labels = [w for w in shown if w is not None and w.text() == "<script>alert(1)</script> STOP"]
    assert labels and labels[0].textFormat() == Qt.TextFormat.PlainText  # shown, never run
    assert page.model.data(page.model.index(0, 3)) == "Reply <b>bold</b>"
    with qtbot.waitSignal(page.open_contact_requested) as blocker:
        page.open_contact_button.click()
    assert blocker.args == [9]


def test_verify_reports_a_tampered_entry(qtbot, page, sqlite_db, clock):
    seed_log(sqlite_db, clock, 6)
    with qtbot.waitSignal(page.verify_finished, timeout=5000) as blocker:
        page.verify_button.click()
    assert blocker.args[1] is True and "6 entries verified" in page.verify_label.text()
    tamper(sqlite_db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 4")
    with qtbot.waitSignal(page.verify_finished, timeout=5000) as blocker:
        page.verify_button.click()
    assert blocker.args[1] is False
    assert "altered at entry 4" in page.verify_label.text()


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_verify_log_in_the_window_names_each_tampering(qtbot, db, clock, case):
    services = app_services(db, clock)
    page = ActivityPage(ActivityService(services), poll_interval_ms=60_000)
    qtbot.addWidget(page)
    seed_for_tampering(db, clock)
    with qtbot.waitSignal(page.verify_finished, timeout=10_000) as blocker:
        page.verify_button.click()
    assert blocker.args[1] is True, blocker.args[0]
    attack, named = TAMPERING[case]
    attack(db)
    with qtbot.waitSignal(page.verify_finished, timeout=10_000) as blocker:
        page.verify_button.click()
    assert blocker.args[1] is False
    assert named in page.verify_label.toolTip()
    assert named in page.verify_label.text()  # the first lines are shown, problems first
    assert page.verify_label.textFormat() == Qt.TextFormat.PlainText
    page.shutdown()


def test_the_full_check_is_offered_next_to_the_quick_one(qtbot, page, sqlite_db, clock):
    seed_log(sqlite_db, clock, 3)
    with qtbot.waitSignal(page.verify_finished, timeout=5000):
        page.full_verify_action.trigger()
    assert "3 entries verified" in page.verify_label.text()


def test_export_writes_the_current_filter(qtbot, page, sqlite_db, clock, tmp_path):
    seed_log(sqlite_db, clock, 8, kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND))
    # not a state: the Kind filter's key (core.activity_query.KIND_CHOICES)
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("manual_send"))
    path = tmp_path / "log.csv"  # exported at once: the filter asked for, not yet shown
    with qtbot.waitSignal(page.export_finished, timeout=5000) as blocker:
        page.export_to(str(path))
    assert blocker.args[0].startswith(f"Exported 4 entries to {path}. Log head: entry #8, hash ")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        assert {r["kind"] for r in csv.DictReader(handle)} == {ActivityKind.MANUAL_SEND}


def test_a_text_search_can_be_continued_into_older_entries(
    qtbot, page, sqlite_db, clock, monkeypatch
):
    from trustpager_desktop.core import activity_query

    seed_log(sqlite_db, clock, 40)
    monkeypatch.setattr(activity_query, "TEXT_SCAN_LIMIT", 10)
    monkeypatch.setattr("trustpager_desktop.usecases.activity.FETCH_TIME_BUDGET_S", 0)
    page.text_search.setText("entry 3")  # every word: entries 30..39, 23, 13 and 3
    qtbot.waitUntil(lambda: page.model.rowCount() == 10 and not page.is_loading)
    assert page.search_further_button.isVisibleTo(page)
    assert "older entries not searched yet" in page.status_label.text()
    while page.search_further_button.isVisibleTo(page):
        with qtbot.waitSignal(page.model.rows_fetched, timeout=5_000):
            page.search_further_button.click()
            assert not page.search_further_button.isEnabled()  # one slice at a time
    assert [page.model.entry(r).summary for r in range(page.model.rowCount())][-2:] == [
        "entry 13",
        "entry 3",
    ]
    assert page.status_label.text() == "13 entries shown"


def test_a_long_report_is_read_in_full_from_the_full_report_button(qtbot, page, sqlite_db, clock):
    for n in range(5):
        ann = add_contact(sqlite_db, clock, f"Person{n}", phone=f"415 555 01{n:02d}")
        opt_out(sqlite_db, clock, ann)
    tamper(sqlite_db, "UPDATE contacts SET sms_opted_out = 0")
    with qtbot.waitSignal(page.verify_finished, timeout=5000):
        page.verify_button.click()
    assert "disagrees with the consent events in 5 places" in page.verify_label.text()
    assert "more lines" in page.verify_label.text() and page.verify_report_button.isVisibleTo(page)
    page.verify_report_button.click()
    assert "Person4" in page._report_box.text()
    page._report_box.close()


def test_a_read_that_fails_says_so_and_keeps_the_rows_shown(qtbot, page, sqlite_db, clock):
    from trustpager_desktop.store.database import DatabaseError

    seed_log(sqlite_db, clock, 3)
    _apply(qtbot, page)

    def unreachable(_flt):
        raise DatabaseError("The database cannot be reached.")

    page._service.first_page = unreachable  # the shared database went away
    # not a state: the Kind filter's key (core.activity_query.KIND_CHOICES)
    page.kind_combo.setCurrentIndex(page.kind_combo.findData("opt_out"))
    _wait_loaded(qtbot, page)
    assert page.status_label.text() == (
        "The activity log could not be read: The database cannot be reached."
    )
    assert page.model.rowCount() == 3
