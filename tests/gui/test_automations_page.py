"""The Automations page: editor, list, Auto Queue view, Run due items now, EnrollDialog."""

import threading
from datetime import UTC, datetime

import pytest
import shiboken6
from PySide6.QtCore import Qt, QTime
from PySide6.QtWidgets import QLabel

from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop.core import auto_queue, automations
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.states import QueueStatus
from trustpager_desktop.runtime.automation_runner import AutomationRunner
from trustpager_desktop.ui.automations_page import AutomationsPage, EnrollDialog
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.result import Outcome

AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _afternoon(clock):
    """18:00 UTC: inside sending hours on both coasts."""
    clock.set(AFTERNOON)


@pytest.fixture
def page(qtbot, services):
    widget = automations_page(services)
    qtbot.addWidget(widget)
    widget.resize(1100, 650)
    settled(qtbot, widget)
    return widget


def automations_page(services) -> AutomationsPage:
    """The page as the window builds it: its service and the runtime's dispatcher."""
    return AutomationsPage(
        AutomationsService(services), lambda: AutomationRunner(services).dispatch().describe()
    )


def settled(qtbot, page):
    """Wait until the page's background writes are stored and its reads are on screen."""
    qtbot.waitUntil(lambda: not page.is_writing and not page.is_loading, timeout=5_000)


def reload(qtbot, page):
    page.refresh()
    settled(qtbot, page)


def test_editor_adds_removes_and_reorders_steps_and_saves(page, services, qtbot):
    editor = page.editor
    editor.name.setText("Follow-up")
    editor.step_editor.template.setPlainText("Hi {first_name}")
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)  # a 1-day wait
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    editor.step_editor.action.setCurrentIndex(2)  # create task
    editor.step_editor.task_title.setText("Call {first_name}")
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(editor.remove_button, Qt.MouseButton.LeftButton)  # drop the last wait
    editor.steps.setCurrentRow(2)
    qtbot.mouseClick(editor.up_button, Qt.MouseButton.LeftButton)  # task before the wait
    with qtbot.waitSignal(editor.saved):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    settled(qtbot, page)
    with services.db.read() as s:
        (view,) = automations.list_automations(s)
    assert [st.summary for st in view.steps] == [
        "Send SMS: Hi {first_name}",
        "Create task: Call {first_name}",
        "Wait 1 day",
    ]
    assert page.list_model.rowCount() == 1
    assert page.list_model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) == "Follow-up: 3 step(s)"


def test_editor_shows_validation_message_and_saves_nothing(page, services, qtbot):
    page.editor.name.setText("Bad")
    page.editor.step_editor.template.setPlainText("Hi {nickname}")
    with qtbot.waitSignal(page.editor.save_failed, timeout=5_000):
        qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
    assert "unknown field {nickname}" in page.editor.message.text()
    assert page.editor.message.textFormat() == Qt.TextFormat.PlainText
    # Refused in core, off the GUI thread: what was typed stays, ready for a fix.
    assert page.editor.name.text() == "Bad"
    assert page.editor.step_editor.template.toPlainText() == "Hi {nickname}"
    assert page.editor.save_button.isEnabled() and page.editor.name.isEnabled()
    assert page.editor.save_button.text() == "Save automation"
    assert page.list_view.isEnabled() and page.new_button.isEnabled()
    with services.db.read() as s:
        assert automations.list_automations(s) == []


def test_queue_shows_skipped_reason_after_run_due_now(
    page, services, qtbot, qtmodeltester, add_contact
):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    bob = add_contact("Bob", "Lee", phone="(212) 555-0102")
    with services.db.write() as s:
        view = automations.create_automation(
            s,
            AutomationInput("Hello", [StepInput("send_sms", template="Hi {first_name}")]),
            clock=services.clock,
        )
        automations.enroll(
            s, view.id, Audience(contact_ids=(ann, bob)), actor="t", clock=services.clock
        )
    reload(qtbot, page)
    page.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(page.dispatch_finished, timeout=10_000) as blocker:
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    settled(qtbot, page)
    assert "1 sent, 1 skipped" in blocker.args[0]
    page.status_filter.setCurrentIndex(page.status_filter.findText("Skipped"))
    settled(qtbot, page)
    model = page.queue_model
    assert model.rowCount() == 1
    assert model.index(0, 4).data() == "Ann Lee"
    assert model.index(0, 5).data() == "skipped: contact opted out of SMS"
    qtmodeltester.check(model)
    qtmodeltester.check(page.list_model)
    assert page.list_model.index(0, 3).data() == "1" and page.list_model.index(0, 4).data() == "1"


