"""The Automations page: editor, list, Auto Queue view, Run due items now, EnrollDialog."""

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt

from trustpager_desktop.core import auto_queue, automations, consent, contacts
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.clock import FixedClock
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.automations_page import AutomationsPage, EnrollDialog

AFTERNOON = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)


@pytest.fixture
def services(sqlite_db):
    return AppServices(sqlite_db, clock=FixedClock(AFTERNOON))


@pytest.fixture
def page(qtbot, services):
    widget = AutomationsPage(services)
    qtbot.addWidget(widget)
    widget.resize(1100, 650)
    return widget


def add_contact(services, first, phone, opted_out=False):
    with services.db.write() as s:
        c = contacts.create_contact(
            s, ContactInput(first, "Lee", phone=phone), actor="t", clock=services.clock
        )
        if opted_out:
            consent.opt_out_contact(s, c, source="manual_toggle", actor="t", clock=services.clock)
        return c.id


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
    qtbot.mouseClick(page.editor.save_button, Qt.MouseButton.LeftButton)
    assert "unknown field {nickname}" in page.editor.message.text()
    assert page.editor.message.textFormat() == Qt.TextFormat.PlainText
    with services.db.read() as s:
        assert automations.list_automations(s) == []


def test_queue_shows_skipped_reason_after_run_due_now(page, services, qtbot, qtmodeltester):
    ann = add_contact(services, "Ann", "(415) 555-0101", opted_out=True)
    bob = add_contact(services, "Bob", "(212) 555-0102")
    with services.db.write() as s:
        view = automations.create_automation(
            s,
            AutomationInput("Hello", [StepInput("send_sms", template="Hi {first_name}")]),
            clock=services.clock,
        )
        automations.enroll(
            s, view.id, Audience(contact_ids=(ann, bob)), actor="t", clock=services.clock
        )
    page.refresh()
    page.tabs.setCurrentIndex(1)
    with qtbot.waitSignal(page.dispatch_finished, timeout=10_000) as blocker:
        qtbot.mouseClick(page.run_button, Qt.MouseButton.LeftButton)
    assert "1 sent, 1 skipped" in blocker.args[0]
    page.status_filter.setCurrentIndex(page.status_filter.findText("Skipped"))
    model = page.queue_model
    assert model.rowCount() == 1
    assert model.index(0, 4).data() == "Ann Lee"
    assert model.index(0, 5).data() == "skipped: contact opted out of SMS"
    qtmodeltester.check(model)
    qtmodeltester.check(page.list_model)
    assert page.list_model.index(0, 3).data() == "1" and page.list_model.index(0, 4).data() == "1"


def test_enroll_dialog_enrols_and_notes_opted_out_contacts(qtbot, services):
    ann = add_contact(services, "Ann", "(415) 555-0101", opted_out=True)
    with services.db.write() as s:
        automations.create_automation(
            s,
            AutomationInput("Hello", [StepInput("send_sms", template="Hi")]),
            clock=services.clock,
        )
    dialog = EnrollDialog(services, [ann])
    qtbot.addWidget(dialog)
    dialog.enroll()
    assert dialog.result_value.enrolled == [ann]
    assert "opted out of SMS" in dialog.message.text()
    with services.db.read() as s:
        (row,) = auto_queue.list_queue(s)
    assert (row.contact_id, row.status) == (ann, "pending")
