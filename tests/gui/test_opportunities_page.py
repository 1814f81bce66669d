"""Opportunities in the window: add one, change its stage, filter by stage, see whether the
contact may be texted, and the Opportunities card on the contact page."""

from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import make_page
from tests.support.gui_sql import gui_thread_sql
from trustpager_desktop.core import consent, opportunities
from trustpager_desktop.core.opportunities import OpportunityInput
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.store.models import Contact
from trustpager_desktop.ui.opportunities_page import OpportunitiesPage, OpportunityDialog
from trustpager_desktop.ui.theme import Tone, tone_of
from trustpager_desktop.usecases.opportunities import PAGE_SIZE, OpportunitiesService
from trustpager_desktop.usecases.result import Outcome


@pytest.fixture
def people(add_contact):
    return {
        "ann": add_contact("Ann", "Lee", phone="(415) 555-0101"),
        "olga": add_contact("Olga", "Out", phone="(415) 555-0198", opted_out=True),
    }


def _add(services, contact_id, title, stage="New lead"):
    with services.db.write() as s:
        return opportunities.create_opportunity(
            s, OpportunityInput(title, contact_id, "100", stage), actor="t", clock=services.clock
        ).id


@pytest.fixture
def page(qtbot, services, people):
    _add(services, people["ann"], "Kitchen remodel")
    _add(services, people["olga"], "Deck repair", "Won")
    widget = OpportunitiesPage(OpportunitiesService(services))
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    wait_loaded(widget)
    return widget


def _titles(page) -> list[str]:
    return [page.model.row_data(r).title for r in range(page.model.rowCount())]


def test_a_new_opportunity_is_added_for_a_contact_found_by_number(
    qtbot, page, services, answer_dialog
):
    def fill(dialog: OpportunityDialog) -> None:
        dialog.title_edit.setText("Water heater")
        dialog.contact_search.setText("0101")
        with qtbot.waitSignal(dialog.contacts_found):
            dialog.find_contacts()
        dialog.value_edit.setText("$2,400")
        dialog.stage_edit.setCurrentText("Quote sent")
        dialog.save()

    page.stage_filter.setCurrentIndex(page.stage_filter.findData("Won"))
    wait_loaded(page)
    seen = answer_dialog(fill)
    page.new_opportunity()
    wait_loaded(page)
    assert seen
    assert page.stage_filter.currentData() is None  # every stage again, so it shows
    assert _titles(page)[0] == "Water heater" and page.table.currentIndex().row() == 0
    assert page.panel.opportunity.title == "Water heater"
    assert (page.panel.contact.text(), page.panel.value_edit.text()) == ("Ann Lee", "2400.00")


def test_the_dialog_refuses_a_missing_contact_and_a_bad_value(qtbot, services, people):
    dialog = OpportunityDialog(OpportunitiesService(services), list(opportunities.DEFAULT_STAGES))
    qtbot.addWidget(dialog)
    dialog.title_edit.setText("Gutters")
    assert not dialog.save()
    assert dialog.errors["contact"].isVisibleTo(dialog)
    dialog.contact_search.setText("Ann")
    with qtbot.waitSignal(dialog.contacts_found):
        dialog.find_contacts()
    dialog.value_edit.setText("lots")
    with qtbot.waitSignal(dialog.refused, timeout=5_000):
        assert dialog.save()  # checked where it is stored, off the GUI thread
    assert "not an amount" in dialog.errors["value"].text()
    assert dialog.value_edit.text() == "lots" and dialog.value_edit.isEnabled()
    with services.db.read() as s:
        assert opportunities.count_opportunities(s) == 0  # nothing was added


def test_the_stage_is_changed_in_the_panel_and_the_filter_shows_one_stage(qtbot, page, services):
    page.table.selectRow(_titles(page).index("Kitchen remodel"))
    wait_loaded(page)
    page.panel.stage_edit.setCurrentText("Negotiating")
    assert page.panel.save()
    wait_loaded(page)
    with services.db.read() as s:
        assert [r.title for r in opportunities.list_opportunities(s, stage="Negotiating")] == [
            "Kitchen remodel"
        ]
    page.stage_filter.setCurrentIndex(page.stage_filter.findData("Won"))
    assert page.empty_state.text() == "Loading…"  # not the other stage's rows
    wait_loaded(page)
    assert _titles(page) == ["Deck repair"]
    page.stage_filter.setCurrentIndex(page.stage_filter.findData("Lost"))
    wait_loaded(page)
    assert page.empty_state.is_showing() and "No opportunities at stage 'Lost'" in (
        page.empty_state.text()
    )