def test_enroll_dialog_enrols_and_notes_opted_out_contacts(qtbot, services, add_contact):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    with services.db.write() as s:
        automations.create_automation(
            s,
            AutomationInput("Hello", [StepInput("send_sms", template="Hi")]),
            clock=services.clock,
        )
    dialog = EnrollDialog(AutomationsService(services), [ann])
    qtbot.addWidget(dialog)
    assert not dialog.enrol_button.isEnabled()  # until the automations are read
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)
    assert dialog.enrol_button.isEnabled()
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        dialog.enroll()
    assert dialog.result_value.enrolled == [ann]
    assert "opted out of SMS" in dialog.message.text()
    with services.db.read() as s:
        (row,) = auto_queue.list_queue(s)
    assert (row.contact_id, row.status) == (ann, QueueStatus.PENDING)


# -- issue 16: schedules, empty states, the footer, a delete made elsewhere ---------------------


def _automation(services, name="Hello", schedule=None):
    with services.db.write() as s:
        return automations.create_automation(
            s,
            AutomationInput(name, [StepInput("send_sms", template="Hi")], True, schedule),
            clock=services.clock,
        ).id


def test_a_schedule_is_shown_in_words_and_edited_with_days_and_a_time(qtbot, page, services):
    schedule = {"trigger": "cron", "day_of_week": "mon-fri", "hour": 9, "minute": 0,
                "audience": {"stage": "Quote sent"}}  # fmt: skip
    _automation(services, "Quote follow-up", schedule)
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)  # the editor reads the automation off the GUI thread
    editor = page.editor.schedule
    assert editor.mode.currentData() == "cron"
    assert [box.isChecked() for box in editor.days] == [True] * 5 + [False] * 2
    # Thursday 18:00 UTC is 13:00 in New York: the next run is Friday 09:00 there.
    assert editor.summary.text() == (
        "Every weekday (Monday to Friday) at 09:00 (America/New_York), enrols contacts with "
        "an opportunity at stage 'Quote sent'. Next run: 27 Nov 2026, 09:00 EST."
    )
    editor.days[5].setChecked(True)  # Saturdays too, at 10:30, for tagged contacts
    editor.time.setTime(QTime(10, 30))
    editor.audience.setCurrentIndex(editor.audience.findData("tag"))
    editor.tag.setText("VIP")
    with qtbot.waitSignal(page.editor.saved, timeout=5_000):
        assert page.editor.save()
    with services.db.read() as s:
        (view,) = automations.list_automations(s)
    assert view.schedule == {"trigger": "cron", "day_of_week": "mon-sat", "hour": 10,
                             "minute": 30, "audience": {"tag": "vip"}}  # fmt: skip


def test_an_unusable_schedule_is_explained_and_nothing_is_saved(qtbot, page, services):
    automation_id = _automation(services)
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)  # the editor reads the automation off the GUI thread
    editor = page.editor.schedule
    editor.mode.setCurrentIndex(editor.mode.findData("cron"))
    for box in editor.days:
        box.setChecked(False)
    assert not page.editor.save()
    assert editor.error.isVisibleTo(page) and "Tick at least one day" in editor.error.text()
    editor.mode.setCurrentIndex(editor.mode.findData("custom"))
    editor.json.setPlainText('{"trigger": "cron", "hour": 99, "audience": {"all": true}}')
    assert not page.editor.save()
    assert "not valid" in editor.error.text()
    with services.db.read() as s:
        assert automations.get_automation(s, automation_id).schedule is None


