"""Smaller findings of issue 16: file dialogs start in Documents, the Enrol dialog's title
fits, page titles and empty states, the activity log's kinds and details, and a Qt warning
fails a test."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QLabel

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import make_page
from trustpager_desktop.core import activity, automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.ui.activity_page import ActivityPage
from trustpager_desktop.ui.automations_page import EnrollDialog
from trustpager_desktop.ui.common import documents_path
from trustpager_desktop.ui.import_dialog import ImportContactsDialog
from trustpager_desktop.ui.review_page import ReviewPage
from trustpager_desktop.usecases.activity import ActivityService
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.contacts import ContactsService
from trustpager_desktop.usecases.review import ReviewService


@pytest.fixture
def documents(tmp_path, monkeypatch):
    folder = tmp_path / "Documents"
    folder.mkdir()
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda _where: str(folder))
    return folder


@pytest.fixture
def asked(monkeypatch):
    """Records where each file dialog would open, and answers Cancel."""
    starts: list[str] = []

    def record(_parent, _title, start="", _filter="", *_a, **_k):
        starts.append(start)
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", record)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", record)
    return starts


def test_file_dialogs_open_in_documents(qtbot, services, add_contact, documents, asked):
    contact_page = make_page(qtbot, services)
    contact_page.load(add_contact("Ann", phone="(415) 555-0101"))
    wait_loaded(contact_page)
    contact_page.save_consent_report()
    log = ActivityPage(ActivityService(services))
    qtbot.addWidget(log)
    log._choose_export_file()
    log.shutdown()
    importer = ImportContactsDialog(ContactsService(services))
    qtbot.addWidget(importer)
    importer._choose_file()
    assert [Path(p).parent if Path(p).suffix else Path(p) for p in asked] == [documents] * 3
    assert Path(asked[0]).name.startswith("consent-history-")
    assert documents_path("x.csv") == str(documents / "x.csv")


def test_without_a_documents_folder_dialogs_open_at_home(tmp_path, monkeypatch):
    monkeypatch.setattr(QStandardPaths, "writableLocation", lambda _w: str(tmp_path / "none"))
    assert documents_path() == str(Path.home())


def test_the_enrol_dialog_is_wide_enough_for_its_title(qtbot, services, add_contact):
    with services.db.write() as s:
        automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]),
            clock=services.clock,
        )  # fmt: skip
    dialog = EnrollDialog(AutomationsService(services), [add_contact("Ann")])
    qtbot.addWidget(dialog)
    dialog.show()
    title_width = dialog.fontMetrics().horizontalAdvance(dialog.windowTitle())
    assert dialog.width() >= title_width + 200  # the title, the icon and the window buttons


def test_pages_have_titles_and_empty_lists_say_so(qtbot, services):
    review = ReviewPage(ReviewService(services))
    qtbot.addWidget(review)
    review.show()
    qtbot.waitUntil(lambda: not review.is_loading, timeout=5_000)
    assert "Needs review" in [w.text() for w in review.findChildren(QLabel)]
    assert review.review_empty.is_showing() and "Nothing waits for review" in (
        review.review_empty.text()
    )
    log = ActivityPage(ActivityService(services))
    qtbot.addWidget(log)
    log.show()
    assert "Activity Log" in [w.text() for w in log.findChildren(QLabel)]
    assert log.empty_state.text() == "Loading the activity log…"  # not "empty" before it knows
    qtbot.waitUntil(lambda: not log.is_loading, timeout=5_000)
    assert log.empty_state.is_showing() and "activity log is empty" in log.empty_state.text()
    log.text_search.setText("nothing like this")
    log.apply_filters()
    qtbot.waitUntil(lambda: not log.is_loading, timeout=5_000)
    assert "No entries match these filters" in log.empty_state.text()
    log.shutdown()


def test_the_kind_list_speaks_of_stop_replies_and_the_details_are_labelled(qtbot, services):
    with services.db.write() as s:
        activity.append(s, activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="Opted out by STOP reply", actor="Inbox", contact_id=3, contact_name="Ann Lee", details={"source": ConsentSource.STOP_REPLY, "message_sid": "SM1", "evidence": "STOP"}), clock=services.clock)  # fmt: skip
        activity.append(s, activity.LogEntry(kind=ActivityKind.OPT_OUT, summary="Opted out by hand", actor="Office", details={"source": ConsentSource.MANUAL_TOGGLE}), clock=services.clock)  # fmt: skip
    page = ActivityPage(ActivityService(services))
    qtbot.addWidget(page)
    labels = [page.kind_combo.itemText(i) for i in range(page.kind_combo.count())]
    assert "STOP replies" in labels and "Opt-outs (all)" in labels
    page.kind_combo.setCurrentIndex(labels.index("STOP replies"))
    qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
    assert page.model.rowCount() == 1
    page.table.selectRow(0)
    text = page.details_text()
    assert "What: Opt-out: STOP reply" in text
    assert "How it came: STOP reply" in text and "Twilio message SID: SM1" in text
    page.copy_details_button.click()
    assert QGuiApplication.clipboard().text() == text
    page.shutdown()


def test_a_qt_warning_fails_a_test(pytestconfig):
    assert pytestconfig.getini("qt_log_level_fail") == "WARNING"
    ignored = pytestconfig.getini("qt_log_ignore")
    assert ignored and all("This plugin does not support" in pattern for pattern in ignored)
