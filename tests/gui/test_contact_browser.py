"""The contact browser: paged model, search in any phone format, sorting, the contact dialog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView
from sqlalchemy import insert

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import (
    failing,
    held,
    make_browser,
    make_dialog,
    make_model,
    refreshed,
    save_and_wait,
    search,
)
from trustpager_desktop.core import contacts
from trustpager_desktop.store.models import Contact
from trustpager_desktop.ui.contact_browser import OPTED_OUT_TEXT, SMS_COLUMN, ContactTableModel


@pytest.fixture
def browser(qtbot, services):
    return make_browser(qtbot, services)


def _names(model) -> list[str]:
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


def test_models_pass_qtmodeltester(qtmodeltester, qtbot, services, add_contact):
    from trustpager_desktop.core import demo

    with services.db.write() as s:
        demo.fill_demo(s, clock=services.clock)
    qtmodeltester.check(make_model(qtbot, services))


def test_opted_out_contacts_stand_out(qtbot, services, add_contact):
    add_contact("Ann", phone="(415) 555-0101", opted_out=True)
    model = make_model(qtbot, services)
    index = model.index(0, SMS_COLUMN)
    assert model.data(index) == OPTED_OUT_TEXT
    assert model.data(index, Qt.ItemDataRole.FontRole).bold()
    assert model.data(index, Qt.ItemDataRole.DecorationRole) is not None


@pytest.mark.parametrize("typed", ["(415) 555-0101", "4155550101", "+1 415 555 0101"])
def test_search_as_you_type_matches_any_phone_format(qtbot, browser, add_contact, typed):
    add_contact("Ann", "Lee", phone="415.555.0101")
    add_contact("Ben", "Sato", phone="(415) 555-0102")
    refreshed(browser)
    with qtbot.waitSignal(browser.search_applied, timeout=3000):
        browser.search.setText(typed)  # the debounce timer fires the search
    assert _names(browser.model) == ["Ann Lee"]
    assert browser.count_label.text() == "1 contact found"


def test_search_by_name_email_company(browser, add_contact):
    add_contact("Ann", "Lee", email="ann@harbor.example", company="Harbor Dental")
    add_contact("Ben", "Sato")
    for text in ("harbor", "ann@", "Dental", "lee"):
        search(browser, text)
        assert _names(browser.model) == ["Ann Lee"], text


def test_sorting_runs_in_the_database(browser, add_contact):
    for first, last in (("Ann", "Lee"), ("Ben", "Adams"), ("Cy", "Zane")):
        add_contact(first, last)
    refreshed(browser)
    browser.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    wait_loaded(browser)
    assert _names(browser.model) == ["Cy Zane", "Ann Lee", "Ben Adams"]


def test_hundred_thousand_contacts_load_one_page_at_a_time(qtbot, services):
    now = datetime(2026, 11, 26, tzinfo=UTC)
    rows = [
        {
            "first_name": f"Person{i:06d}",
            "last_name": "Test",
            "company": "",
            "email": "",
            "phone_raw": "",
            "phone_e164": f"+1415{i:07d}",
            "tags": "",
            "search_text": f"person{i:06d} test 1415{i:07d}",
            "sms_opted_out": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(100_000)
    ]
    with services.db.write() as s:
        s.connection().execute(insert(Contact.__table__), rows)  # one executemany, no ORM
    model = make_model(qtbot, services)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)

    assert model.rows_fetched <= ContactTableModel.PAGE_SIZE
    assert model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.rowsInserted, timeout=10_000):
        model.fetchMore(QModelIndex())
        assert not model.canFetchMore(QModelIndex())  # one page at a time
        assert model.rows_fetched == ContactTableModel.PAGE_SIZE  # until it arrives
    assert model.rows_fetched == 2 * ContactTableModel.PAGE_SIZE
    assert model.data(model.index(0, 0)) == "Person000000 Test"


def test_contact_dialog_refuses_a_bad_phone_with_the_reason(qtbot, services):
    dialog = make_dialog(qtbot, services)
    dialog.editors["first_name"].setText("Ann")
    dialog.editors["phone"].setText("555")

    assert not save_and_wait(qtbot, dialog)

    assert dialog.errors["phone"].isVisibleTo(dialog)
    assert "555" in dialog.errors["phone"].text() or dialog.errors["phone"].text()
    with services.db.read() as s:
        assert contacts.count_contacts(s) == 0


def test_new_edit_and_delete_contact(qtbot, browser, services, add_contact):
    dialog = make_dialog(qtbot, services)
    dialog.editors["first_name"].setText("Ann")
    dialog.editors["phone"].setText("(415) 555-0101")
    assert save_and_wait(qtbot, dialog)

    edit = make_dialog(qtbot, services, dialog.contact_id)
    assert edit.editors["phone"].text() == "(415) 555-0101"
    edit.editors["last_name"].setText("Lee")
    assert save_and_wait(qtbot, edit)

    refreshed(browser)
    assert _names(browser.model) == ["Ann Lee"]
    browser.table.selectRow(0)
    browser.confirm_delete = lambda name: True
    browser.delete_selected()
    wait_loaded(browser)
    assert browser.model.rowCount() == 0


def test_a_search_with_very_many_matches_says_so_without_counting_them_all(
    browser, add_contact, monkeypatch
):
    from trustpager_desktop.usecases import contacts as contacts_usecase

    monkeypatch.setattr(contacts_usecase, "SEARCH_COUNT_CAP", 2)
    for first in ("Ann", "Anna", "Annie"):
        add_contact(first, "Lee")
    refreshed(browser)
    assert browser.count_label.text() == "3 contacts"  # the whole list is counted exactly
    search(browser, "ann")
    assert browser.count_label.text() == "2+ contacts found"
    assert browser.model.rowCount() == 3  # the table still shows every match
    search(browser, "annie")
    assert browser.count_label.text() == "1 contact found"


def test_the_latest_search_wins_and_an_overtaken_one_is_never_shown(
    qtbot, browser, add_contact, monkeypatch
):
    """'ann' is slow to answer and 'ben' is typed meanwhile: the table goes from the whole
    list straight to Ben; Ann's answer, arriving late, is never painted."""
    import threading

    from trustpager_desktop.usecases.contacts import ContactsService

    add_contact("Ann", "Lee")
    add_contact("Ben", "Sato")
    refreshed(browser)
    release = threading.Event()
    real_first_page = ContactsService.first_page

    def slow_for_ann(self, search, limit):  # type: ignore[no-untyped-def]
        if search.query == "ann":
            assert release.wait(10)
        return real_first_page(self, search, limit)

    monkeypatch.setattr(ContactsService, "first_page", slow_for_ann)
    shown: list[list[str]] = []
    browser.model.modelReset.connect(lambda: shown.append(_names(browser.model)))

    browser.search.setText("ann")
    browser.apply_search()
    browser.search.setText("ben")
    browser.apply_search()
    assert _names(browser.model) == ["Ann Lee", "Ben Sato"]  # kept until the answer is in
    assert not browser.model.canFetchMore(QModelIndex())
    release.set()
    with qtbot.waitSignal(browser.search_applied, timeout=5000) as applied:
        pass
    assert applied.args == ["ben"]
    assert shown == [["Ben Sato"]]
    assert browser.count_label.text() == "1 contact found"


