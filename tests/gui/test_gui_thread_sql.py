"""No database call on the GUI thread while navigating the main pages, except the few
pinned below with their reasons (issue 16 item 2).

Against a shared PostgreSQL across a network each statement run on the GUI thread is a
round trip the window freezes for; pages read through their use-case service on the
background runner instead. A statement from a ui function not on the list fails the
test, naming where it came from.
"""

from __future__ import annotations

from tests.support.desktop import MemoryTokenStore
from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop.core import automations, opportunities
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.main_window import MainWindow
from trustpager_desktop.usecases.opportunities import PAGE_SIZE

# ui function -> why it may still read on the GUI thread.
ALLOWED = {
    "contact_browser.ContactTableModel.read_rows": (
        "the contact list's lazy paging: Qt asks for rows as they scroll into view, one "
        "page (one statement) at a time"
    ),
    "contact_browser.ContactBrowser._update_count": "the count beside that page of rows",
    "activity_page.ActivityLogModel.set_filter": (
        "the activity log's lazy paging over a million entries: the first page of a filter"
    ),
    "activity_page.ActivityPage._build_filters": "the kind and automation filters, built once",
    "automations_page.AutomationEditor.load": (
        "a click on an automation opens it in the editor: one short read of that automation"
    ),
    "pause.AutomationPause.refresh": "the pause state, read once when the window is built",
}


def _navigate(window: MainWindow, qtbot, contact_id: int) -> None:
    window.open_contact(contact_id)
    qtbot.waitUntil(lambda: not window.contact_page.is_loading, timeout=5_000)
    for key in ("contacts", "opportunities", "automations", "activity", "review", "settings"):
        window.show_page(key)
        page = window.stack.currentWidget()
        if hasattr(page, "is_loading"):
            qtbot.waitUntil(lambda page=page: not page.is_loading, timeout=5_000)
    window.show_target("queue")
    window.show_page("contacts")


def test_navigating_the_main_pages_reads_on_the_gui_thread_only_where_pinned(
    qtbot, services: AppServices, add_contact
):
    services.tokens = MemoryTokenStore()
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    add_contact("Bob", "Ray", phone="(212) 555-0102", opted_out=True)
    with services.db.write() as s:
        hello = automations.create_automation(
            s,
            AutomationInput("Hello", [StepInput("send_sms", template="Hi")]),
            clock=services.clock,
        )
        automations.enroll(
            s, hello.id, Audience(contact_ids=(ann,)), actor="t", clock=services.clock
        )
        opportunities.create_opportunity(
            s, opportunities.OpportunityInput("Kitchen", ann), actor="t", clock=services.clock
        )
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.show()
    window.start_live_updates(0.2)
    try:
        with gui_thread_sql(services.db) as seen:
            _navigate(window, qtbot, ann)
    finally:
        window.shutdown()

    unexplained = {site: n for site, n in seen.items() if site not in ALLOWED}
    assert not unexplained, f"SQL on the GUI thread from: {unexplained}"
    print(f"GUI-thread statements while navigating: {sum(seen.values())}: {dict(seen)}")


def test_choosing_an_opportunity_and_scrolling_its_list_reads_off_the_gui_thread(
    qtbot, services: AppServices, add_contact
):
    services.tokens = MemoryTokenStore()
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    with services.db.write() as s:
        for n in range(PAGE_SIZE + 20):  # more than one page: scrolling fetches the next
            opportunities.create_opportunity(
                s, opportunities.OpportunityInput(f"Job {n}", ann), actor="t", clock=services.clock
            )
    window = MainWindow(services)
    qtbot.addWidget(window)
    window.show()
    try:
        with gui_thread_sql(services.db) as seen:
            window.show_page("opportunities")
            page = window.opportunities_page
            qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
            assert page.model.rowCount() == PAGE_SIZE
            page.table.selectRow(3)
            qtbot.waitUntil(lambda: page.panel.opportunity is not None, timeout=5_000)
            assert page.panel.sms_status.text() == "Subscribed"
            page.table.scrollToBottom()
            qtbot.waitUntil(lambda: page.model.rowCount() == PAGE_SIZE + 20, timeout=5_000)
            page.stage_filter.setCurrentIndex(page.stage_filter.findData("New lead"))
            qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
            assert page.model.rowCount() == PAGE_SIZE  # the stage's first page
    finally:
        window.shutdown()
    from_the_page = {site: n for site, n in seen.items() if site.startswith("opportunities_page")}
    assert not from_the_page, f"SQL on the GUI thread from: {from_the_page}"
