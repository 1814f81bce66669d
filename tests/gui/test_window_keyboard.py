"""The window by keyboard: Ctrl+Q, the menus' shortcuts (as Help lists them), Alt+Left
back to where a contact was opened from, the opt-out toggle early in the Tab order, a
message box where Tab moves on, and the Help menu's opt-out guide."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.gui.conftest import wait_loaded
from trustpager_desktop.core import demo
from trustpager_desktop.ui.help_menu import SHORTCUTS, opt_out_guide_text, shortcuts_text
from trustpager_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, services, activate):
    with services.db.write() as s:
        demo.fill_demo(s, clock=services.clock)
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.resize(1024, 700)
    activate(w)
    return w


def _ctrl(qtbot, window, key) -> None:
    qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)


def test_ctrl_q_quits_after_asking_about_unsaved_changes(qtbot, window, answer_dialog, activate):
    window.open_contact(1)
    wait_loaded(window.contact_page)
    window.contact_page.preferences.toggle.click()  # an unsaved change
    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Cancel).click())
    quits = []
    window.quit_requested.connect(lambda: quits.append(True))
    _ctrl(qtbot, window, Qt.Key.Key_Q)
    assert asked and quits == []  # Cancel: stays open, change kept
    activate(window)  # the question took the focus
    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Discard).click())
    with qtbot.waitSignal(window.quit_requested, timeout=3000):
        _ctrl(qtbot, window, Qt.Key.Key_Q)


def test_every_shortcut_help_lists_for_the_window_exists(window):
    window_keys = {a.shortcut().toString() for a in window.findChildren(type(window.quit_action))}
    listed = {keys for keys, _what in SHORTCUTS}
    for keys in ("Ctrl+F", "Ctrl+N", "Ctrl+S", "Alt+Left", "Ctrl+I", "Ctrl+Shift+P", "F1",
                 "Ctrl+Q"):  # fmt: skip
        assert keys in listed and QKeySequence(keys).toString() in window_keys, keys
    assert {f"Ctrl+{n}" for n in range(1, 7)} <= window_keys
    assert "Ctrl+Q" in shortcuts_text()


def test_ctrl_number_moves_between_pages(qtbot, window):
    _ctrl(qtbot, window, Qt.Key.Key_4)
    assert window.stack.currentWidget() is window.activity_page
    _ctrl(qtbot, window, Qt.Key.Key_1)
    assert window.stack.currentWidget() is window.contact_browser


def test_alt_left_goes_back_to_the_opportunity_a_contact_was_opened_from(qtbot, window):
    window.show_target("opportunity:2")
    page = window.opportunities_page
    wait_loaded(page)
    panel = page.panel
    chosen = panel.opportunity
    panel.open_contact_button.click()
    assert window.stack.currentWidget() is window.contact_page
    assert window.contact_page.back_button.text() == "← Back to the opportunity"
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.stack.currentWidget() is page
    assert panel.opportunity == chosen
    assert page.table.currentIndex().row() == page.model.row_of(chosen.id)


def test_the_opt_out_toggle_is_the_first_tab_stop_of_a_contact(qtbot, window):
    window.open_contact(1)
    wait_loaded(window.contact_page)
    page = window.contact_page
    assert QApplication.focusWidget() is page.back_button
    qtbot.keyClick(page.back_button, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is page.preferences.toggle
    qtbot.keyClick(page.preferences.toggle, Qt.Key.Key_Tab)  # Save is off: nothing to save
    assert QApplication.focusWidget() is page.messaging.compose


def test_tab_in_the_message_box_moves_on_and_a_pasted_tab_stays_gsm7(qtbot, window):
    window.open_contact(1)
    wait_loaded(window.contact_page)
    compose = window.contact_page.messaging.compose
    compose.setFocus()
    qtbot.keyClicks(compose, "Hi")
    qtbot.keyClick(compose, Qt.Key.Key_Tab)
    assert compose.toPlainText() == "Hi"
    assert not compose.hasFocus()
    pasted = QMimeData()
    pasted.setText("\tsee you\tat 3")
    compose.insertFromMimeData(pasted)
    assert compose.toPlainText() == "Hi see you at 3"
    assert "GSM-7" in window.contact_page.messaging.counter.text()


def test_the_help_menu_explains_opt_outs_in_words(qtbot, window, monkeypatch):
    shown = []
    monkeypatch.setattr(window, "help_dialog", lambda t, h: shown.append((t, h)) or _NoExec())
    qtbot.keyClick(window, Qt.Key.Key_F1)
    ((title, html_text),) = shown
    assert title == "SMS opt-out guide"
    text = opt_out_guide_text()
    for words in ("Opted out", "What STOP does", "Re-consent", "10 business days", "21610"):
        assert words in text and words in html_text
    helps = [a.text() for a in window.menuBar().actions()[-1].menu().actions() if a.text()]
    assert helps[:2] == ["SMS &opt-out guide", "&Keyboard shortcuts"]


class _NoExec:
    def exec(self) -> int:
        return 0
