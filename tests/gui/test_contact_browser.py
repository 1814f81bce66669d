"""The contact browser: paged model, search in any phone format, sorting, the contact dialog."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView
from sqlalchemy import insert

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import (
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
