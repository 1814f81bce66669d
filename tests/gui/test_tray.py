"""Tray menu actions, close-to-tray, and notifications."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon

from trustpager_desktop import APP_NAME
from trustpager_desktop.core.automation_pause import automations_paused
from trustpager_desktop.ui.icons import app_icon
from trustpager_desktop.ui.tray import CloseToTrayFilter, TrayController, tray_available


@pytest.fixture
def window(qtbot):
    w = QMainWindow()
    qtbot.addWidget(w)
    return w


@pytest.fixture
def tray(window, services, qtbot):
    quits: list[bool] = []
    controller = TrayController(
        window, services, icon=app_icon(), quit_app=lambda: quits.append(True)
    )
    controller.quits = quits
    # The pause is read off the GUI thread: not togglable until it is known.
    qtbot.waitUntil(controller.pause_action.isEnabled, timeout=5_000)
    return controller


def test_menu_offers_open_check_pause_quit(tray):
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts == ["Open TrustPager", "Check inbox now", "Pause automations", "Quit"]
    assert tray.pause_action.isCheckable()


def test_pause_automations_is_stored_for_the_runner_and_logged(tray, services, qtbot):
    with qtbot.waitSignal(tray.pause.changed, timeout=5_000):
        tray.pause_action.trigger()  # saved off the GUI thread
    with services.db.read() as s:
        assert automations_paused(s) is True
    assert tray.pause_action.isChecked()
    assert "paused" in tray.icon.toolTip()
    with qtbot.waitSignal(tray.pause.changed, timeout=5_000):
        tray.pause_action.trigger()
    with services.db.read() as s:
        assert automations_paused(s) is False


def test_tooltip_shows_who_reads_the_inbox(tray, qtbot):
    tray.set_inbox_status("Inbox checked by OFFICE-PC (agent) 12 s ago")
    assert tray.icon.toolTip() == f"{APP_NAME}\nInbox checked by OFFICE-PC (agent) 12 s ago"
    with qtbot.waitSignal(tray.pause.changed, timeout=5_000):
        tray.pause_action.trigger()
    assert tray.icon.toolTip().splitlines() == [
        f"{APP_NAME} (automations paused)",
        "Inbox checked by OFFICE-PC (agent) 12 s ago",
    ]


def test_check_inbox_now_asks_the_poller(tray, qtbot):
    with qtbot.waitSignal(tray.check_inbox_requested, timeout=1000):
        tray.check_action.trigger()


def test_open_brings_back_a_hidden_window(tray, window):
    window.hide()
    tray.open_action.trigger()
    assert window.isVisible()


def test_quit_quits_and_hides_the_icon(tray):
    tray.quit_action.trigger()
    assert tray.quits == [True]
    assert tray.quitting
    assert not tray.icon.isVisible()


def test_close_hides_to_tray_when_kept_running(window, qtbot):
    quits: list[bool] = []
    hidden: list[bool] = []
    CloseToTrayFilter(
        window,
        lambda: True,
        on_hidden=lambda: hidden.append(True),
        quit_app=lambda: quits.append(1),
    )
    window.show()
    assert window.close() is False
    assert not window.isVisible()
    assert hidden == [True]
    qtbot.wait(10)  # let a queued quit (there must be none) run
    assert quits == []


def test_close_quits_when_not_kept_in_tray(window, qtbot):
    quits: list[bool] = []
    CloseToTrayFilter(window, lambda: False, quit_app=lambda: quits.append(True))
    window.show()
    assert window.close() is True
    qtbot.waitUntil(lambda: quits == [True], timeout=1000)


def test_keep_in_tray_needs_the_setting_and_a_shown_icon(tray, services):
    if not tray_available():
        assert tray.show() is False
        assert tray.keep_running_on_close() is False  # no tray: closing quits
        pytest.skip("no system tray on this platform: the close-to-tray path needs one")
    assert tray.show() is True
    assert tray.keep_running_on_close() is True
    services.settings = dataclasses.replace(services.settings, keep_in_tray=False)
    assert tray.keep_running_on_close() is False


def test_notifications_for_opt_out_and_failed_send(tray, monkeypatch):
    if not tray_available():
        pytest.skip("no system tray on this platform: notifications need a tray icon")
    shown = []
    tray.show()
    monkeypatch.setattr(tray.icon, "showMessage", lambda *a: shown.append(a))
    tray.notify_opt_out(["Ann Lee", "+1 415-555-0101"])
    tray.notify_send_failed("The number is not a mobile number")
    assert shown[0][0] == "2 opt-outs received"
    assert "Ann Lee, +1 415-555-0101" in shown[0][1]
    assert shown[1][2] == QSystemTrayIcon.MessageIcon.Warning


def test_notifications_are_logged_even_without_a_tray(tray, caplog):
    caplog.set_level("INFO", logger="trustpager.tray")
    tray.notify_opt_out(["A", "B", "C", "D", "E"])
    tray.notify_send_failed("Twilio did not accept the Account SID and Auth Token")
    assert "A, B, C and 2 more will get no more automated texts." in caplog.text
    assert "A text was not sent: Twilio did not accept" in caplog.text
