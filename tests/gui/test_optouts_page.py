"""The Opt-outs page: the list automations will not text, and the Import button that takes a
do-not-contact list (checked first, bad rows by line, imported in the background)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog
from sqlalchemy import select

from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop.core import consent
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent
from trustpager_desktop.ui.main_window import MainWindow
from trustpager_desktop.ui.optouts_page import OptOutsPage
from trustpager_desktop.usecases.optouts import OptOutsService

LIST = "Phone\n(415) 555-0101\n415 555 0190\n"


def _page(qtbot, services) -> OptOutsPage:
    page = OptOutsPage(OptOutsService(services))
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.count_label.text() != "")
    return page


def _cells(page: OptOutsPage) -> list[list[str]]:
    model = page.table.model()
    return [
        [model.index(r, c).data() for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def _choose(monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))


def test_the_page_lists_opted_out_contacts_and_held_numbers(qtbot, services, add_contact):
    add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    add_contact("Bob", phone="(415) 555-0102")
    page = _page(qtbot, services)
    assert page.count_label.text() == "1 opted-out number (0 held with no contact)"
    assert _cells(page)[0][:2] == ["(415) 555-0101", "Ann Lee"]
    assert _cells(page)[0][3] == "STOP reply"


def test_import_button_checks_the_file_then_imports_it_in_the_background(
    qtbot, services, add_contact, tmp_path, monkeypatch
):
    ann = add_contact("Ann", "Lee", phone="(415) 555-0101")
    path = tmp_path / "dnc.csv"
    path.write_text(LIST, encoding="utf-8")
    page = _page(qtbot, services)
    _choose(monkeypatch, path)
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    dialog = page.dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled())
    assert dialog.import_button.text() == "Import 2 numbers"
    assert dialog.summary.text() == "dnc.csv: 2 phone numbers, header 'Phone'."

    with qtbot.waitSignals([dialog.imported, page.optouts_changed, page.loaded], timeout=10_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    said = (
        "Opted out 1 contact, suppressed 1 number, 0 already opted out, 0 bad rows "
        "(do-not-contact list dnc.csv)."
    )
    assert dialog.summary.text() == said and page.status_label.text() == said
    assert not dialog.import_button.isEnabled()  # done: a second click would add nothing
    assert page.count_label.text() == "2 opted-out numbers (1 held with no contact)"
    assert [row[:2] for row in _cells(page)] == [
        ["(415) 555-0101", "Ann Lee"], ["(415) 555-0190", "no contact (number held)"]]  # fmt: skip
    with services.db.read() as s:
        assert consent.contact_consent_state(s, ann).opted_out
        actors = set(s.scalars(select(ConsentEvent.actor)))
        entry = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.IMPORT)
        ).one()
    assert actors == {services.actor} and entry.actor == services.actor
    assert f"imported by {services.actor}" in entry.summary


def test_bad_rows_are_shown_by_line_and_only_good_rows_can_go_in(
    qtbot, services, add_contact, tmp_path
):
    add_contact("Ann", phone="(415) 555-0101")
    path = tmp_path / "dnc.txt"
    path.write_text("415 555 0101\n555\n415 555 0190\n", encoding="utf-8")
    page = _page(qtbot, services)
    dialog = page.import_file(str(path))
    qtbot.waitUntil(lambda: dialog.problems.toPlainText() != "")
    assert dialog.problems.toPlainText().startswith("Line 2: '555' is not a valid phone number")
    assert not dialog.import_button.isEnabled()
    assert "nothing will be imported unless" in dialog.summary.text()
    dialog.good_rows.setChecked(True)
    assert dialog.import_button.isEnabled() and dialog.import_button.text() == "Import 2 numbers"
    with qtbot.waitSignal(dialog.imported, timeout=10_000) as blocker:
        dialog.import_button.click()
    assert blocker.args[0].describe().endswith("1 bad row (do-not-contact list dnc.txt).")


def test_a_file_that_cannot_be_read_says_why_and_offers_no_import(qtbot, services, tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_bytes("Tel\nJos\xe9\n".encode("cp1252"))
    page = _page(qtbot, services)
    with qtbot.waitSignal(page.import_file(str(path)).preview_ready, timeout=5000) as blocker:
        pass
    assert blocker.args == [None]
    assert page.dialog.summary.text().startswith("This file cannot be imported: The file is not")
    assert not page.dialog.import_button.isEnabled()


def test_export_writes_the_list_in_the_background_and_says_where(
    qtbot, services, add_contact, tmp_path
):
    add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True)
    page = _page(qtbot, services)
    target = tmp_path / "opt-outs.csv"
    with qtbot.waitSignal(page.export_to(str(target)).finished, timeout=5000):
        pass
    assert page.status_label.text() == f"Exported 1 opted-out numbers to {target}."
    assert "+14155550101" in target.read_text(encoding="utf-8")


def test_the_window_has_an_opt_outs_page_whose_import_refreshes_the_contacts(
    qtbot, services, add_contact, tmp_path
):
    add_contact("Ann", "Lee", phone="(415) 555-0101")
    window = MainWindow(services)
    qtbot.addWidget(window)
    assert window.show_page("optouts")
    page = window.optouts_page
    qtbot.waitUntil(lambda: page.count_label.text() != "")
    path = tmp_path / "dnc.csv"
    path.write_text(LIST, encoding="utf-8")
    dialog = page.import_file(str(path))
    qtbot.waitUntil(lambda: dialog.import_button.isEnabled())
    with qtbot.waitSignal(page.optouts_changed, timeout=10_000):
        dialog.import_button.click()
    browser = window.contact_browser
    qtbot.waitUntil(lambda: "OPTED OUT" in _browser_text(browser).upper(), timeout=5000)
    window.shutdown()


def _browser_text(browser) -> str:
    model = browser.table.model()
    return " ".join(
        str(model.index(r, c).data())
        for r in range(model.rowCount())
        for c in range(model.columnCount())
    )


def test_checking_and_importing_a_list_runs_no_sql_on_the_gui_thread(
    qtbot, services, add_contact, tmp_path, monkeypatch
):
    """Issue 16 item 2: the page's one write (the import) and its reads stay off the GUI
    thread; a second click while it runs is off (the button is disabled until it is in)."""
    add_contact("Ann", "Lee", phone="(415) 555-0101")
    path = tmp_path / "dnc.csv"
    path.write_text(LIST, encoding="utf-8")
    with gui_thread_sql(services.db) as seen:
        page = _page(qtbot, services)
        dialog = page.import_file(str(path))
        qtbot.waitUntil(lambda: dialog.import_button.isEnabled())
        with qtbot.waitSignals([dialog.imported, page.loaded], timeout=10_000):
            dialog.import_button.click()
            assert not dialog.import_button.isEnabled()
    from_the_page = {site: n for site, n in seen.items() if site.startswith("optouts_page")}
    assert not from_the_page, f"SQL on the GUI thread from: {from_the_page}"
    assert page.count_label.text() == "2 opted-out numbers (1 held with no contact)"
