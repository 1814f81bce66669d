"""Pausing automations from the window (no tray needed), shown where people look: the
menu's tick, the status bar, and a banner with Resume on the Automations page."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from tests.support.desktop import MemoryTokenStore
from trustpager_desktop.core.automation_pause import automations_paused, set_automations_paused
from trustpager_desktop.ui.icons import app_icon
from trustpager_desktop.ui.main_window import MainWindow
from trustpager_desktop.ui.tray import TrayController
from trustpager_desktop.usecases.automations import AutomationsService


@pytest.fixture
def window(qtbot, services, activate):
    services.tokens = MemoryTokenStore()
    w = MainWindow(services)
    qtbot.addWidget(w)
    activate(w)
    qtbot.waitUntil(lambda: w.pause.ready, timeout=5_000)  # the state is read off the GUI thread
    return w


def _paused(services) -> bool:
    with services.db.read() as s:
        return automations_paused(s)


def test_pause_from_the_menu_shows_everywhere_and_resume_from_the_banner(qtbot, window, services):
    page = window.automations_page
    assert not window.pause_label.isVisibleTo(window) and not page.pause_banner.isVisibleTo(page)

    with qtbot.waitSignal(window.pause.changed, timeout=5_000):
        qtbot.keyClick(
            window,
            Qt.Key.Key_P,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    # The change the save published may be read back and shown before the save itself
    # reports; Resume is offered once it has.
    qtbot.waitUntil(lambda: window.pause.ready, timeout=5_000)

    assert _paused(services)  # the runner and the agent honour the database flag
    assert window.pause_action.isChecked()
    assert window.pause_label.isVisibleTo(window)
    assert window.pause_label.text() == "Automations paused"
    window.show_page("automations")
    assert page.pause_banner.isVisible()

    with qtbot.waitSignal(window.pause.changed, timeout=5_000):
        page.resume_button.click()

    assert not _paused(services)
    assert not window.pause_action.isChecked()
    assert not window.pause_label.isVisibleTo(window) and not page.pause_banner.isVisible()


def test_the_tray_and_the_window_show_one_pause(qtbot, window, services):
    tray = TrayController(window, services, icon=app_icon(), quit_app=lambda: None,
                          pause=window.pause)  # fmt: skip
    with qtbot.waitSignal(window.pause.changed, timeout=5_000):
        tray.pause_action.trigger()
    assert window.pause_action.isChecked() and window.pause_label.isVisibleTo(window)
    with qtbot.waitSignal(window.pause.changed, timeout=5_000):
        window.pause_action.trigger()
    assert not tray.pause_action.isChecked() and not _paused(services)


def test_a_pause_set_on_another_desktop_shows_on_the_automations_page(qtbot, window, services):
    set_automations_paused(services.db, True, actor="Other desk", clock=services.clock)
    window.show_page("automations")
    qtbot.waitUntil(lambda: window.automations_page.pause_banner.isVisible(), timeout=5_000)
    assert window.pause_label.isVisibleTo(window) and window.pause_action.isChecked()


def test_until_the_pause_is_read_the_menu_says_checking_and_cannot_toggle(
    qtbot, services, activate, monkeypatch
):
    """The pause is read off the GUI thread when the window is built: until it arrives
    the menu item says so and neither it nor its shortcut changes anything."""
    services.tokens = MemoryTokenStore()
    set_automations_paused(services.db, True, actor="Other desk", clock=services.clock)
    answer = threading.Event()
    read = AutomationsService.paused

    def slow_read(self) -> bool:
        assert answer.wait(10)
        return read(self)

    monkeypatch.setattr(AutomationsService, "paused", slow_read)
    window = MainWindow(services)
    qtbot.addWidget(window)
    activate(window)

    assert not window.pause.known and not window.pause_action.isEnabled()
    assert "checking" in window.pause_action.text()
    assert not window.pause_action.isChecked() and not window.pause_label.isVisibleTo(window)
    window.pause_action.trigger()  # a disabled action: nothing happens
    window.set_paused(False)  # nor from elsewhere (the banner, the tray) until it is known
    assert _paused(services)

    answer.set()
    qtbot.waitUntil(lambda: window.pause.ready, timeout=5_000)
    assert window.pause_action.isEnabled() and "checking" not in window.pause_action.text()
    assert window.pause_action.isChecked() and window.pause_label.isVisibleTo(window)
    assert window.pause_label.text() == "Automations paused"

    with qtbot.waitSignal(window.pause.changed, timeout=5_000):
        window.pause_action.trigger()  # resume, saved off the GUI thread
    assert not _paused(services) and not window.pause_label.isVisibleTo(window)


def test_a_pause_the_database_refuses_is_reported_and_the_tick_goes_back(
    qtbot, window, services, monkeypatch
):
    from trustpager_desktop.usecases.result import Outcome

    monkeypatch.setattr(
        AutomationsService, "set_paused", lambda self, paused: Outcome.failure("database is locked")
    )
    warned = []
    monkeypatch.setattr(
        "trustpager_desktop.ui.main_window.QMessageBox.warning",
        lambda _parent, _title, text: warned.append(text),
    )
    with qtbot.waitSignal(window.pause.failed, timeout=5_000):
        window.pause_action.trigger()
    qtbot.waitUntil(lambda: window.pause_action.isEnabled(), timeout=5_000)
    assert warned and "database is locked" in warned[0]
    assert not window.pause_action.isChecked() and not window.pause_label.isVisibleTo(window)