def test_a_schedule_the_simple_controls_cannot_show_is_kept_as_json(qtbot, page, services):
    schedule = {"trigger": "cron", "day": "1", "hour": 8, "audience": {"all": True}}
    automation_id = _automation(services, "Monthly", schedule)
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)  # the editor reads the automation off the GUI thread
    assert page.editor.schedule.mode.currentData() == "custom"
    page.editor.name.setText("Monthly check-in")
    with qtbot.waitSignal(page.editor.saved, timeout=5_000):
        assert page.editor.save()
    with services.db.read() as s:
        assert automations.get_automation(s, automation_id).schedule == schedule


def test_empty_lists_say_what_to_do_and_the_page_has_a_title(page):
    page.show()
    assert page.list_empty.is_showing() and "New automation" in page.list_empty.text()
    assert page.queue_empty.is_showing() and "Auto Queue is empty" in page.queue_empty.text()
    assert not page.delete_button.isEnabled()
    titles = [w.text() for w in page.findChildren(QLabel) if w.text() == "Automations"]
    assert titles


def test_the_footer_counts_the_whole_queue_not_one_run(page, services, qtbot, add_contact):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    automation_id = _automation(services)
    with services.db.write() as s:
        automations.enroll(s, automation_id, Audience(contact_ids=(ann,)), actor="t",
                           clock=services.clock)  # fmt: skip
    reload(qtbot, page)
    with qtbot.waitSignal(page.dispatch_finished, timeout=10_000):
        page.run_button.click()
    settled(qtbot, page)
    with qtbot.waitSignal(page.dispatch_finished, timeout=10_000) as second:
        page.run_button.click()  # nothing due now: this run skips nothing
    settled(qtbot, page)
    assert "0 skipped" in second.args[0]
    assert page.queue_counts.text() == (
        "In the queue: 0 upcoming, 0 sent, 1 skipped, 0 failed, 0 need review, 0 done."
    )
    assert page.run_status.text().startswith("Last run (26 Nov 2026, 13:00 EST): ")


def test_deleting_an_automation_another_desktop_deleted_explains_and_removes_it(
    qtbot, page, services
):
    automation_id = _automation(services, "Gone soon")
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)  # the editor reads the automation off the GUI thread
    with services.db.write() as s:  # the other desktop
        automations.delete_automation(s, automation_id)
    told = []
    page.confirm_delete = lambda _name: True
    page.show_message = told.append

    page.delete_button.click()
    settled(qtbot, page)

    assert told and "'Gone soon' no longer exists" in told[0]
    assert page.list_model.rowCount() == 0  # the stale row is gone
    assert page.editor.name.text() == ""


def test_saving_an_automation_another_desktop_deleted_explains_and_refreshes(qtbot, page, services):
    automation_id = _automation(services, "Gone soon")
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)  # the editor reads the automation off the GUI thread
    with services.db.write() as s:
        automations.delete_automation(s, automation_id)
    told = []
    page.show_message = told.append
    page.editor.name.setText("Gone soon, renamed")

    with qtbot.waitSignal(page.editor.gone, timeout=5_000):
        page.editor.save()
    settled(qtbot, page)

    assert told and "no longer exists" in told[0]
    assert page.list_model.rowCount() == 0
    with services.db.read() as s:
        assert automations.list_automations(s) == []  # nothing was re-created


# -- issue 16 item 2: the editor reads an automation off the GUI thread ------------------------


def test_opening_an_automation_shows_loading_and_a_later_click_wins(qtbot, page, services):
    first = _automation(services, "Alpha")
    _automation(services, "Beta")
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)
    page.new_automation()  # start from the empty draft, nothing selected
    slow = threading.Event()
    read = page.service.automation

    def slow_for_alpha(automation_id: int):
        if automation_id == first:
            assert slow.wait(10)
        return read(automation_id)

    page.service.automation = slow_for_alpha
    names_shown: list[str] = []
    page.editor.name.textChanged.connect(names_shown.append)

    page.list_view.selectRow(0)  # Alpha: held on the worker thread
    editor = page.editor
    assert editor.is_loading and editor.loading_label.isVisibleTo(page)
    assert editor.loading_label.text() == "Loading…"
    assert not editor.save_button.isEnabled() and not editor.name.isEnabled()
    assert editor.name.text() == ""  # no other automation's name under this selection
    page.list_view.selectRow(1)  # Beta, clicked while Alpha is still being read
    slow.set()
    settled(qtbot, page)

    assert editor.name.text() == "Beta" and "Alpha" not in names_shown
    assert editor.save_button.isEnabled() and not editor.loading_label.isVisibleTo(page)