def test_a_list_that_cannot_be_read_says_so(qtbot, browser, monkeypatch):
    from trustpager_desktop.store.database import DatabaseError
    from trustpager_desktop.usecases.contacts import ContactsService

    def unreachable(self, search, limit):  # type: ignore[no-untyped-def]
        raise DatabaseError("The database cannot be reached.")

    monkeypatch.setattr(ContactsService, "first_page", unreachable)
    browser.show()
    with qtbot.waitSignal(browser.model.failed, timeout=5000):
        browser.refresh()
    assert browser.count_label.text() == "Contacts could not be read"
    assert "cannot be reached" in browser.count_label.toolTip()
    assert browser.empty_state.is_showing() and "cannot be reached" in browser.empty_state.text()


# -- writes off the GUI thread (issue 16 item 2, issue 18 item 1) ----------------------

CONTACT_UI = {"contact_browser", "contact_form"}


def _delete_first_row(browser) -> list[str]:  # type: ignore[no-untyped-def]
    """Select the first row and answer Yes to the delete question; the names asked about."""
    asked: list[str] = []
    browser.table.selectRow(0)
    browser.confirm_delete = lambda name: asked.append(name) or True
    return asked


def test_new_edit_and_delete_run_no_sql_on_the_gui_thread(
    qtbot, browser, services, add_contact, answer_dialog
):
    """The opted-out warning's read, create, the edit dialog's read, update and delete:
    each reaches the database, and not one statement of them runs on the GUI thread."""
    from PySide6.QtWidgets import QMessageBox

    from tests.support.gui_sql import gui_thread_sql

    add_contact("Ola", "Out", phone="(212) 555-0199", opted_out=True)
    with gui_thread_sql(services.db) as seen:
        dialog = make_dialog(qtbot, services)
        dialog.editors["first_name"].setText("Ann")
        dialog.editors["phone"].setText("(212) 555-0199")
        warned = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Save).click())
        assert save_and_wait(qtbot, dialog)
        edit = make_dialog(qtbot, services, dialog.contact_id)
        assert edit.editors["phone"].text() == "(212) 555-0199"
        edit.editors["last_name"].setText("Lee")
        assert save_and_wait(qtbot, edit)  # her own number, unchanged: nothing to ask
        search(browser, "Ann")
        assert _names(browser.model) == ["Ann Lee"]
        _delete_first_row(browser)
        with qtbot.waitSignal(browser.delete_finished, timeout=10_000) as deleted:
            browser.delete_selected()
        wait_loaded(browser)

    assert warned and "Ola Out" in warned[0].text()
    assert deleted.args == [True] and browser.model.rowCount() == 0
    with services.db.read() as s:
        assert [c.first_name for c in s.query(Contact)] == ["Ola"]
    assert {k: n for k, n in seen.items() if k.split(".")[0] in CONTACT_UI} == {}