def test_the_panel_shows_that_the_contact_opted_out(page):
    page.table.selectRow(_titles(page).index("Deck repair"))
    status = page.panel.sms_status
    assert status.text() == "Loading…"  # never the previous contact's state
    wait_loaded(page)
    assert status.text().startswith("Opted out since")
    assert tone_of(status) is Tone.WARNING
    page.table.selectRow(_titles(page).index("Kitchen remodel"))
    wait_loaded(page)
    assert status.text() == "Subscribed" and tone_of(status) is Tone.OK


def test_the_contact_page_lists_the_contacts_opportunities_and_opens_one(qtbot, services, people):
    _add(services, people["ann"], "Kitchen remodel")
    contact_page = make_page(qtbot, services)
    contact_page.load(people["ann"])
    wait_loaded(contact_page)
    card = contact_page.opportunities
    assert card.list.topLevelItemCount() == 1
    item = card.list.topLevelItem(0)
    assert [item.text(c) for c in range(3)] == ["Kitchen remodel", "New lead", "$100.00"]
    with qtbot.waitSignal(contact_page.open_opportunity_requested) as opened:
        card.list.itemActivated.emit(item, 0)
    assert opened.args == [item.data(0, Qt.ItemDataRole.UserRole)]


def test_a_new_opportunity_from_the_contact_page_belongs_to_that_contact(
    qtbot, services, people, answer_dialog
):
    from trustpager_desktop.ui.main_window import MainWindow

    window = MainWindow(services)  # the window opens the Opportunities screen's dialog
    qtbot.addWidget(window)
    window.open_contact(people["olga"])
    contact_page = window.contact_page
    wait_loaded(contact_page)

    def fill(dialog: OpportunityDialog) -> None:
        assert not dialog.contact_combo.isEnabled()  # the contact is given
        dialog.title_edit.setText("Fence")
        dialog.save()

    answer_dialog(fill)
    contact_page.opportunities.new_button.click()
    wait_loaded(contact_page)
    assert contact_page.opportunities.list.topLevelItem(0).text(0) == "Fence"
    with services.db.read() as s:
        (row,) = opportunities.list_opportunities(s, contact_id=people["olga"])
    assert row.title == "Fence"
    window.shutdown()


def test_the_table_model_passes_qtmodeltester(qtmodeltester, qtbot, page):
    qtmodeltester.check(page.model)


def _many(services, contact_id, count):
    with services.db.write() as s:
        for n in range(count):
            opportunities.create_opportunity(
                s, OpportunityInput(f"Job {n}", contact_id, "1", "Quote sent"), actor="t",
                clock=services.clock,
            )  # fmt: skip


def test_more_rows_are_read_one_page_at_a_time_in_the_background(qtbot, page, services, people):
    _many(services, people["ann"], PAGE_SIZE + 5)
    page.refresh()
    wait_loaded(page)
    model = page.model
    assert model.rowCount() == PAGE_SIZE and model.canFetchMore(QModelIndex())
    with qtbot.waitSignal(model.fetched) as fetched:
        model.fetchMore(QModelIndex())
        assert not model.canFetchMore(QModelIndex())  # one page on its way: no second
        assert model.rowCount() == PAGE_SIZE
    assert fetched.args == [7] and model.rowCount() == PAGE_SIZE + 7
    assert not model.canFetchMore(QModelIndex())  # the last page came up short


def test_the_latest_filter_wins(qtbot, page):
    shown: list[list[str]] = []
    page.model.modelReset.connect(lambda: shown.append(_titles(page)))
    page.stage_filter.setCurrentIndex(page.stage_filter.findData("New lead"))
    page.stage_filter.setCurrentIndex(page.stage_filter.findData("Won"))  # before it is in
    wait_loaded(page)
    assert ["Kitchen remodel"] not in shown  # the older filter's page was never painted
    assert _titles(page) == ["Deck repair"] and page.model.stage == "Won"
    page.search.setText("kitchen")
    page.stage_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.model.filter.query == "kitchen")  # after the typing pause
    wait_loaded(page)
    assert _titles(page) == ["Kitchen remodel"]


