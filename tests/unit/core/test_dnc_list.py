"""Do-not-contact list import (issue 15 item 2): a bare list of numbers opts out every
contact with a listed number and holds every unknown one, all or nothing, once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.support.records import add_contact, opt_out, write_csv
from trustpager_desktop.core import consent, dnc_list, exports, optout_audit
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.models import (
    ActivityEntry,
    ConsentEvent,
    Contact,
    NumberSuppression,
)

ANN, BOB, CY, NEW1, NEW2 = (
    "+14155550101", "+14155550102", "+14155550103", "+14155550180", "+14155550181",
)  # fmt: skip
LIST = "Do not contact\n(415) 555-0101\n+1 415 555 0180\n\n415.555.0181\n4155550101\n"


def _import(db, clock, path, **kw):
    return dnc_list.import_dnc_list(db, path, actor="Maria", clock=clock, **kw)


def _counts(db) -> tuple[int, int, int, int]:
    """Log entries, consent events, held numbers, opted-out contacts."""
    with db.read() as s:
        return (
            s.scalar(select(func.count()).select_from(ActivityEntry)),
            s.scalar(select(func.count()).select_from(ConsentEvent)),
            s.scalar(select(func.count()).where(NumberSuppression.lifted_at.is_(None))),
            s.scalar(select(func.count()).where(Contact.sms_opted_out.is_(True))),
        )


def test_a_bare_list_in_any_format_is_read_with_or_without_a_header(tmp_path):
    plan = dnc_list.read_dnc_file(write_csv(tmp_path, LIST, "dnc.csv"))
    assert plan.header == "Do not contact"
    assert plan.numbers == {ANN: 2, NEW1: 3, NEW2: 5}  # the first line each is listed on
    assert plan.repeated == 1 and plan.problems == []
    bare = dnc_list.read_dnc_file(write_csv(tmp_path, "\ufeff020 7946 0000\r\n", "gb.txt"), "GB")
    assert bare.header is None and list(bare.numbers) == ["+442079460000"]
    quoted = dnc_list.read_dnc_file(write_csv(tmp_path, 'phone,\n"(415) 555-0101",\n', "q.csv"))
    assert list(quoted.numbers) == [ANN]  # a spreadsheet's empty second column is no column


def test_bad_rows_are_reported_by_line_with_the_reason(tmp_path):
    path = write_csv(tmp_path, "Phone\n415 555 0101\n12\nAnn Lee,415 555 0102\n", "dnc.csv")
    plan = dnc_list.read_dnc_file(path)
    assert plan.problems == [
        (3, "'12' is not a valid phone number for US: check the digits and the country code."),
        (4, "more than one column (Ann Lee, 415 555 0102): a do-not-contact list has one "
            "phone number per line"),
    ]  # fmt: skip
    assert "2 bad rows: nothing will be imported" in plan.describe()


def test_contacts_with_a_listed_number_are_opted_out_and_unknown_numbers_held(db, clock, tmp_path):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    twin = add_contact(db, clock, "Ann's husband", phone=ANN)
    bob = add_contact(db, clock, "Bob", phone=BOB)
    outcome = _import(db, clock, write_csv(tmp_path, LIST, "dnc.csv"))
    assert outcome.describe() == (
        "Opted out 2 contacts, suppressed 2 numbers, 0 already opted out, 0 bad rows "
        "(do-not-contact list dnc.csv)."
    )
    source = "do-not-contact list dnc.csv, imported by Maria"
    with db.read() as s:
        states = consent.contact_states(s, [ann, twin, bob])
        assert [states[c].opted_out for c in (ann, twin, bob)] == [True, True, False]
        events = s.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        entries = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.OPT_OUT)
        ).all()
        summary = s.scalars(
            select(ActivityEntry).where(ActivityEntry.kind == ActivityKind.IMPORT)
        ).one()
        assert optout_audit.audit(s).mismatches == []  # the proof rebuilds the same state
    assert [(e.contact_id, e.phone_e164) for e in events] == [
        (ann, ANN), (twin, ANN), (None, NEW1), (None, NEW2)]  # fmt: skip
    assert {(e.source, e.evidence, e.actor) for e in events} == {
        (ConsentSource.DNC_LIST, source, "Maria")
    }
    assert [e.summary for e in entries] == [
        f"Opted out of SMS by {source}",
        f"Opted out of SMS by {source}",
        f"Number {NEW1} opted out by {source} (no contact has this number yet)",
        f"Number {NEW2} opted out by {source} (no contact has this number yet)",
    ]
    assert {e.actor for e in entries} == {"Maria"} and summary.actor == "Maria"
    assert "2 contacts opted out, 2 numbers suppressed" in summary.summary

    # A contact added later with a listed number starts opted out: the number is held.
    later = add_contact(db, clock, "Newcomer", phone=NEW1)
    with db.read() as s:
        assert not consent.may_automation_text(s, later, NEW1).allowed
        assert consent.contact_consent_state(s, later).opted_out


def test_reimporting_the_same_list_changes_nothing(db, clock, tmp_path):
    add_contact(db, clock, "Ann", phone=ANN)
    path = write_csv(tmp_path, LIST, "dnc.csv")
    _import(db, clock, path)
    before = _counts(db)
    again = _import(db, clock, path)
    assert (again.new, again.already) == (0, 3)
    assert again.describe() == (
        "0 new from the do-not-contact list dnc.csv: 3 already opted out, 0 bad rows."
    )
    assert _counts(db) == before  # no log entry, no consent event, nothing held anew


def test_one_bad_row_imports_nothing_unless_good_rows_is_asked(db, clock, tmp_path):
    add_contact(db, clock, "Ann", phone=ANN)
    path = write_csv(tmp_path, LIST + "555-01\n", "dnc.csv")
    before = _counts(db)
    refused = _import(db, clock, path)
    assert refused.refused and refused.bad_rows[0][0] == 7
    assert refused.describe().startswith("Nothing was imported from dnc.csv: 1 bad row.")
    assert _counts(db) == before
    good = _import(db, clock, path, mode="good_rows")
    assert (good.contacts_opted_out, good.numbers_suppressed, len(good.bad_rows)) == (1, 2, 1)
    with db.read() as s:
        details = s.scalars(
            select(ActivityEntry.details).where(ActivityEntry.kind == ActivityKind.IMPORT)
        )
        assert '"bad_lines":[7]' in details.one()


def test_numbers_already_opted_out_count_as_already_and_get_held(db, clock, tmp_path):
    ann = add_contact(db, clock, "Ann", phone=ANN)
    opt_out(db, clock, ann)  # by hand: the contact, not the number
    path = write_csv(tmp_path, "415 555 0101\n", "dnc.csv")
    entries, events, held, _ = _counts(db)
    outcome = _import(db, clock, path)
    assert (outcome.new, outcome.already) == (0, 1)
    assert _counts(db)[:3] == (entries, events, held + 1)  # held, quietly: nothing new to say
    later = add_contact(db, clock, "Ann again", phone=ANN)
    with db.read() as s:
        assert consent.contact_consent_state(s, later).opted_out


def test_a_dry_run_counts_exactly_and_changes_nothing(db, clock, tmp_path):
    add_contact(db, clock, "Ann", phone=ANN)
    add_contact(db, clock, "Cy", phone=CY)
    opt_out(db, clock, add_contact(db, clock, "Bob", phone=BOB))
    path = write_csv(tmp_path, f"{ANN}\n{BOB}\n{CY}\n{NEW1}\n", "dnc.csv")
    before = _counts(db)
    dry = _import(db, clock, path, dry_run=True)
    assert _counts(db) == before
    assert "dry run, nothing changed" in dry.describe()
    real = _import(db, clock, path)
    counted = ("contacts_opted_out", "numbers_suppressed", "already")
    assert [getattr(dry, n) for n in counted] == [getattr(real, n) for n in counted] == [2, 1, 1]


def test_a_cancelled_import_changes_nothing(db, clock, tmp_path, monkeypatch):
    monkeypatch.setattr(dnc_list, "BATCH", 5)
    add_contact(db, clock, "Ann", "+14155550001")
    path = write_csv(tmp_path, "".join(f"+1415555{i:04d}\n" for i in range(1, 21)), "dnc.csv")
    before = _counts(db)
    with pytest.raises(Cancelled):
        _import(db, clock, path, progress=lambda done, total: done < 10)
    assert _counts(db) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"Phone numbers\n\n", "no phone numbers"),
        ("Tel\n415 555 0101\nJos\xe9\n".encode("cp1252"), "not UTF-8 text"),
        (b'"415 555 0101\n415 555 0102\n', "quoting is unbalanced"),
        ("415 555 0101\n".encode("utf-16"), "NUL bytes"),
    ],
)
def test_unusable_files_get_a_clear_error_and_change_nothing(db, clock, tmp_path, content, message):
    before = _counts(db)
    with pytest.raises(UserInputError, match=message):
        _import(db, clock, write_csv(tmp_path, content, "dnc.csv"))
    assert _counts(db) == before


def test_an_unknown_mode_is_refused(db, clock, tmp_path):
    with pytest.raises(UserInputError, match="Unknown import mode"):
        _import(db, clock, write_csv(tmp_path, "415 555 0101\n"), mode="some")


def test_the_opt_out_export_of_another_database_imports_as_it_is(db, clock, tmp_path):
    add_contact(db, clock, "Ann", phone=ANN)
    _import(db, clock, write_csv(tmp_path, LIST, "dnc.csv"))
    with db.read() as s:
        exports.export_optouts(s, tmp_path / "optouts.csv")
    plan = dnc_list.read_dnc_file(tmp_path / "optouts.csv")  # '+1… cells, several columns
    assert sorted(plan.numbers) == [ANN, NEW1, NEW2] and plan.problems == []
    with pytest.raises(UserInputError, match="none is called 'number' or 'phone'"):
        dnc_list.read_dnc_file(write_csv(tmp_path, "name,company\nAnn,Acme\n", "c.csv"))
