"""The Activity Log's service (issue 16 item 2): every read the page makes, as frozen
data, on SQLite and PostgreSQL: keyset pages over the whole log, the live poll above an
id, a text search's bounded slices, the filter choices, and verify and export with
progress and Cancel."""

from __future__ import annotations

import csv
import dataclasses

import pytest

from tests.support.contacts import add_contact
from tests.support.desktop import app_services
from tests.support.records import seed_log, tamper
from trustpager_desktop.core import activity_query, automations
from trustpager_desktop.core.activity_query import LogFilter
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.core.states import ActivityKind
from trustpager_desktop.usecases import activity as activity_service
from trustpager_desktop.usecases.activity import ActivityService

OPT_OUTS = LogFilter(kinds=(ActivityKind.OPT_OUT,))


def _service(db, clock) -> ActivityService:
    return ActivityService(app_services(db, clock))


def _walk(service: ActivityService, flt: LogFilter) -> list[int]:
    """Every id the page would show by scrolling to the end."""
    page = service.first_page(flt)
    ids = [e.id for e in page.entries]
    while page.next_before_id is not None:
        page = service.next_page(flt, page.next_before_id)
        ids += [e.id for e in page.entries]
    return ids


def test_pages_walk_the_whole_log_newest_first_as_frozen_data(db, clock):
    seed_log(db, clock, 450)
    service = _service(db, clock)
    first = service.first_page(LogFilter())
    assert len(first.entries) == 200 and first.newest_id == 450
    assert first.next_before_id == 251 and first.log_filter == LogFilter()
    assert isinstance(first.entries, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.next_before_id = None  # type: ignore[misc]
    assert _walk(service, LogFilter()) == list(range(450, 0, -1))
    assert _walk(service, OPT_OUTS) == list(range(449, 0, -2))  # even entries: ids 1, 3, …


def test_the_poll_brings_only_matching_entries_above_the_newest_seen(db, clock):
    seed_log(db, clock, 4)
    service = _service(db, clock)
    newest = service.first_page(OPT_OUTS).newest_id
    assert service.newer_than(OPT_OUTS, newest).entries == ()
    seed_log(db, clock, 3)  # entries 0 and 2 are opt-outs: ids 5 and 7
    fresh = service.newer_than(OPT_OUTS, newest)
    assert [e.id for e in fresh.entries] == [7, 5] and fresh.newest_id == 7
    assert not fresh.flooded
    again = service.newer_than(OPT_OUTS, fresh.newest_id)
    assert again.entries == () and again.newest_id == 7


def test_a_flood_of_new_entries_asks_for_a_fresh_read(db, clock, monkeypatch):
    monkeypatch.setattr(activity_service, "NEW_ENTRIES_MAX", 3)
    seed_log(db, clock, 5)
    assert _service(db, clock).newer_than(LogFilter(), 0).flooded


def test_a_text_search_skips_empty_slices_within_its_time_budget(db, clock, monkeypatch):
    monkeypatch.setattr(activity_query, "TEXT_SCAN_LIMIT", 5)
    seed_log(db, clock, 40)
    service = _service(db, clock)
    flt = LogFilter(text="entry 3")
    first = service.first_page(flt)  # ids 36..40: entries 35..39
    assert [e.summary for e in first.entries] == [f"entry {n}" for n in range(39, 34, -1)]
    second = service.next_page(flt, first.next_before_id)  # entries 30..34
    assert len(second.entries) == 5
    # Entries 25..29 hold no "3": within the budget that slice is passed over.
    third = service.next_page(flt, second.next_before_id)
    assert [e.summary for e in third.entries] == ["entry 23"]
    monkeypatch.setattr(activity_service, "FETCH_TIME_BUDGET_S", 0)
    hurried = service.next_page(flt, second.next_before_id)
    assert hurried.entries == () and hurried.next_before_id is not None  # not the end


def test_filter_choices_and_contact_search(db, clock):
    with db.write() as s:
        for name in ("Reminders", "Follow-up"):
            automations.create_automation(
                s, AutomationInput(name, [StepInput("send_sms", template="Hi")]), clock=clock
            )
    ann = add_contact(db, clock, "Ann", "Lee", phone="+14155550101")
    add_contact(db, clock, "Bob", "Ray", phone="+14155550102")
    service = _service(db, clock)
    assert [c.name for c in service.automations()] == ["Follow-up", "Reminders"]
    # not a state: the Kind filter's key (core.activity_query.KIND_CHOICES)
    assert "opt_out" in [k.key for k in service.kinds]
    found = service.find_contacts("  lee ")
    assert found.query == "lee" and [(c.id, c.name) for c in found.contacts] == [(ann, "Ann Lee")]
    assert found.contacts[0].phone_display
    assert service.find_contacts("   ").contacts == ()


def test_verify_reports_progress_and_names_tampering(db, clock):
    seed_log(db, clock, 6)
    service = _service(db, clock)
    seen: list[tuple[int, int | None]] = []
    report = service.verify(
        full=True, progress=lambda done, total: seen.append((done, total)) or True
    )
    assert report.ok and "6 entries verified" in report.describe() and seen
    tamper(db, "UPDATE activity_log SET summary = 'nothing' WHERE id = 4")
    report = service.verify()
    assert not report.ok and "altered at entry 4" in report.describe()
    with pytest.raises(Cancelled):
        service.verify(full=True, progress=lambda _done, _total: False)


def test_export_writes_the_filter_and_names_the_log_head(db, clock, tmp_path):
    seed_log(db, clock, 8)
    service = _service(db, clock)
    path = tmp_path / "log.csv"
    result = service.export(LogFilter(kinds=(ActivityKind.MANUAL_SEND,)), path)
    assert result.count == 4
    assert result.describe().startswith(f"Exported 4 entries to {path}. Log head: entry #8, hash ")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        assert {r["kind"] for r in csv.DictReader(handle)} == {ActivityKind.MANUAL_SEND}
    with pytest.raises(Cancelled):
        service.export(LogFilter(), tmp_path / "stopped.csv", lambda _done, _total: False)
    assert not (tmp_path / "stopped.csv").exists()
