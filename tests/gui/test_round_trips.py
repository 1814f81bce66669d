"""Few round trips to a distant database (issue 18 item 1): opening a contact page
costs at most 5, starting the window to the first painted contact list at most 15.

Counted with the SQLAlchemy event counter (``store.round_trips``): statements, the
BEGIN psycopg sends by itself, COMMIT/ROLLBACK of open transactions, pings. Each round
trip costs a full network round-trip time on a shared database across a network; the
timing itself is ``benchmarks/remote_database.py``'s job."""

from __future__ import annotations

import pytest

from tests.gui.conftest import wait_loaded
from tests.support.desktop import app_services
from trustpager_desktop.core import demo
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.round_trips import RoundTripCounter
from trustpager_desktop.ui.main_window import MainWindow

CONTACT_PAGE_LIMIT = 5
WINDOW_START_LIMIT = 15


@pytest.fixture
def demo_services(db, clock) -> AppServices:
    """The demo business (contacts, opt-outs, texts, tasks, opportunities) on ``db``."""
    services = app_services(db, clock)
    with db.write() as s:
        demo.fill_demo(s, actor="Test", clock=clock)
    return services


def _busiest_contact(services: AppServices) -> int:
    from sqlalchemy import func, select

    from trustpager_desktop.store.models import ActivityEntry

    with services.db.read() as s:
        return s.scalar(
            select(ActivityEntry.contact_id)
            .where(ActivityEntry.contact_id.is_not(None))
            .group_by(ActivityEntry.contact_id)
            .order_by(func.count().desc())
            .limit(1)
        )


def test_window_start_costs_at_most_15_round_trips(qtbot, demo_services, clock):
    """From opening the database (schema check, settings) to the painted contact list."""
    counter = RoundTripCounter()  # every engine: the one AppServices.open makes too
    with counter:
        services = AppServices.open(demo_services.db.url, clock=clock)
        window = MainWindow(services)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.contact_browser.model.rowCount() > 0)
        qtbot.waitUntil(lambda: window.pause.known)  # the pause, read off the GUI thread
    print(counter.describe())
    assert window.contact_browser.model.rowCount() == 50  # the demo business, all shown
    assert counter.connections == 1, counter.describe()
    assert counter.total <= WINDOW_START_LIMIT, counter.describe()
    window.shutdown()
    services.close()


def test_opening_a_contact_page_costs_at_most_5_round_trips(qtbot, demo_services):
    contact_id = _busiest_contact(demo_services)
    window = MainWindow(demo_services)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.pause.known)  # the window's own start-up read, not the page's
    with RoundTripCounter(demo_services.db.engine) as counter:
        window.open_contact(contact_id)
        wait_loaded(window.contact_page)
    page = window.contact_page
    print(counter.describe())
    assert page.contact is not None and page.contact.id == contact_id
    assert page.timeline.topLevelItemCount() > 0
    assert counter.total <= CONTACT_PAGE_LIMIT, counter.describe()
    window.shutdown()