def test_opening_an_automation_another_desktop_deleted_says_so(qtbot, page, services):
    _automation(services, "Alpha")
    gone = _automation(services, "Gone soon")
    reload(qtbot, page)
    with services.db.write() as s:  # the other desktop
        automations.delete_automation(s, gone)
    told = []
    page.show_message = told.append

    page.list_view.selectRow(1)
    settled(qtbot, page)

    assert told and "'Gone soon' no longer exists" in told[0]
    assert page.list_model.rowCount() == 1
    assert page.editor.save_button.isEnabled()  # the empty draft, ready to edit


# -- issue 16 item 2, issue 18 item 1: the page's writes run off the GUI thread ----------------


def _names(page) -> list[str]:
    model = page.list_model
    return [model.row_at(row).name for row in range(model.rowCount())]


def _held(service, name: str):
    """Hold ``service.<name>`` on the worker thread until the returned event is set; the
    returned list counts the calls that reached the service."""
    release, calls = threading.Event(), []
    real = getattr(service, name)

    def held(*args):
        calls.append(args)
        assert release.wait(10)
        return real(*args)

    setattr(service, name, held)
    return release, calls


def test_save_delete_and_enrol_run_no_sql_on_the_gui_thread(qtbot, page, services, add_contact):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    _automation(services, "Old")
    reload(qtbot, page)
    with gui_thread_sql(services.db) as seen:
        page.new_automation()
        page.editor.name.setText("Fresh")
        with qtbot.waitSignal(page.editor.saved, timeout=5_000):
            qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
        settled(qtbot, page)
        page.list_view.selectRow(_names(page).index("Old"))
        settled(qtbot, page)
        page.confirm_delete = lambda _name: True
        page.delete_button.click()
        settled(qtbot, page)
        dialog = EnrollDialog(page.service, [ann])
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)
        with qtbot.waitSignal(dialog.accepted, timeout=5_000):
            dialog.enrol_button.click()
    assert [name for name in seen if name != "(outside ui)"] == []
    assert _names(page) == ["Fresh"]
    assert dialog.result_value.enrolled == [ann]


def test_a_slow_save_says_saving_and_a_second_click_saves_nothing_more(qtbot, page, services):
    release, calls = _held(page.service, "save")
    page.editor.name.setText("Follow-up")

    qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
    editor = page.editor
    assert editor.save_button.text() == "Saving…" and not editor.save_button.isEnabled()
    assert not editor.name.isEnabled() and not editor.steps.isEnabled()
    assert not page.list_view.isEnabled() and not page.new_button.isEnabled()
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)  # disabled: nothing
    assert not editor.save()  # nor from the keyboard's default button
    with qtbot.waitSignal(editor.saved, timeout=5_000):
        release.set()
    settled(qtbot, page)

    assert len(calls) == 1
    assert editor.save_button.text() == "Save automation" and editor.save_button.isEnabled()
    assert page.list_view.isEnabled() and _names(page) == ["Follow-up"]
    with services.db.read() as s:
        assert [v.name for v in automations.list_automations(s)] == ["Follow-up"]


def test_a_save_that_fails_unexpectedly_keeps_the_edit_and_says_why(qtbot, page, services):
    def broken(_automation_id, _data):
        raise RuntimeError("disk on fire")

    page.service.save = broken
    page.editor.name.setText("Kept")
    with qtbot.waitSignal(page.editor.save_failed, timeout=5_000):
        page.editor.save_button.click()
    assert "disk on fire" in page.editor.message.text()
    assert page.editor.name.text() == "Kept" and page.editor.save_button.isEnabled()
    assert page.list_view.isEnabled()


