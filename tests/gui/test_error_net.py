"""The error net: an exception nobody caught in a slot or a thread is logged, shown with
"Copy details" (secrets hidden), and the application carries on."""

from __future__ import annotations

import logging
import threading

import pytest
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QPushButton

from trustpager_desktop.logging_setup import register_secret
from trustpager_desktop.ui.error_net import ErrorDialog, ErrorNet

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def net():
    shown: list[tuple[str, str]] = []
    catcher = ErrorNet()
    catcher.show_dialog = lambda summary, details: shown.append((summary, details))
    catcher.install()
    catcher.shown = shown
    yield catcher
    catcher.uninstall()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_shown_logged_and_the_app_goes_on(qtbot, net, caplog):
    register_secret("s3cret-password")
    button = QPushButton("Delete")
    qtbot.addWidget(button)
    clicks = []

    def broken() -> None:
        clicks.append(1)
        raise RuntimeError(f"database said no; auth_token={TOKEN} password s3cret-password")

    button.clicked.connect(broken)
    with caplog.at_level(logging.ERROR, logger="trustpager.errors"):
        button.click()
    ((summary, details),) = net.shown
    assert summary.startswith("RuntimeError: database said no")
    assert "Traceback" in details and "broken" in details
    for secret in (TOKEN, "s3cret-password"):
        assert secret not in summary and secret not in details and secret not in caplog.text
    assert "unexpected error" in caplog.text
    button.click()  # still alive, still answering
    assert clicks == [1, 1] and len(net.shown) == 2


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_thread_is_shown_on_the_gui_thread(qtbot, net):
    def work() -> None:
        raise ValueError("worker fell over")

    with qtbot.waitSignal(net.reported, timeout=3000) as reported:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
    assert reported.args[0] == "ValueError: worker fell over"
    assert net.shown and net.shown[0][0] == "ValueError: worker fell over"


def test_the_dialog_copies_the_details_and_stays_open(qtbot):
    dialog = ErrorDialog("KeyError: 'x'", "Traceback ... KeyError: 'x'")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == "Traceback ... KeyError: 'x'"
    assert dialog.isVisible()
    assert "keeps running" in dialog.message.text() and "Copy details" in dialog.message.text()
