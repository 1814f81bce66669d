"""Enrolling contacts from the browser's multi-selection puts their steps in the Auto Queue."""

from PySide6.QtCore import QItemSelectionModel
from sqlalchemy import select

from tests.gui.conftest import wait_loaded
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.store.models import QueueItem
from trustpager_desktop.ui.main_window import MainWindow


def test_enrol_selected_contacts(qtbot, services, add_contact, answer_dialog):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    bob = add_contact("Bob", "Marsh", phone="(415) 555-0102", opted_out=True)
    with services.db.write() as s:
        automations.create_automation(
            s,
            AutomationInput(
                name="Reminder",
                steps=[StepInput(action_type="send_sms", template="Hi {first_name}")],
            ),
            clock=services.clock,
        )
    window = MainWindow(services)  # the window opens the automations screen's dialog
    qtbot.addWidget(window)
    browser = window.contact_browser
    wait_loaded(browser)
    selection = browser.table.selectionModel()
    for row in range(browser.model.rowCount()):
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        selection.select(browser.model.index(row, 0), flags)
    assert sorted(browser.selected_contact_ids()) == sorted([ann, bob])

    def enrol_once_loaded(dialog) -> None:
        # Enrol stays off until the automations and the warning are read off the GUI thread.
        qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)
        dialog.enrol_button.click()

    seen = answer_dialog(enrol_once_loaded)
    browser.enroll_selected()
    assert seen and "opted out" in seen[0].result_value.describe().lower()
    with services.db.read() as s:
        enrolled = sorted(s.scalars(select(QueueItem.contact_id)).all())
    assert enrolled == sorted([ann, bob])  # opted-out Bob is skipped at send time, not here
    window.shutdown()
