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
from trustpager_desktop.ui.automations_page import EnrollDialog
from trustpager_desktop.ui.main_window import MainWindow

# ui function -> why it may still read on the GUI thread.
ALLOWED = {
    "contact_browser.ContactTableModel.read_rows": (
        "the contact list's lazy paging: Qt asks for rows as they scroll into view, one "
        "page (one statement) at a time"
    ),
    "contact_browser.ContactBrowser._update_count": "the count beside that page of rows",
    "opportunities_page.OpportunityTableModel.read_rows": "lazy paging, as for contacts",
    "opportunities_page.OpportunitiesPage.stages": "the stage filter, once per visit",
    "activity_page.ActivityLogModel.set_filter": (
        "the activity log's lazy paging over a million entries: the first page of a filter"
    ),
    "activity_page.ActivityPage._build_filters": "the kind and automation filters, built once",
}


def _navigate(window: MainWindow, qtbot, contact_ids: list[int]) -> None:
    window.open_contact(contact_ids[0])
    qtbot.waitUntil(lambda: not window.contact_page.is_loading, timeout=5_000)
    for key in ("contacts", "opportunities", "automations", "activity", "review", "settings"):
        window.show_page(key)
        page = window.stack.currentWidget()
        if hasattr(page, "is_loading"):
            qtbot.waitUntil(lambda page=page: not page.is_loading, timeout=5_000)
    _open_automations(window, qtbot, contact_ids)
    window.show_target("queue")
    window.show_page("contacts")


def _open_automations(window: MainWindow, qtbot, contact_ids: list[int]) -> None:
    """Open each automation in the editor, then the Enrol dialog for two contacts."""
    page = window.automations_page
    window.show_page("automations")
    for row in range(page.list_model.rowCount()):
        page.new_automation()
        page.list_view.selectRow(row)
        qtbot.waitUntil(lambda: not page.is_loading, timeout=5_000)
        assert page.editor.name.text() == page.list_model.row_at(row).name
    dialog = EnrollDialog(window.screens.automations, contact_ids, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading, timeout=5_000)
    assert "1 of 2 opted out of SMS" in dialog.consent_warning.text()


def test_navigating_the_main_pages_reads_on_the_gui_thread_only_where_pinned(
    qtbot, services: AppServices, add_contact
):
    services.tokens = MemoryTokenStore()
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    bob = add_contact("Bob", "Ray", phone="(212) 555-0102", opted_out=True)
    with services.db.write() as s:
        hello = automations.create_automation(
            s,
            AutomationInput("Hello", [StepInput("send_sms", template="Hi")]),
            clock=services.clock,
        )
        automations.create_automation(
            s,
            AutomationInput("Bye", [StepInput("send_sms", template="Bye")]),
            clock=services.clock,
        )
        automations.enroll(
            s, hello.id, Audience(contact_ids=(ann,)), actor="t", clock=services.clock
        )
        opportunities.create_opportunity(
            s, opportunities.OpportunityInput("Kitchen", ann), actor="t", clock=services.clock
        )
    with gui_thread_sql(services.db) as seen:
        window = MainWindow(services)  # building it reads the pause, off the GUI thread
        qtbot.addWidget(window)
        window.show()
        window.start_live_updates(0.2)
        try:
            qtbot.waitUntil(lambda: window.pause.known, timeout=5_000)
            _navigate(window, qtbot, [ann, bob])
        finally:
            window.shutdown()

    unexplained = {site: n for site, n in seen.items() if site not in ALLOWED}
    assert not unexplained, f"SQL on the GUI thread from: {unexplained}"
    print(f"GUI-thread statements while navigating: {sum(seen.values())}: {dict(seen)}")