def test_an_opportunity_is_deleted_from_the_panel_after_asking(
    qtbot, page, services, answer_dialog
):
    page.table.selectRow(_titles(page).index("Kitchen remodel"))
    wait_loaded(page)
    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Yes).click())
    page.panel.delete_button.click()
    wait_loaded(page)
    assert asked and _titles(page) == ["Deck repair"]
    assert page.panel.opportunity is None and not page.panel.save_button.isEnabled()
    with services.db.read() as s:
        assert opportunities.count_opportunities(s) == 1


def test_an_opportunity_deleted_elsewhere_says_so_in_the_panel(qtbot, page, services):
    kitchen = page.model.row_data(_titles(page).index("Kitchen remodel"))
    with services.db.write() as s:
        opportunities.delete_opportunity(s, kitchen.id, actor="t", clock=services.clock)
    page.show_opportunity(kitchen.id)
    wait_loaded(page)
    assert page.panel.heading.text() == f"Opportunity {kitchen.id} no longer exists."
    assert _titles(page) == ["Deck repair"]  # the list dropped it too


def test_a_refresh_shows_the_new_consent_state_and_keeps_what_is_being_typed(
    qtbot, page, services, people
):
    page.table.selectRow(_titles(page).index("Kitchen remodel"))
    wait_loaded(page)
    assert page.panel.sms_status.text() == "Subscribed"
    page.panel.title_edit.setText("Kitchen and bath")  # not saved yet
    with services.db.write() as s:  # elsewhere: another desktop, a STOP reply
        consent.opt_out_contact(s, s.get(Contact, people["ann"]), source=ConsentSource.MANUAL_TOGGLE,
                                actor="t", clock=services.clock)  # fmt: skip
    page.refresh()  # what the window does when the change marker says contacts changed
    wait_loaded(page)
    assert page.panel.sms_status.text().startswith("Opted out since")
    assert page.panel.title_edit.text() == "Kitchen and bath"
    assert page.table.currentIndex().row() == _titles(page).index("Kitchen remodel")


# -- issue 16 item 2, issue 18 item 1: writes off the GUI thread -------------------------------


def _choose(qtbot, page, title: str) -> None:
    page.table.selectRow(_titles(page).index(title))
    wait_loaded(page)


def _held(monkeypatch, name: str, release: threading.Event, calls: list[int]) -> None:
    """Hold OpportunitiesService.<name> on the worker thread until ``release`` is set."""
    original = getattr(OpportunitiesService, name)

    def held(self, *args, **kwargs):
        calls.append(1)
        assert release.wait(10)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(OpportunitiesService, name, held)


def test_saving_adding_and_deleting_run_no_sql_on_the_gui_thread(qtbot, page, services, people):
    _choose(qtbot, page, "Kitchen remodel")
    panel = page.panel
    with gui_thread_sql(services.db) as seen:
        panel.stage_edit.setCurrentText("Negotiating")
        with qtbot.waitSignal(panel.write_finished, check_params_cb=bool, timeout=5_000):
            panel.save_button.click()
        dialog = OpportunityDialog(OpportunitiesService(services), page.stages(), people["ann"],
                                   "Ann Lee", page)  # fmt: skip
        dialog.title_edit.setText("Porch")
        with qtbot.waitSignal(dialog.accepted, timeout=5_000):
            dialog.save()
        wait_loaded(page)
        with qtbot.waitSignal(panel.deleted, timeout=5_000):
            panel.delete()  # what Yes to "Delete?" does
        wait_loaded(page)
    from_the_page = {site: n for site, n in seen.items() if site.startswith("opportunities_page")}
    assert not from_the_page, f"SQL on the GUI thread from: {from_the_page}"
    assert dialog.opportunity is not None and dialog.opportunity.title == "Porch"
    assert sorted(_titles(page)) == ["Deck repair", "Porch"]  # Kitchen remodel deleted
    with services.db.read() as s:
        (porch,) = opportunities.list_opportunities(s, query="Porch")
    assert porch.contact_id == people["ann"]


