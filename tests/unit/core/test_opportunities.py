"""Opportunities: add one for a contact, change its stage, list by stage, readable values."""

from decimal import Decimal

import pytest

from tests.support.contacts import add_contact
from trustpager_desktop.core import activity_query, opportunities
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.opportunities import OpportunityInput


@pytest.fixture
def ann(db, clock):
    return add_contact(db, clock, "Ann", "Lee", phone="+14155550101")


def test_an_opportunity_is_added_changed_and_noted_on_the_contact(db, clock, ann):
    with db.write() as s:
        made = opportunities.create_opportunity(
            s, OpportunityInput("Kitchen remodel", ann, "$1,250.5", "New lead"), actor="Maria",
            clock=clock,
        )  # fmt: skip
    assert (made.title, made.value, made.stage, made.contact_name) == (
        "Kitchen remodel", Decimal("1250.50"), "New lead", "Ann Lee",
    )  # fmt: skip
    with db.write() as s:
        changed = opportunities.update_opportunity(
            s, made.id, OpportunityInput("Kitchen remodel", ann, "1300", "Quote sent"),
            actor="Maria", clock=clock,
        )  # fmt: skip
    assert (changed.stage, changed.value_text) == ("Quote sent", "$1,300.00")
    with db.read() as s:
        notes = [e.summary for e in activity_query.query_entries(s).entries]
    change = "Opportunity Kitchen remodel changed: stage New lead → Quote sent, value $1,250.50 → $1,300.00"
    assert change in notes
    assert any(n.startswith("Opportunity added: Kitchen remodel") for n in notes)


def test_the_list_filters_by_stage_and_contact_and_knows_every_stage(db, clock, ann):
    bob = add_contact(db, clock, "Bob", phone="+14155550102")
    with db.write() as s:
        for title, who, stage in (("A", ann, "Won"), ("B", bob, "Won"), ("C", ann, "On hold")):
            opportunities.create_opportunity(
                s, OpportunityInput(title, who, "10", stage), actor="t", clock=clock
            )
    with db.read() as s:
        assert {r.title for r in opportunities.list_opportunities(s, stage="Won")} == {"A", "B"}
        assert {r.title for r in opportunities.list_opportunities(s, contact_id=ann)} == {"A", "C"}
        assert opportunities.count_opportunities(s, stage="Won") == 2
        assert opportunities.stages(s) == [*opportunities.DEFAULT_STAGES, "On hold"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (OpportunityInput("", 0, "10"), "title"),
        (OpportunityInput("Deck", 0, "ten dollars"), "value"),
        (OpportunityInput("Deck", 0, "-5"), "value"),
        (OpportunityInput("Deck", 0, "10", ""), "stage"),
        (OpportunityInput("Deck\nrepair", 0, "10"), "title"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_added(db, clock, ann, data, field):
    data = OpportunityInput(data.title, ann, data.value, data.stage)
    with pytest.raises(UserInputError) as refused, db.write() as s:
        opportunities.create_opportunity(s, data, actor="t", clock=clock)
    assert refused.value.field == field
    with db.read() as s:
        assert opportunities.count_opportunities(s) == 0


def test_changing_an_opportunity_deleted_elsewhere_says_so(db, clock, ann):
    with pytest.raises(NotFoundError), db.write() as s:
        opportunities.update_opportunity(
            s, 999, OpportunityInput("X", ann, "1"), actor="t", clock=clock
        )


def test_the_list_finds_a_title_or_a_contact_name_and_counts_the_same(db, clock, ann):
    bob = add_contact(db, clock, "Bob", "Ray", phone="+14155550102")
    with db.write() as s:
        for title, contact in (("Kitchen 100%", ann), ("Deck", ann), ("Roof", bob)):
            opportunities.create_opportunity(
                s, OpportunityInput(title, contact), actor="t", clock=clock
            )
    with db.read() as s:

        def found(query: str, stage: str | None = None) -> list[str]:
            rows = opportunities.list_opportunities(s, query=query, stage=stage)
            assert opportunities.count_opportunities(s, stage, query) == len(rows)
            return sorted(r.title for r in rows)

        assert found("kitchen") == ["Kitchen 100%"]
        assert found("ann lee") == ["Deck", "Kitchen 100%"]
        assert found("RAY") == ["Roof"]
        assert found("0%") == ["Kitchen 100%"]  # % is a character, not a wildcard
        assert found("_") == []
        assert found("ann", stage="Won") == []
        assert found("") == ["Deck", "Kitchen 100%", "Roof"]


def test_deleting_an_opportunity_is_noted_and_a_second_delete_says_it_is_gone(db, clock, ann):
    with db.write() as s:
        made = opportunities.create_opportunity(
            s, OpportunityInput("Fence", ann, "80", "Won"), actor="t", clock=clock
        )
    with db.write() as s:
        opportunities.delete_opportunity(s, made.id, actor="Maria", clock=clock)
    with db.read() as s:
        assert opportunities.count_opportunities(s) == 0
        notes = [e.summary for e in activity_query.query_entries(s).entries]
    assert "Opportunity deleted: Fence (Won, $80.00)" in notes
    with pytest.raises(NotFoundError), db.write() as s:
        opportunities.delete_opportunity(s, made.id, actor="Maria", clock=clock)
