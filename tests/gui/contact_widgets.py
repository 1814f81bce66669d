"""The contacts screens as the window builds them: each widget given its use-case service
(never AppServices), and a helper to wait until their background reads are on screen."""

from __future__ import annotations

import threading

from tests.gui.conftest import wait_loaded
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.contact_browser import ContactBrowser, ContactDialog, ContactTableModel
from trustpager_desktop.ui.contact_page import ContactPage
from trustpager_desktop.usecases.contacts import ContactsService
from trustpager_desktop.usecases.result import Outcome
from trustpager_desktop.usecases.screens import Screens


def make_browser(qtbot, services: AppServices) -> ContactBrowser:  # type: ignore[no-untyped-def]
    """A ContactBrowser with its first page and count on screen."""
    browser = ContactBrowser(Screens.build(services).contacts)
    qtbot.addWidget(browser)
    wait_loaded(browser)
    return browser


def make_model(qtbot, services: AppServices) -> ContactTableModel:  # type: ignore[no-untyped-def]
    """A ContactTableModel with its first page in."""
    model = ContactTableModel(ContactsService(services))
    qtbot.waitUntil(lambda: not model.is_loading, timeout=10_000)
    return model


def make_page(qtbot, services: AppServices) -> ContactPage:  # type: ignore[no-untyped-def]
    screens = Screens.build(services)
    page = ContactPage(screens.contacts, screens.messaging, screens.consent)
    qtbot.addWidget(page)
    return page


def make_dialog(qtbot, services: AppServices, contact_id: int | None = None) -> ContactDialog:  # type: ignore[no-untyped-def]
    """A New (or Edit) contact dialog, the contact to edit read in."""
    dialog = ContactDialog(ContactsService(services), contact_id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=10_000)
    return dialog


def search(browser: ContactBrowser, text: str) -> None:
    """Type ``text`` and press nothing: apply it at once and wait for its answer."""
    browser.search.setText(text)
    browser.apply_search()
    wait_loaded(browser)


def refreshed(browser: ContactBrowser) -> ContactBrowser:
    browser.refresh()
    wait_loaded(browser)
    return browser


def save_and_wait(qtbot, widget) -> bool:  # type: ignore[no-untyped-def]
    """Call ``widget.save()`` (a contact dialog, the Details or Preferences card, the contact
    page) and wait until its save has ended off the GUI thread: True when it saved."""
    with qtbot.waitSignal(widget.save_finished, timeout=10_000) as blocker:
        widget.save()
    if hasattr(widget, "wait_until_loaded"):
        wait_loaded(widget)  # the page reads the contact again after a save
    return bool(blocker.args[0])


def held(monkeypatch, service_class, method: str):  # type: ignore[no-untyped-def]
    """Make ``service_class.method`` wait for the returned Event (a slow database); the
    list counts its calls."""
    release, calls = threading.Event(), []
    real = getattr(service_class, method)

    def slow(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args)
        assert release.wait(10)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(service_class, method, slow)
    return release, calls


def failing(monkeypatch, service_class, method: str, how: str) -> None:  # type: ignore[no-untyped-def]
    """Make ``service_class.method`` fail: refuse ("refused": an Outcome saying the
    database could not be reached) or raise ("raises": the database went away)."""

    def fail(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if how == "raises":
            raise RuntimeError("the database went away")
        return Outcome.failure("The database could not be reached.")

    monkeypatch.setattr(service_class, method, fail)
