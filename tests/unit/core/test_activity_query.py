"""Filters, search and keyset paging over the activity log (SQLite and PostgreSQL)."""

from datetime import timedelta

import pytest

from tests.support.records import seed_log
from trustpager_desktop.core import activity
from trustpager_desktop.core.activity_query import (
    LogFilter,
    count_entries,
    details_lines,
    get_entry,
    iter_entries,
    newer_entries,
    query_entries,
)
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.states import ActivityKind


def _ids(page):
    return [e.id for e in page.entries]


def test_unfiltered_pages_are_newest_first_without_gaps_or_duplicates(db, clock):
    seed_log(db, clock, 23)
    seen, cursor = [], None
    with db.read() as s:
        while True:
            page = query_entries(s, before_id=cursor, limit=5)
            seen.extend(_ids(page))
            if page.next_before_id is None:
                break
            cursor = page.next_before_id
    assert seen == list(range(23, 0, -1))


def test_kind_contact_and_automation_filters_pick_the_right_entries(db, clock):
    seed_log(
        db,
        clock,
        20,
        kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND),
        contact_ids=(1, 2, 3, 4),
    )
    with db.read() as s:
        opt_outs = query_entries(s, LogFilter(kinds=(ActivityKind.OPT_OUT,)), limit=100).entries
        contact_2 = query_entries(s, LogFilter(contact_id=2), limit=100).entries
        both = query_entries(
            s, LogFilter(kinds=(ActivityKind.MANUAL_SEND,), contact_id=2), limit=100
        )
        automation = query_entries(s, LogFilter(automation_id=7), limit=100).entries
        assert count_entries(s, LogFilter(kinds=(ActivityKind.OPT_OUT,))) == 10
    assert [e.summary for e in opt_outs] == [f"entry {i}" for i in range(18, -1, -2)]
    assert {e.contact_id for e in contact_2} == {2} and len(contact_2) == 5
    assert [e.summary for e in both.entries] == [
        "entry 17",
        "entry 13",
        "entry 9",
        "entry 5",
        "entry 1",
    ]
    assert [e.summary for e in automation] == ["entry 15", "entry 10", "entry 5", "entry 0"]


def test_date_range_is_inclusive_start_exclusive_end(db, clock):
    start = clock.now()
    seed_log(db, clock, 10)  # entries at start+1 .. start+10 minutes
    flt = LogFilter(since=start + timedelta(minutes=3), until=start + timedelta(minutes=6))
    with db.read() as s:
        entries = query_entries(s, flt).entries
    assert [e.summary for e in entries] == ["entry 4", "entry 3", "entry 2"]


def test_free_text_search_matches_summary_name_and_details_in_any_case(db, clock):
    with db.write() as s:
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.STOP_REPLY, summary="Reply STOP received", actor="Inbox"
            ),
            clock=clock,
        )
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.OPT_OUT, summary="x", actor="t", contact_name="Zoë Quist"
            ),
            clock=clock,
        )
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.SEND_FAILED,
                summary="y",
                actor="t",
                details={"error": "Twilio 21610 100%_x"},
            ),
            clock=clock,
        )
    with db.read() as s:
        assert [e.id for e in query_entries(s, LogFilter(text="stop reply")).entries] == [1]
        assert [e.id for e in query_entries(s, LogFilter(text="ZOË")).entries] in ([2], [])
        assert [e.id for e in query_entries(s, LogFilter(text="quist")).entries] == [2]
        assert [e.id for e in query_entries(s, LogFilter(text="21610")).entries] == [3]
        # LIKE wildcards in the search are literal characters
        assert [e.id for e in query_entries(s, LogFilter(text="100%_x")).entries] == [3]
        assert query_entries(s, LogFilter(text="1%x")).entries == []


def test_text_search_scans_a_bounded_slice_and_hands_back_a_cursor(db, clock):
    seed_log(db, clock, 30)
    found, cursor, calls = [], None, 0
    with db.read() as s:
        while True:
            page = query_entries(s, LogFilter(text="entry 2"), before_id=cursor, scan_limit=8)
            calls += 1
            found.extend(e.summary for e in page.entries)
            if page.next_before_id is None:
                break
            cursor = page.next_before_id
        assert [e.summary for e in iter_entries(s, LogFilter(text="entry 2"))] == found
    # every word must match: "entry" and "2"
    assert found == [f"entry {i}" for i in range(29, -1, -1) if "2" in str(i)]
    assert calls == 4  # 30 ids, 8 per scan


def test_newer_entries_are_only_those_above_the_last_seen(db, clock):
    seed_log(db, clock, 5, kinds=(ActivityKind.OPT_OUT, ActivityKind.MANUAL_SEND))
    with db.read() as s:
        assert [e.id for e in newer_entries(s, LogFilter(kinds=(ActivityKind.OPT_OUT,)), 2)] == [
            5,
            3,
        ]
        assert [e.id for e in newer_entries(s, None, 2, up_to_id=4)] == [4, 3]


def test_get_entry_and_details_lines_show_the_whole_record(db, clock):
    with db.write() as s:
        activity.append(
            s,
            activity.LogEntry(
                kind=ActivityKind.RE_CONSENT,
                summary="Re-consent recorded",
                actor="Office",
                contact_id=4,
                contact_name="Ann <b>Lee</b>",
                details={"method": "verbal", "note": "Called us", "message_sid": None},
            ),
            clock=clock,
        )
    with db.read() as s:
        view = get_entry(s, 1)
        with pytest.raises(NotFoundError):
            get_entry(s, 99)
    lines = details_lines(view)
    assert "Contact: Ann <b>Lee</b> (id 4)" in lines
    assert "How consent was given: Verbal" in lines and "Note: Called us" in lines
    assert not any(line.startswith("Twilio message SID") for line in lines)  # empty: left out


def test_a_filter_refuses_naive_or_reversed_dates(clock):
    with pytest.raises(UserInputError):
        LogFilter(since=clock.now().replace(tzinfo=None))
    with pytest.raises(UserInputError, match="before the end"):
        LogFilter(since=clock.now(), until=clock.now() - timedelta(days=1))
