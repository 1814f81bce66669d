"""Opportunities in the window: add one, change its stage, filter by stage, see whether the
contact may be texted, and the Opportunities card on the contact page."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import make_page
from trustpager_desktop.core import opportunities
from trustpager_desktop.core.opportunities import OpportunityInput
from trustpager_desktop.ui.opportunities_page import OpportunitiesPage, OpportunityDialog
from trustpager_desktop.ui.theme import Tone, tone_of


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
    widget = OpportunitiesPage(services)
    qtbot.addWidget(widget)
    widget.resize(1000, 600)
    widget.show()
    return widget


def _titles(page) -> list[str]:
    return [page.model.row_data(r).title for r in range(page.model.rowCount())]


def test_a_new_opportunity_is_added_for_a_contact_found_by_number(
    qtbot, page, services, answer_dialog
):
    def fill(dialog: OpportunityDialog) -> None:
        dialog.title_edit.setText("Water heater")
        dialog.contact_search.setText("0101")
        dialog.find_contacts()
        dialog.value_edit.setText("$2,400")
        dialog.stage_edit.setCurrentText("Quote sent")
        dialog.save()

    seen = answer_dialog(fill)
    page.new_opportunity()
    assert seen
    assert _titles(page)[0] == "Water heater"
    assert page.panel.opportunity.title == "Water heater"
    assert (page.panel.contact.text(), page.panel.value_edit.text()) == ("Ann Lee", "2400.00")


def test_the_dialog_refuses_a_missing_contact_and_a_bad_value(qtbot, services, people):
    dialog = OpportunityDialog(services, list(opportunities.DEFAULT_STAGES))
    qtbot.addWidget(dialog)
    dialog.title_edit.setText("Gutters")
    assert not dialog.save()
    assert dialog.errors["contact"].isVisibleTo(dialog)
    dialog.contact_search.setText("Ann")
    dialog.find_contacts()
    dialog.value_edit.setText("lots")
    assert not dialog.save()
    assert "not an amount" in dialog.errors["value"].text()
    with services.db.read() as s:
        assert opportunities.count_opportunities(s) == 0  # nothing was added


def test_the_stage_is_changed_in_the_panel_and_the_filter_shows_one_stage(qtbot, page, services):
    page.table.selectRow(_titles(page).index("Kitchen remodel"))
    page.panel.stage_edit.setCurrentText("Negotiating")
    assert page.panel.save()
    with services.db.read() as s:
        assert [r.title for r in opportunities.list_opportunities(s, stage="Negotiating")] == [
            "Kitchen remodel"
        ]
    page.stage_filter.setCurrentIndex(page.stage_filter.findData("Won"))
    assert _titles(page) == ["Deck repair"]
    page.stage_filter.setCurrentIndex(page.stage_filter.findData("Lost"))
    assert page.empty_state.is_showing() and "No opportunities at stage 'Lost'" in (
        page.empty_state.text()
    )


def test_the_panel_shows_that_the_contact_opted_out(page):
    page.table.selectRow(_titles(page).index("Deck repair"))
    status = page.panel.sms_status
    assert status.text().startswith("Opted out since")
    assert tone_of(status) is Tone.WARNING
    page.table.selectRow(_titles(page).index("Kitchen remodel"))
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
