"""Finding a contact as a person does: any part of the number as the column shows it, a
sentence when nobody matches, the keyboard from the search box to the contact, buttons
that only work with a selection, and a new contact that never vanishes behind a search."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tests.gui.contact_widgets import make_browser, make_dialog, save_and_wait
from trustpager_desktop.ui.contact_browser import ContactDialog


@pytest.fixture
def browser(qtbot, services, add_contact):
    add_contact("Luis", "Brooks", phone="(415) 555-0137")
    add_contact("Ann", "Lee", phone="(415) 555-0101")
    widget = make_browser(qtbot, services)
    widget.resize(900, 500)
    return widget


def _search(qtbot, browser, text: str) -> None:
    with qtbot.waitSignal(browser.search_applied, timeout=3000):
        browser.search.setText(text)


def _names(browser) -> list[str]:
    model = browser.model
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())]


@pytest.mark.parametrize("typed", ["0137", "555-0137", "(415) 555-0137", "5550137", "55 01 37"])
def test_any_run_of_the_number_finds_the_contact(qtbot, browser, typed):
    _search(qtbot, browser, typed)
    assert _names(browser) == ["Luis Brooks"]
    assert not browser.empty_state.is_showing()


def test_a_search_that_finds_nobody_says_so(qtbot, browser):
    browser.show()
    _search(qtbot, browser, "01")  # the answer for a search is shown once it is in
    assert browser.count_label.text() == "2 contacts found"
    browser.search.setText("0199")
    assert browser.count_label.text() == "2 contacts found"  # not yet a "0 found"
    assert not browser.empty_state.is_showing()
    _search(qtbot, browser, "0199")
    assert browser.model.rowCount() == 0
    assert browser.empty_state.is_showing()
    assert browser.empty_state.text().startswith("No contacts match “0199”.")
    assert browser.count_label.text() == "0 contacts found"


def test_enter_in_the_search_box_goes_to_the_first_result_and_enter_opens_it(
    qtbot, browser, activate
):
    activate(browser)
    opened = []
    browser.contact_activated.connect(opened.append)
    browser.focus_search()
    qtbot.keyClicks(browser.search, "brooks")
    qtbot.keyClick(browser.search, Qt.Key.Key_Return)  # no need to wait for the typing pause
    qtbot.waitUntil(browser.table.hasFocus)  # once the answer is in
    assert browser.selected_contact_id() is not None
    qtbot.keyClick(browser.table, Qt.Key.Key_Return)
    assert opened == [browser.selected_contact_id()]


def test_down_arrow_in_the_search_box_goes_to_the_results(qtbot, browser, activate):
    activate(browser)
    browser.focus_search()
    qtbot.keyClicks(browser.search, "415")
    qtbot.keyClick(browser.search, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is browser.table)
    assert len(browser.table.selectionModel().selectedRows()) == 1


def test_down_arrow_with_no_results_stays_in_the_search_box(qtbot, browser, activate):
    activate(browser)
    browser.focus_search()
    qtbot.keyClicks(browser.search, "nobody here")
    with qtbot.waitSignal(browser.search_applied, timeout=3000):
        qtbot.keyClick(browser.search, Qt.Key.Key_Down)
    assert browser.search.hasFocus()
    assert browser.empty_state.is_showing()


def test_edit_delete_and_enrol_need_a_selection(browser):
    buttons = (browser.edit_button, browser.delete_button, browser.enroll_button)
    assert not any(b.isEnabled() for b in buttons)
    browser.table.selectRow(0)
    assert all(b.isEnabled() for b in buttons)
    browser.table.selectAll()  # two contacts: Enrol yes, Edit/Delete no
    assert browser.enroll_button.isEnabled()
    assert not browser.edit_button.isEnabled() and not browser.delete_button.isEnabled()
    browser.table.clearSelection()
    assert not any(b.isEnabled() for b in buttons)


def test_a_contact_saved_during_a_search_is_shown_and_selected(qtbot, browser, answer_dialog):
    _search(qtbot, browser, "brooks")

    def fill(dialog: ContactDialog) -> None:
        dialog.editors["first_name"].setText("Zoe")
        dialog.editors["last_name"].setText("Quinn")
        dialog.save()

    seen = answer_dialog(fill)
    browser.new_contact()

    assert seen
    selected = browser.table.selectionModel().selectedRows

    qtbot.waitUntil(lambda: bool(selected()), timeout=5000)  # once the list is read again
    assert browser.search.text() == ""  # the search that hid her is cleared
    assert "Zoe Quinn" in _names(browser)
    assert browser.model.data(selected()[0]) == "Zoe Quinn"


def test_the_phone_error_is_shown_whole(qtbot, services):
    dialog = make_dialog(qtbot, services)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.editors["first_name"].setText("Ann")
    dialog.editors["phone"].setText("(415) 555-01")
    assert not save_and_wait(qtbot, dialog)
    error = dialog.errors["phone"]
    qtbot.waitUntil(lambda: error.isVisible())
    qtbot.waitUntil(lambda: error.height() >= error.heightForWidth(error.width()))
    assert "not a valid phone number" in error.text()