def test_a_slow_delete_says_deleting_and_keeps_the_list_still(qtbot, page, services):
    _automation(services, "Alpha")
    _automation(services, "Beta")
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)
    release, calls = _held(page.service, "delete")
    asked = []
    page.confirm_delete = lambda name: asked.append(name) or True

    page.delete_button.click()
    assert asked == ["Alpha"]  # asked first, on the GUI thread
    assert page.delete_button.text() == "Deleting…" and not page.delete_button.isEnabled()
    assert not page.list_view.isEnabled() and not page.new_button.isEnabled()
    assert not page.editor.isEnabled()
    page.delete_selected()  # a second delete cannot start
    release.set()
    settled(qtbot, page)

    assert len(calls) == 1 and asked == ["Alpha"]
    assert _names(page) == ["Beta"]
    assert page.delete_button.text() == "Delete…" and page.list_view.isEnabled()
    assert page.editor.isEnabled() and page.editor.name.text() == ""


def test_a_refused_delete_says_so_and_gives_the_controls_back(qtbot, page, services):
    _automation(services, "Stays")
    reload(qtbot, page)
    page.list_view.selectRow(0)
    settled(qtbot, page)
    page.service.delete = lambda _id: Outcome.failure("database is locked")
    page.confirm_delete = lambda _name: True
    told = []
    page.show_message = told.append

    page.delete_button.click()
    qtbot.waitUntil(lambda: bool(told), timeout=5_000)

    assert told == ["'Stays' was not deleted: database is locked"]
    assert page.delete_button.isEnabled() and page.list_view.isEnabled()
    assert page.editor.name.text() == "Stays"
    with services.db.read() as s:
        assert [v.name for v in automations.list_automations(s)] == ["Stays"]


def test_closing_the_page_while_a_save_runs_still_stores_it(qtbot, services):
    page = automations_page(services)
    settled(qtbot, page)
    release, _calls = _held(page.service, "save")
    page.editor.name.setText("Stored anyway")
    page.editor.save_button.click()
    task = page.editor._saving
    page.deleteLater()  # the window closes the page mid-save
    qtbot.waitUntil(lambda: not shiboken6.isValid(task), timeout=5_000)

    release.set()
    qtbot.waitUntil(lambda: not _dispatcher_holds_tasks(), timeout=5_000)
    with services.db.read() as s:
        assert [v.name for v in automations.list_automations(s)] == ["Stored anyway"]


def _dispatcher_holds_tasks() -> bool:
    from trustpager_desktop.ui.runner import _Dispatcher

    return bool(_Dispatcher.instance()._running)


def test_a_slow_enrolment_says_enrolling_and_cannot_be_started_twice(qtbot, services, add_contact):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    _automation(services, "Hello")
    service = AutomationsService(services)
    release, calls = _held(service, "enroll")
    dialog = EnrollDialog(service, [ann])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)

    dialog.enrol_button.click()
    assert dialog.message.text() == "Enrolling…"
    assert not dialog.enrol_button.isEnabled() and not dialog.automation.isEnabled()
    assert not dialog.cancel_button.isEnabled()
    dialog.enroll()  # a second Enrol: nothing
    dialog.reject()  # Escape or the window's close: the dialog waits for the answer
    assert dialog.isVisible()
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        release.set()

    assert len(calls) == 1 and dialog.result_value.enrolled == [ann]
    with services.db.read() as s:
        assert [row.contact_id for row in auto_queue.list_queue(s)] == [ann]


def test_a_refused_enrolment_keeps_the_dialog_open_with_the_choice(qtbot, services, add_contact):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    _automation(services, "Alpha")
    _automation(services, "Beta")
    service = AutomationsService(services)
    service.enroll = lambda _id, _ids: Outcome.failure("'Beta' is disabled: enable it first.")
    dialog = EnrollDialog(service, [ann])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)
    dialog.automation.setCurrentIndex(dialog.automation.findText("Beta"))

    with qtbot.waitSignal(dialog.enrol_failed, timeout=5_000):
        dialog.enrol_button.click()

    assert dialog.message.text() == "'Beta' is disabled: enable it first."
    assert dialog.automation.currentText() == "Beta" and dialog.automation.isEnabled()
    assert dialog.enrol_button.isEnabled() and dialog.cancel_button.isEnabled()
    assert dialog.result_value is None and dialog.result() == 0