def test_a_slow_save_says_saving_and_a_second_click_starts_nothing(
    qtbot, page, services, monkeypatch
):
    _choose(qtbot, page, "Kitchen remodel")
    panel = page.panel
    release, calls = threading.Event(), []
    _held(monkeypatch, "update", release, calls)
    panel.title_edit.setText("Kitchen and bath")
    panel.save_button.click()
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)  # on the worker thread, held
    assert panel.result.text() == "Saving…" and page.is_loading
    for control in (panel.save_button, panel.delete_button, panel.title_edit,
                    panel.value_edit, panel.stage_edit):  # fmt: skip
        assert not control.isEnabled()
    assert not panel.save() and not panel.delete()  # Ctrl+S, a second click: nothing
    assert panel.open_contact_button.isEnabled()  # leaving the page stays possible
    with qtbot.waitSignal(panel.write_finished, timeout=5_000) as finished:
        release.set()
    assert finished.args == [True] and calls == [1]
    assert panel.result.text() == "Saved." and panel.save_button.isEnabled()
    wait_loaded(page)
    assert "Kitchen and bath" in _titles(page)


def test_a_failed_save_or_delete_says_why_and_keeps_what_was_typed(
    qtbot, page, services, monkeypatch
):
    _choose(qtbot, page, "Kitchen remodel")
    panel = page.panel

    def unreachable(self, opportunity_id, data):
        return Outcome.failure("The database could not be reached.")

    monkeypatch.setattr(OpportunitiesService, "update", unreachable)
    panel.title_edit.setText("Kitchen and bath")
    with qtbot.waitSignal(panel.write_finished, timeout=5_000) as finished:
        panel.save_button.click()
    assert finished.args == [False]
    assert panel.errors["title"].text() == "The database could not be reached."
    assert panel.title_edit.text() == "Kitchen and bath" and panel.title_edit.isEnabled()
    assert panel.save_button.isEnabled() and panel.delete_button.isEnabled()

    def broken(self, opportunity_id):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(OpportunitiesService, "delete", broken)
    with qtbot.waitSignal(panel.write_finished, timeout=5_000) as finished:
        panel.delete()
    assert finished.args == [False] and "disk on fire" in panel.result.text()
    assert panel.opportunity is not None and panel.save_button.isEnabled()
    assert panel.title_edit.text() == "Kitchen and bath"


def test_a_slow_new_opportunity_says_saving_and_a_refusal_keeps_the_form(
    qtbot, services, people, monkeypatch
):
    dialog = OpportunityDialog(OpportunitiesService(services), list(opportunities.DEFAULT_STAGES),
                               people["ann"], "Ann Lee")  # fmt: skip
    qtbot.addWidget(dialog)
    release, calls = threading.Event(), []
    _held(monkeypatch, "create", release, calls)
    dialog.title_edit.setText("Gutters")
    dialog.value_edit.setText("-5")
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    save.click()
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)
    assert dialog.status.text() == "Saving…" and dialog.is_saving
    assert not save.isEnabled() and not dialog.title_edit.isEnabled()
    assert not dialog.save()  # a second press starts nothing
    with qtbot.waitSignal(dialog.refused, timeout=5_000):
        release.set()
    assert calls == [1] and dialog.status.text() == ""
    assert dialog.errors["value"].isVisibleTo(dialog)
    assert (dialog.title_edit.text(), dialog.value_edit.text()) == ("Gutters", "-5")
    assert save.isEnabled() and dialog.title_edit.isEnabled()
    dialog.value_edit.setText("5")
    with qtbot.waitSignal(dialog.accepted, timeout=5_000):
        dialog.save()
    assert dialog.opportunity is not None and dialog.opportunity.title == "Gutters"


def test_a_save_still_running_when_the_page_goes_is_stored(qtbot, services, people, monkeypatch):
    _add(services, people["ann"], "Kitchen remodel")
    page = OpportunitiesPage(OpportunitiesService(services))
    wait_loaded(page)
    _choose(qtbot, page, "Kitchen remodel")
    release, calls = threading.Event(), []
    _held(monkeypatch, "update", release, calls)
    page.panel.stage_edit.setCurrentText("Won")
    page.panel.save()
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)
    page.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(page), timeout=5_000)
    release.set()

    def stored() -> bool:
        with services.db.read() as s:
            return opportunities.count_opportunities(s, stage="Won") == 1

    qtbot.waitUntil(stored, timeout=5_000)  # and the dropped answer painted nothing
