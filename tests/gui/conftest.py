"""GUI fixtures: services on a fresh SQLite database with a fixed clock and the sandbox
provider, a few contacts, and a helper that answers the next modal dialog."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from tests.support import contacts as contact_factory
from tests.support.desktop import app_services
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.collector import GuiThreadCollector


@pytest.fixture(autouse=True)
def collect_on_gui_thread(qapp):
    """As in the running window: cycles are collected on the GUI thread only."""
    collector = GuiThreadCollector()
    collector.start()
    yield collector
    collector.stop()


@pytest.fixture
def services(sqlite_db, clock) -> Iterator[AppServices]:
    """AppServices on SQLite, FixedClock, sandbox provider, tokens in memory only. A page's
    background read still running when a test ends finishes before the database goes."""
    yield app_services(sqlite_db, clock)
    QThreadPool.globalInstance().waitForDone(10_000)


@pytest.fixture
def add_contact(services) -> Callable[..., int]:
    """add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=False) -> contact id;
    an opted-out contact said STOP (tests/support/contacts.py)."""
    return functools.partial(
        contact_factory.add_contact,
        services.db,
        services.clock,
        opt_out_source=ConsentSource.STOP_REPLY,
    )


@pytest.fixture
def activate(qtbot) -> Callable[[QWidget], QWidget]:
    """activate(window): show it and make it the active window, so key presses sent with
    qtbot go through Qt's shortcut map (Ctrl+F, Ctrl+Q ...) as they do for a person."""

    def show(window: QWidget) -> QWidget:
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
        return window

    return show


@pytest.fixture
def answer_dialog(qtbot) -> Callable[[Callable[[QWidget], None]], list[QWidget]]:
    """answer_dialog(fn): when the next modal dialog opens, call fn(dialog) on it.

    Returns a list that receives the dialog, so a test can assert one was shown.
    """

    def arm(fn: Callable[[QWidget], None]) -> list[QWidget]:
        seen: list[QWidget] = []
        tries = [0]

        def poll() -> None:
            dialog = QApplication.activeModalWidget()
            if dialog is None:
                tries[0] += 1
                if tries[0] < 500:  # give up after ~5 s so a stray poll cannot outlive its test
                    QTimer.singleShot(10, poll)
                return
            seen.append(dialog)
            fn(dialog)

        QTimer.singleShot(0, poll)
        return seen

    return arm


def wait_loaded(page) -> None:  # type: ignore[no-untyped-def]
    """Run the event loop until a page that reads off the GUI thread (the contact page after
    ``load`` or a save, the Automations page...) has what it read on screen."""
    assert page.wait_until_loaded(10_000), f"{type(page).__name__} did not finish loading"
