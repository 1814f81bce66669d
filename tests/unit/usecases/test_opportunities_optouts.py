"""The Opportunities and Opt-outs services: plain frozen data out, one Outcome for every
write, the one consent state on the panel, and the change topics each write publishes."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.contacts import add_contact
from tests.support.desktop import MemoryTokenStore
from trustpager_desktop.core import consent
from trustpager_desktop.core.opportunities import OpportunityInput
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.services import AppServices
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.opportunities import OpportunitiesService, OpportunityFilter
from trustpager_desktop.usecases.optouts import OptOutsService


def _app(db, clock) -> AppServices:
    return AppServices(db, clock=clock, tokens=MemoryTokenStore())


def _heard(app: AppServices) -> list[frozenset[str]]:
    heard: list[frozenset[str]] = []
    app.changes.subscribe(heard.append)
    return heard


def test_opportunities_are_listed_a_page_at_a_time_with_the_count_and_stages(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    service = OpportunitiesService(_app(db, clock))
    for n in range(5):
        service.create(OpportunityInput(f"Job {n}", ann, "10", "Won" if n % 2 else "Custom"))
    first = service.first_page(OpportunityFilter(stage="Won"), limit=1)
    assert first.total == 2 and len(first.rows) == 1
    assert first.stages[-1] == "Custom"  # the pipeline, then stages in use
    rest = service.rows(OpportunityFilter(stage="Won"), offset=1, limit=10)
    assert [r.stage for r in rest] == ["Won"] and rest[0].id != first.rows[0].id
    assert service.count(OpportunityFilter(query="job 3")) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.total = 0  # type: ignore[misc]
    assert isinstance(first.rows, tuple)


def test_the_panel_gets_the_contacts_one_consent_state(db, clock):
    olga = add_contact(db, clock, "Olga", "Out", phone="+14155550198", opted_out=True)
    service = OpportunitiesService(_app(db, clock))
    made = service.create(OpportunityInput("Deck", olga)).unwrap()
    detail = service.opportunity(made.id).unwrap()
    with db.read() as s:
        assert detail.consent == consent.contact_consent_state(s, olga)
    assert detail.consent is not None and detail.consent.opted_out
    assert detail.opportunity.title == "Deck" and "New lead" in detail.stages


def test_opportunity_writes_are_outcomes_and_publish_what_changed(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    app = _app(db, clock)
    heard = _heard(app)
    here, there = OpportunitiesService(app), OpportunitiesService(_app(db, clock))
    refused = here.create(OpportunityInput("Gutters", ann, "lots"))
    assert not refused.ok and refused.field == "value" and "not an amount" in refused.message
    no_contact = here.create(OpportunityInput("Gutters", ann + 99))
    assert no_contact.gone and not no_contact.ok
    made = here.create(OpportunityInput("Gutters", ann, "$1,200")).unwrap()
    changed = here.update(made.id, OpportunityInput("Gutters", ann, "1300", "Won")).unwrap()
    assert (changed.stage, changed.value_text) == ("Won", "$1,300.00")
    assert there.delete(made.id).ok
    for outcome in (here.delete(made.id), here.update(made.id, OpportunityInput("X", ann)),
                    here.opportunity(made.id)):  # fmt: skip
        assert outcome.gone and "no longer exists" in outcome.message
    changes = frozenset({topic.OPPORTUNITIES, topic.ACTIVITY})
    # the refused value said nothing; a gone contact, create, update and a second delete did
    assert heard == [changes] * 5


def test_the_dialog_finds_contacts_by_name_or_number(db, clock):
    ann = add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    add_contact(db, clock, "Bob", "Ray", phone="+14155550102")
    service = OpportunitiesService(_app(db, clock))
    assert [c.id for c in service.find_contacts("0101")] == [ann]
    assert [c.name for c in service.find_contacts(" ann ")] == ["Ann Lee"]


LIST = "Phone\n(415) 555-0101\n415 555 0190\nnot a number\n"


def test_a_dnc_file_is_checked_then_imported_by_the_actor_and_published(db, clock, tmp_path):
    ann = add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    path = tmp_path / "dnc.csv"
    path.write_text(LIST, encoding="utf-8")
    app = _app(db, clock)
    heard = _heard(app)
    service = OptOutsService(app)
    plan = service.read_file(path).unwrap()
    assert len(plan.numbers) == 2 and [line for line, _why in plan.problems] == [4]
    assert service.rows() == ()  # checking wrote nothing

    refused = service.import_list(path, mode="all_or_nothing", plan=plan).unwrap()
    assert refused.refused and service.rows() == () and heard == []

    progress: list[int] = []
    done = service.import_list(
        path, mode="good_rows", plan=plan, progress=lambda n, _t: progress.append(n) or True
    ).unwrap()
    assert done.new == 2 and progress
    assert heard == [frozenset({topic.CONTACTS, topic.ACTIVITY})]
    rows = sorted(service.rows(), key=lambda r: r.number)
    assert [(r.number, list(r.contacts)) for r in rows] == [
        ("+14155550101", ["Ann Lee"]), ("+14155550190", [])]  # fmt: skip
    with db.read() as s:
        assert consent.contact_consent_state(s, ann).opted_out


def test_a_cancelled_dnc_import_changes_nothing(db, clock, tmp_path):
    path = tmp_path / "dnc.csv"
    path.write_text(LIST, encoding="utf-8")
    service = OptOutsService(_app(db, clock))
    with pytest.raises(Cancelled):
        service.import_list(path, mode="good_rows", progress=lambda _n, _t: False)
    assert service.rows() == ()


def test_an_unreadable_dnc_file_is_a_refusal_not_an_error(db, clock, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    outcome = OptOutsService(_app(db, clock)).read_file(path)
    assert not outcome.ok and outcome.message


def test_the_opt_out_list_is_exported(db, clock, tmp_path):
    add_contact(db, clock, "Ann", "Lee", phone="+14155550101", opted_out=True)
    target = tmp_path / "opt-outs.csv"
    assert OptOutsService(_app(db, clock)).export(target).unwrap() == 1
    assert "+14155550101" in target.read_text(encoding="utf-8")
