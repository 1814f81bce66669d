"""Pausing automations from the window (no tray needed), shown where people look: the
menu's tick, the status bar, and a banner with Resume on the Automations page."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.support.desktop import MemoryTokenStore
from trustpager_desktop.core.automation_pause import automations_paused, set_automations_paused
from trustpager_desktop.ui.icons import app_icon
from trustpager_desktop.ui.main_window import MainWindow
from trustpager_desktop.ui.tray import TrayController


@pytest.fixture
def window(qtbot, services, activate):
    services.tokens = MemoryTokenStore()
    w = MainWindow(services)
    qtbot.addWidget(w)
    activate(w)
    return w


def _paused(services) -> bool:
    with services.db.read() as s:
        return automations_paused(s)


def test_pause_from_the_menu_shows_everywhere_and_resume_from_the_banner(qtbot, window, services):
    page = window.automations_page
    assert not window.pause_label.isVisibleTo(window) and not page.pause_banner.isVisibleTo(page)

    qtbot.keyClick(
        window,
        Qt.Key.Key_P,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )

    assert _paused(services)  # the runner and the agent honour the database flag
    assert window.pause_action.isChecked()
    assert window.pause_label.isVisibleTo(window)
    assert window.pause_label.text() == "Automations paused"
    window.show_page("automations")
    assert page.pause_banner.isVisible()

    page.resume_button.click()

    assert not _paused(services)
    assert not window.pause_action.isChecked()
    assert not window.pause_label.isVisibleTo(window) and not page.pause_banner.isVisible()


def test_the_tray_and_the_window_show_one_pause(window, services):
    tray = TrayController(window, services, icon=app_icon(), quit_app=lambda: None,
                          pause=window.pause)  # fmt: skip
    tray.pause_action.trigger()
    assert window.pause_action.isChecked() and window.pause_label.isVisibleTo(window)
    window.pause_action.trigger()
    assert not tray.pause_action.isChecked() and not _paused(services)


def test_a_pause_set_on_another_desktop_shows_on_the_automations_page(window, services):
    set_automations_paused(services.db, True, actor="Other desk", clock=services.clock)
    window.show_page("automations")
    assert window.automations_page.pause_banner.isVisible()
    assert window.pause_label.isVisibleTo(window) and window.pause_action.isChecked()