def test_a_slow_dialog_save_says_saving_and_neither_saves_twice_nor_closes(
    qtbot, services, monkeypatch
):
    from PySide6.QtWidgets import QDialog

    from trustpager_desktop.usecases.contacts import ContactsService

    release, calls = held(monkeypatch, ContactsService, "create")
    dialog = make_dialog(qtbot, services)
    dialog.show()
    dialog.editors["first_name"].setText("Ann")
    try:
        assert dialog.save()
        assert dialog.save_button.text() == "Saving…" and not dialog.save_button.isEnabled()
        assert not dialog.editors["first_name"].isEnabled()
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
        assert not dialog.save()  # a second Save starts nothing
        dialog.reject()  # Escape: the save cannot be undone, so the dialog waits for it
        assert dialog.isVisible()
    finally:
        release.set()
    with qtbot.waitSignal(dialog.save_finished, timeout=10_000) as done:
        pass

    assert done.args == [True] and len(calls) == 1
    assert dialog.result() == QDialog.DialogCode.Accepted and dialog.contact_id is not None
    with services.db.read() as s:
        assert contacts.count_contacts(s) == 1


@pytest.mark.parametrize("how", ["refused", "raises"])
def test_a_failing_dialog_save_says_why_and_keeps_what_was_typed(qtbot, services, monkeypatch, how):
    from trustpager_desktop.usecases.contacts import ContactsService

    failing(monkeypatch, ContactsService, "create", how)
    dialog = make_dialog(qtbot, services)
    dialog.show()
    dialog.editors["first_name"].setText("Ann")

    assert not save_and_wait(qtbot, dialog)

    expected = "database could not be reached" if how == "refused" else "database went away"
    assert expected in dialog.errors["first_name"].text()
    assert dialog.isVisible() and dialog.editors["first_name"].text() == "Ann"
    assert dialog.editors["first_name"].isEnabled() and dialog.save_button.isEnabled()
    assert dialog.save_button.text() == "Save"


def test_a_slow_delete_says_deleting_and_a_second_click_asks_nothing(
    qtbot, browser, services, add_contact, monkeypatch
):
    from trustpager_desktop.usecases.contacts import ContactsService

    add_contact("Ann", "Lee", phone="(415) 555-0101")
    refreshed(browser)
    release, calls = held(monkeypatch, ContactsService, "delete")
    asked = _delete_first_row(browser)
    try:
        browser.delete_button.click()
        assert browser.delete_button.text() == "Deleting…"
        assert not browser.delete_button.isEnabled() and not browser.edit_button.isEnabled()
        browser.delete_selected()  # Delete's shortcut path: nothing asked, nothing started
        qtbot.waitUntil(lambda: len(calls) == 1, timeout=10_000)
    finally:
        release.set()
    with qtbot.waitSignal(browser.delete_finished, timeout=10_000) as done:
        pass
    wait_loaded(browser)

    assert done.args == [True] and asked == ["Ann Lee"] and len(calls) == 1
    assert browser.model.rowCount() == 0 and browser.delete_button.text() == "Delete…"


@pytest.mark.parametrize("how", ["refused", "raises"])
def test_a_failing_delete_says_why_and_keeps_the_contact(
    qtbot, browser, services, add_contact, monkeypatch, answer_dialog, how
):
    from trustpager_desktop.usecases.contacts import ContactsService

    add_contact("Ann", "Lee", phone="(415) 555-0101")
    refreshed(browser)
    failing(monkeypatch, ContactsService, "delete", how)
    _delete_first_row(browser)
    said: list[str] = []
    shown = answer_dialog(lambda box: (said.append(box.text()), box.accept()))
    with qtbot.waitSignal(browser.delete_finished, timeout=10_000) as done:
        browser.delete_selected()
    wait_loaded(browser)

    expected = "database could not be reached" if how == "refused" else "database went away"
    assert done.args == [False]
    assert shown and "Ann Lee was not deleted" in said[0] and expected in said[0]
    assert _names(browser.model) == ["Ann Lee"]
    browser.table.selectRow(0)
    assert browser.delete_button.isEnabled() and browser.delete_button.text() == "Delete…"
