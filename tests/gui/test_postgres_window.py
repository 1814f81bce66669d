"""The window on a shared PostgreSQL database: the everyday flow works there too."""

import pytest
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from tests.gui.conftest import wait_loaded
from tests.support.contacts import add_contact
from tests.support.desktop import app_services
from trustpager_desktop.core.states import ConsentSource, MessageStatus
from trustpager_desktop.store.models import ConsentEvent, OutboundMessage
from trustpager_desktop.ui.main_window import MainWindow


@pytest.mark.postgres
def test_opt_out_and_manual_send_on_postgres(qtbot, _postgres_scratch, clock, answer_dialog):
    db = _postgres_scratch.fresh()  # every other GUI test runs on SQLite
    services = app_services(db, clock)
    cid = add_contact(db, clock, "Ann", "Lee", phone="(415) 555-0101")
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.open_contact(cid)
    wait_loaded(window.contact_page)
    page = window.contact_page

    page.preferences.toggle.click()
    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.No).click())  # no text
    page.preferences.save_button.click()
    wait_loaded(page)  # saved off the GUI thread; the page then shows the opt-out
    page.messaging.compose.setPlainText("Your keys are ready")
    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    with qtbot.waitSignal(page.messaging.send_finished, timeout=10_000):
        page.messaging.send_shortcuts[0].activated.emit()  # Ctrl+Enter

    with db.read() as s:
        assert s.scalars(select(ConsentEvent.source)).all() == [ConsentSource.MANUAL_TOGGLE]
        sent = s.scalars(select(OutboundMessage)).one()
    assert (sent.status, sent.recipient_opted_out) == (MessageStatus.SENT, True)
    assert [k.key().toString() for k in page.messaging.send_shortcuts] == [
        "Ctrl+Return",
        "Ctrl+Enter",
    ]
    window.shutdown()
