"""Contact import: line-numbered problems, all-or-nothing vs good rows, file errors."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.support.contacts import add_contact
from tests.support.records import write_csv
from trustpager_desktop.core import contacts, exports, imports
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.progress import Cancelled
from trustpager_desktop.core.states import ConsentSource
from trustpager_desktop.store.models import ActivityEntry, ConsentEvent, Contact

MIXED = (
    "Name,Company,E-mail,Phone,SMS opt-out\n"
    "Ann Lee,Acme,ann@example.com,(415) 555-0101,no\n"
    "Bob,,not-an-email,415 555 0102,no\n"
    "Cy Young,,,415 555 0103,maybe\n"
    "Di Moss,,,415 555 0104,yes\n"
    "Ed Ray,,,(415) 555-0101,no\n"
)


def _import(db, clock, path, mode="all_or_nothing", **kw):
    return imports.import_contacts_csv(db, path, mode=mode, actor="Test", clock=clock, **kw)


def _count(db, model=Contact):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_all_or_nothing_adds_nothing_and_lists_every_bad_row_by_line(db, clock, tmp_path):
    report = _import(db, clock, write_csv(tmp_path, MIXED))
    assert report.refused and report.added == 0
    assert [line for line, _ in report.skipped_rows] == [3, 4, 6]
    reasons = dict(report.skipped_rows)
    assert "not an email" in reasons[3]
    assert "maybe" in reasons[4]
    assert "same phone number as line 2" in reasons[6]
    assert _count(db) == 0 and _count(db, ActivityEntry) == 0


def test_good_rows_mode_adds_the_good_ones_and_records_import_opt_outs(db, clock, tmp_path):
    report = _import(db, clock, write_csv(tmp_path, MIXED, "spring list.csv"), mode="good_rows")
    assert (report.added, report.opted_out, report.refused) == (2, 1, False)
    assert len(report.skipped_rows) == 3
    with db.read() as s:
        names = [r.name for r in contacts.search_contacts(s)]
        event = s.scalar(select(ConsentEvent))
        di = s.scalar(select(Contact).where(Contact.first_name == "Di"))
    assert names == ["Ann Lee", "Di Moss"]
    assert di.sms_opted_out and di.sms_opt_out_source == ConsentSource.IMPORT
    assert event.source == ConsentSource.IMPORT and "spring list.csv" in event.evidence


def test_rows_clashing_with_existing_contacts_are_reported(db, clock, tmp_path):
    add_contact(db, clock, "Ann", phone="+14155550101")
    report = _import(db, clock, write_csv(tmp_path, "name,phone\nAnn Again,415 555 0101\n"))
    assert report.refused
    assert report.skipped_rows == [
        (2, "a contact with this phone number already exists: Ann (id 1)")
    ]


def test_export_then_import_round_trips_contacts(db, clock, tmp_path):
    add_contact(db, clock, "Ann", "Lee", phone="+1 415 555 0101")
    add_contact(db, clock, "-Dash", "Zoë", phone="")
    with db.write() as s:
        c = s.get(Contact, 1)
        c.company, c.email = "=Formula Co", "ann@example.com"
    path = tmp_path / "contacts.csv"
    with db.read() as s:
        exports.export_contacts(s, path)
        before = [
            (c.first_name, c.last_name, c.company, c.email, c.phone_e164)
            for c in s.scalars(select(Contact).order_by(Contact.id))
        ]
    with db.engine.begin() as conn:  # empty the contacts table for the re-import
        conn.execute(Contact.__table__.delete())
    report = _import(db, clock, path)
    assert report.added == 2 and not report.skipped_rows
    with db.read() as s:
        after = [
            (c.first_name, c.last_name, c.company, c.email, c.phone_e164)
            for c in s.scalars(select(Contact).order_by(Contact.id))
        ]
    assert after == before


def test_formula_cells_are_stored_as_literal_text(db, clock, tmp_path):
    path = write_csv(tmp_path, 'first_name,last_name,company\n=1+2,"@SUM(A1)",+cmd|calc\n')
    assert _import(db, clock, path).added == 1
    with db.read() as s:
        c = s.scalar(select(Contact))
    assert (c.first_name, c.last_name, c.company) == ("=1+2", "@SUM(A1)", "+cmd|calc")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"name,phone\n", "no contacts"),
        (b"company,phone\nAcme,4155550101\n", "needs a name column"),
        ("name\nJos\xe9\n".encode("cp1252"), "not UTF-8 text"),
        (b"name\nA\x00n\n", "NUL bytes"),
        ("name\nAnn\n".encode("utf-16"), "NUL bytes"),
    ],
)
def test_unusable_files_get_a_clear_error_and_change_nothing(db, clock, tmp_path, content, message):
    with pytest.raises(UserInputError, match=message):
        _import(db, clock, write_csv(tmp_path, content))
    assert _count(db) == 0


def test_a_bom_and_semicolons_are_understood(db, clock, tmp_path):
    path = write_csv(tmp_path, "\ufeffFirst Name;Last Name;Mobile\nJosé;Núñez;415 555 0101\n")
    assert _import(db, clock, path).added == 1
    with db.read() as s:
        assert s.scalar(select(Contact.last_name)) == "Núñez"


def test_too_big_files_are_refused(db, clock, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 10)
    with pytest.raises(UserInputError, match="too big"):
        _import(db, clock, write_csv(tmp_path, "name\nAnn Lee\n"))


def test_line_numbers_count_multi_line_cells(db, clock, tmp_path):
    path = write_csv(tmp_path, 'name,company\n"Ann","two\nlines"\n"",x\n')
    report = _import(db, clock, path, mode="good_rows")
    assert report.skipped_rows == [(4, "First name is required.")]


def test_a_cancelled_import_adds_nothing(db, clock, tmp_path, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 5)
    rows = "".join(f"Person {i},+1415555{i:04d}\n" for i in range(20))
    path = write_csv(tmp_path, "name,phone\n" + rows)
    with pytest.raises(Cancelled):
        _import(db, clock, path, progress=lambda done, total: done < 10)
    assert _count(db) == 0 and _count(db, ActivityEntry) == 0


# --- opt-out columns under other CRMs' names, folded rows, the count before importing ---


@pytest.mark.parametrize(
    "header",
    ["Do Not Text", "Unsubscribed", "DNC", "opted_out", "optout", "sms_optout", "SMS Opt-Out",
     "do-not-text", " Opted Out "],
)  # fmt: skip
def test_the_opt_out_column_is_found_under_other_crms_names(db, clock, tmp_path, header):
    path = write_csv(tmp_path, f"name,phone,{header}\nAnn,415 555 0101,yes\nBob,415 555 0102,\n")
    plan = imports.read_import_file(path)
    assert plan.opt_out_columns == [header.strip()]
    assert f"Opt-outs read from the column '{header.strip()}'" in plan.describe()
    report = _import(db, clock, path)
    assert (report.added, report.opted_out) == (2, 1)
    assert f"1 of them opted out of SMS (column '{header.strip()}')" in report.describe()
    with db.read() as s:
        opted = {n: o for n, o in s.execute(select(Contact.first_name, Contact.sms_opted_out))}
    assert opted == {"Ann": True, "Bob": False}


def test_any_of_several_opt_out_columns_opts_out(db, clock, tmp_path):
    path = write_csv(tmp_path, "name,DNC,Unsubscribed\nAnn,,TRUE\nBob,x,\nCy,no,false\n")
    plan = imports.read_import_file(path)
    assert plan.opt_out_columns == ["DNC", "Unsubscribed"] and plan.opted_out == 2


def test_a_file_without_an_opt_out_column_says_so_before_importing(tmp_path):
    plan = imports.read_import_file(write_csv(tmp_path, "name,phone\nAnn,415 555 0101\n"))
    assert "No opt-out column found" in plan.describe()
    assert "every contact would come in subscribed" in plan.describe()


STRAY_QUOTE = (
    "name,phone,sms_opt_out\n"
    "Ann,415 555 0101,no\n"
    '"Bob,415 555 0102,yes\n'
    "Carl,415 555 0103,no\n"
    "Dan,415 555 0104,yes\n"
    'Eve",415 555 0105,no\n'
)


@pytest.mark.parametrize("mode", imports.MODES)
def test_a_stray_quote_that_folds_rows_into_a_name_refuses_the_file(db, clock, tmp_path, mode):
    # Before: "Imported 2 contact(s)", Bob, Carl and Dan (two opt-outs) silently lost.
    with pytest.raises(UserInputError) as caught:
        _import(db, clock, write_csv(tmp_path, STRAY_QUOTE), mode=mode)
    message = caught.value.message
    assert message.startswith("Line 3: the 'name' cell runs over lines 3-6")
    assert "nothing was imported" in message and "\n" not in message
    assert _count(db) == 0 and _count(db, ActivityEntry) == 0


def test_a_quote_that_never_closes_refuses_the_file_at_its_line(db, clock, tmp_path):
    path = write_csv(tmp_path, 'name,phone\nAnn,415 555 0101\n"Bob,415 555 0102\nCy,415 555 0103\n')
    with pytest.raises(UserInputError, match=r"^Line 3: the quoting is unbalanced"):
        _import(db, clock, path)
    assert _count(db) == 0


def test_a_newline_inside_a_quoted_name_is_refused(db, clock, tmp_path):
    path = write_csv(tmp_path, 'name,phone\n"Ann\nLee",415 555 0101\n')
    with pytest.raises(UserInputError, match="Line 2: the 'name' cell runs over lines 2-3"):
        _import(db, clock, path)


def test_a_company_cell_that_swallowed_rows_is_refused_too(db, clock, tmp_path):
    path = write_csv(
        tmp_path, 'name,company,phone\nAnn,"Acme,415 555 0101\nBob,Beta",415 555 0102\n'
    )
    with pytest.raises(UserInputError, match="the 'company' cell runs over lines 2-3"):
        _import(db, clock, path)


# ---- the opt-in consent record and declined purposes (issue 15) ----------------------------


@pytest.mark.parametrize(
    ("date_header", "source_header"),
    [
        ("consent_date", "consent_source"),
        ("Opt-in date", "Opt in source"),
        ("Consent Date", "Consent"),
        ("Opted in", "Source of consent"),
    ],
)
def test_the_consent_columns_are_found_under_other_names(db, clock, tmp_path, date_header,
                                                         source_header):  # fmt: skip
    content = (f"name,phone,{date_header},{source_header}\n"
               "Ann Lee,415 555 0101,2026-03-15,\"web form, spring promo\"\n"
               "Bob Ray,415 555 0102,,\n")  # fmt: skip
    report = _import(db, clock, write_csv(tmp_path, content, "spring.csv"))
    assert report.added == 2
    with db.read() as s:
        ann, bob = (contacts.get_contact(s, i) for i in (1, 2))
    assert ann.record.line("America/New_York") == "Consent: 15 Mar 2026, web form, spring promo"
    # An imported record says it was imported, and from where.
    assert (ann.record.method, ann.record.evidence) == (
        "imported",
        "imported from spring.csv (line 2)",
    )
    assert not bob.record.on_record


def test_yes_in_an_opted_in_column_is_consent_without_a_date(db, clock, tmp_path):
    _import(db, clock, write_csv(tmp_path, "name,phone,Opted in\nAnn,415 555 0101,yes\n"))
    with db.read() as s:
        record = contacts.get_contact(s, 1).record
    assert (record.at, record.source, record.method) == (None, ConsentSource.IMPORT, "imported")


def test_bad_consent_cells_and_unknown_purposes_are_bad_rows(db, clock, tmp_path):
    content = ("name,phone,consent_date,consent_method,declined_purposes\n"
               "Ann,415 555 0101,someday,,\n"
               "Bob,415 555 0102,2026-03-15,by pigeon,\n"
               "Cy,415 555 0103,2026-03-15,written,Surveys\n"
               "Di,415 555 0104,2026-03-15,written,marketing\n")  # fmt: skip
    report = _import(db, clock, write_csv(tmp_path, content))
    assert report.refused and [line for line, _ in report.skipped_rows] == [2, 3, 4]
    reasons = dict(report.skipped_rows)
    assert "'someday' is not a date" in reasons[2]
    assert "by pigeon" in reasons[3] and "'Surveys' is not one of the SMS purposes" in reasons[4]
    assert _count(db) == 0
    report = _import(db, clock, write_csv(tmp_path, content), mode="good_rows")
    with db.read() as s:
        (di,) = [contacts.get_contact(s, r.id) for r in contacts.search_contacts(s)]
    assert report.added == 1 and di.declined_purposes == ("Marketing",)


def test_export_then_import_keeps_the_record_and_the_declined_purposes(db, clock, tmp_path):
    from trustpager_desktop.core import opt_in, preferences
    from trustpager_desktop.core import settings as core_settings

    ann = add_contact(db, clock, "Ann", "Lee", phone="+1 415 555 0101")
    with db.write() as s:
        new = core_settings.AppSettings(sms_purposes="Marketing; Reminders")
        core_settings.save_settings(s, new, actor="Jo", clock=clock)
        record = opt_in.ConsentRecord(datetime(2026, 3, 15, 14, 30, tzinfo=UTC),
                                      "web form, spring promo", "written", "form #42")  # fmt: skip
        opt_in.set_record(s, s.get(Contact, ann), record, actor="Jo", clock=clock)
        preferences.set_declined_by_hand(s, ann, ["Marketing", "Reminders"], actor="Jo",
                                         clock=clock)  # fmt: skip
    path = tmp_path / "contacts.csv"
    with db.read() as s:
        exports.export_contacts(s, path)
    header = path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert {"consent_date", "consent_source", "consent_method", "declined_purposes"} <= set(header)
    with db.engine.begin() as conn:
        conn.execute(Contact.__table__.delete())
    assert _import(db, clock, path).added == 1
    with db.read() as s:
        view = contacts.get_contact(s, s.scalar(select(Contact.id)))
    assert view.record == record
    assert view.declined_purposes == ("Marketing", "Reminders")
