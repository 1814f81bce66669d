"""Importing contacts from a CSV file.

Columns are found by header name, ignoring case, spaces and punctuation, with
the aliases other CRMs use: ``name`` or ``first_name`` + ``last_name``,
``company``, ``email``, ``phone``, ``tags``, and the opt-out column under any of
``sms_opt_out``, "SMS opt-out", "Opted out", "Do Not Text", "Unsubscribed",
"DNC", ``opted_out``, ``optout``, ``sms_optout`` (yes/no, true/false, 1/0, x,
"opted out"/"subscribed", empty = no; several such columns: any "yes" opts out).
The plan names the opt-out column(s) it used, or says there is none (everyone
would come in subscribed). Other columns are ignored, so a file from
``exports.export_contacts`` imports back unchanged.

Every row is checked before anything is written. Each bad row is reported with
the line it starts on and why. ``mode="all_or_nothing"`` (the default) adds
nothing when any row is bad; ``mode="good_rows"`` adds the good rows and lists
the bad ones. The whole import is one transaction: a failure or a cancel part
way adds nothing.

File rules (each a clear UserInputError, nothing changed):
- Text must be UTF-8 (with or without a byte-order mark). Other encodings are
  refused rather than guessed: a wrong guess silently garbles names. Excel's
  "CSV UTF-8" format is the fix, and the message says so.
- NUL bytes (a binary or UTF-16 file), an empty file, a file with no rows, a
  header without a name column, or more than MAX_ROWS rows / MAX_FILE_BYTES.
- Unbalanced quoting, or a record whose name cell runs over several lines (or
  another known cell that swallowed whole rows): a stray ``"`` folds the rows
  below it into one cell, and importing "the good rows" would silently lose them.
  The whole file is refused, naming the line where the quote opened.
- Cells that look like formulas (``=SUM(...)``) are stored as plain text. A
  leading ``'`` that our own export added in front of ``= + - @`` is removed.

Opt-outs that arrive by import are recorded through ``consent.opt_out_contact``
with source "import" and the file name as evidence.

The opt-in consent record comes from ``consent_date`` and ``consent_source`` (aliases
"Consent", "Opted in", "Opt-in date", "Consent date", "Opt in source"...), with
``consent_method`` and ``consent_evidence`` when present (method "imported" and the
file and line as evidence otherwise); "yes" in a date column means consent with no
date. ``declined_purposes`` ("Marketing;Promotions") must name the business's purposes.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent, contacts, opt_in
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.exports import DANGEROUS_PREFIXES
from trustpager_desktop.core.progress import Progress, report
from trustpager_desktop.core.settings import load_settings
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store import bulk
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MODES = ("all_or_nothing", "good_rows")
PROGRESS_EVERY = 200

OPT_OUT = "sms_opt_out"
# Header names as _header_key leaves them: lower case, letters and digits only.
_ALIASES = {
    "name": {"name", "fullname", "contact", "contactname"},
    "first_name": {"firstname", "first", "givenname"},
    "last_name": {"lastname", "last", "surname", "familyname"},
    "company": {"company", "organisation", "organization", "business"},
    "email": {"email", "emailaddress"},
    "phone": {"phone", "phonenumber", "mobile", "mobilephone", "cell", "telephone"},
    "tags": {"tags"},
    "consent_date": {
        "consentdate", "optindate", "optedindate", "optedin", "optedinat", "optinat",
        "consentedat", "consentdatetime", "dateofconsent", "consenttime", "consentgiven",
        "consentat", "optintime", "optindatetime",
    },
    "consent_source": {
        "consentsource", "consent", "optinsource", "optedinsource", "optin", "sourceofconsent",
        "consentvia", "optinvia", "howconsented",
    },
    "consent_method": {"consentmethod", "optinmethod", "methodofconsent"},
    "consent_evidence": {"consentevidence", "consentproof", "optinevidence", "optinproof",
                         "consentnote", "consentnotes"},
    "declined_purposes": {"declinedpurposes", "declined", "declinedsmspurposes",
                          "smspurposesdeclined", "purposesdeclined"},
    OPT_OUT: {
        "smsoptout", "smsoptedout", "optedout", "optout", "donottext", "unsubscribed",
        "dnc", "donotsms", "smsunsubscribed", "textoptout",
    },
}  # fmt: skip
NAME_COLUMNS = ("name", "first_name", "last_name")
_YES = {"yes", "y", "true", "1", "opted out", "opted-out", "opt out", "opt-out", "x",
        "unsubscribed", "do not text", "dnc", "stop", "stopped"}  # fmt: skip
_NO = {"", "no", "n", "false", "0", "subscribed", "opted in", "opted-in"}


@dataclass(frozen=True)
class PlannedRow:
    line: int
    data: ContactInput
    opted_out: bool
    e164: str | None


@dataclass
class ImportPlan:
    """The file read and checked: rows that can go in and rows that cannot."""

    file_name: str
    rows: list[PlannedRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)
    opt_out_columns: list[str] = field(default_factory=list)  # as the header spells them

    @property
    def opted_out(self) -> int:
        return sum(row.opted_out for row in self.rows)

    def describe_opt_out_column(self) -> str:
        """Which column(s) said who opted out, or that none did."""
        if not self.opt_out_columns:
            return (
                "No opt-out column found (e.g. 'SMS opt-out', 'Do Not Text', 'Unsubscribed', "
                "'DNC'): every contact would come in subscribed."
            )
        names = ", ".join(f"'{c}'" for c in self.opt_out_columns)
        plural = "s" if len(self.opt_out_columns) > 1 else ""
        return f"Opt-outs read from the column{plural} {names}."

    def describe(self, mode: str = "all_or_nothing") -> str:
        """What importing this plan would do, said before anything is written."""
        count = len(self.rows)
        if self.problems and mode == "all_or_nothing":
            text = (
                f"{count} contact(s) could be imported from {self.file_name}, but "
                f"{len(self.problems)} row(s) have problems: nothing will be imported unless "
                "they are fixed or only the good rows are imported."
            )
        else:
            text = f"{count} contact(s) will be imported from {self.file_name}"
            text += f" ({self.opted_out} opted out of SMS)" if self.opted_out else ""
            text += f"; {len(self.problems)} bad row(s) skipped." if self.problems else "."
        return f"{text} {self.describe_opt_out_column()}"


@dataclass
class ImportReport:
    """What happened. ``refused`` is True when all-or-nothing found bad rows (nothing added)."""

    file_name: str
    added: int = 0
    opted_out: int = 0
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    refused: bool = False
    opt_out_columns: list[str] = field(default_factory=list)

    def describe(self) -> str:
        if self.refused:
            return (
                f"Nothing was imported from {self.file_name}: {len(self.skipped_rows)} "
                "row(s) have problems. Fix them, or import only the good rows."
            )
        text = f"Imported {self.added} contact(s) from {self.file_name}"
        if self.opted_out:
            text += f", {self.opted_out} of them opted out of SMS"
            if self.opt_out_columns:
                text += " (column " + ", ".join(f"'{c}'" for c in self.opt_out_columns) + ")"
        if self.skipped_rows:
            text += f"; skipped {len(self.skipped_rows)} bad row(s)"
        return text + "."


# --- reading the file ------------------------------------------------------------------


def _decode(raw: bytes) -> str:
    if not raw.strip():
        raise UserInputError("The file is empty.")
    if b"\x00" in raw:
        raise UserInputError(
            "The file contains NUL bytes: it is not a plain CSV text file "
            "(perhaps a spreadsheet or UTF-16 file). Save it as 'CSV UTF-8' and try again."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UserInputError(
            f"The file is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}). "
            "In Excel choose 'CSV UTF-8 (comma delimited)' when saving, then import again."
        ) from exc


def _read_text(path: str | os.PathLike[str]) -> str:
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise UserInputError(
            f"The file is too big ({size // (1024 * 1024)} MB; "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB at most). Split it into smaller files."
        )
    return _decode(Path(path).read_bytes())


def _delimiter(first_line: str) -> str:
    # European Excel writes ';'; pick whichever separator splits the header most.
    return max([",", ";", "\t"], key=first_line.count)


def _header_key(name: str) -> str:
    """'Do Not Text', 'do_not_text' and 'DoNotText' all become 'donottext'."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


_LOOKUP = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}


@dataclass(frozen=True)
class Columns:
    """Where each known column is: one index per field, every opt-out column."""

    index: dict[str, int]
    opt_outs: list[int]


def _map_header(header: list[str]) -> Columns:
    columns: dict[str, int] = {}
    opt_outs: list[int] = []
    for index, name in enumerate(header):
        key = _LOOKUP.get(_header_key(name))
        if key == OPT_OUT:
            opt_outs.append(index)
        elif key and key not in columns:
            columns[key] = index
    if "name" not in columns and "first_name" not in columns:
        found = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise UserInputError(
            "The file needs a name column ('name', or 'first_name' and 'last_name'); "
            f"columns found: {found}."
        )
    return Columns(columns, opt_outs)


def _unquote(cell: str) -> str:
    """Undo the quote our exports put before formula-like cells."""
    if cell.startswith("'") and cell[1:].startswith(DANGEROUS_PREFIXES):
        return cell[1:]
    return cell


def _opt_out_value(cell: str) -> bool:
    value = cell.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise UserInputError(f"SMS opt-out '{cell.strip()}' is not understood: use yes or no.")


def _row_input(cells: list[str], columns: Columns) -> tuple[ContactInput, bool]:
    def get(key: str) -> str:
        index = columns.index.get(key)
        return _cell(cells, index)

    first, last = get("first_name"), get("last_name")
    if not first and get("name"):
        first, _, last = (
            get("name").rpartition(" ") if " " in get("name") else (get("name"), "", "")
        )
    data = ContactInput(
        first_name=first,
        last_name=last,
        company=get("company"),
        email=get("email"),
        phone=get("phone"),
        tags=get("tags"),
        consent=_consent_input(get),
        declined_purposes=opt_in.parse_declined(get("declined_purposes")) or None,
    )
    opted_out = [_opt_out_value(_cell(cells, i)) for i in columns.opt_outs]
    return data, any(opted_out)


def _consent_input(get: Callable[[str], str]) -> opt_in.ConsentInput | None:
    """The row's consent record, or None when its consent cells are empty. A yes-word in
    the date column ('Opted in: yes') is consent without a date."""
    date, source = get("consent_date"), get("consent_source")
    method, evidence = get("consent_method"), get("consent_evidence")
    if date.lower() in _NO:
        date = ""
    elif date.lower() in _YES:
        date, source = "", source or "import"
    if not (date or source or method or evidence):
        return None
    check = opt_in.ConsentInput(source, date, method, evidence)
    check.validate("UTC", datetime.now(UTC))  # bad cells are a problem of this row
    return check


def _cell(cells: list[str], index: int | None) -> str:
    return _unquote(cells[index]).strip() if index is not None and index < len(cells) else ""


def _refuse_folded_rows(
    cells: list[str], columns: Columns, header: list[str], first: int, last: int, delimiter: str
) -> None:
    """A record spanning lines is fine in a notes column, never in a name; elsewhere it is
    refused when the cell holds whole rows (the delimiter), the mark of a stray quote."""
    for key, index in columns.index.items():
        cell = cells[index] if index < len(cells) else ""
        if "\n" not in cell and "\r" not in cell:
            continue
        if key in NAME_COLUMNS or delimiter in cell:
            raise UserInputError(
                f"Line {first}: the '{header[index].strip()}' cell runs over lines {first}-{last}, "
                f'so a quote (") there swallowed the rows below it. Remove the stray quote '
                "and import again; nothing was imported."
            )


def read_import_file(path: str | os.PathLike[str], default_region: str = "US") -> ImportPlan:
    """Read and check a CSV file without touching the database.

    Returns the plan (good rows, bad rows with line numbers and reasons, the opt-out
    column used). Raises UserInputError for a file that cannot be imported at all."""
    text = _read_text(path)
    plan = ImportPlan(file_name=Path(path).name)
    delimiter = _delimiter(text.split("\n", 1)[0])
    # strict: a quote that never closes is an error, not a cell running to the end.
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    line = 1
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise UserInputError("The file has no header row with column names.")
        columns = _map_header(header)
        plan.opt_out_columns = [header[i].strip() for i in columns.opt_outs]
        seen_phones: dict[str, int] = {}
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if reader.line_num > line:
                _refuse_folded_rows(cells, columns, header, line, reader.line_num, delimiter)
            if not any(c.strip() for c in cells):
                continue  # blank lines are not rows
            if len(plan.rows) + len(plan.problems) >= MAX_ROWS:
                raise UserInputError(f"The file has more than {MAX_ROWS} rows; split it.")
            _plan_row(plan, line, cells, columns, seen_phones, default_region)
    except csv.Error as exc:
        raise UserInputError(
            f'Line {line}: the quoting is unbalanced ({exc}): a quote (") opens a cell that '
            "does not close where it should, so the rows below would be read into it. "
            "Remove the stray quote and import again; nothing was imported."
        ) from exc
    if not plan.rows and not plan.problems:
        raise UserInputError("The file has no contacts below its header row.")
    return plan


def _plan_row(
    plan: ImportPlan,
    line: int,
    cells: list[str],
    columns: Columns,
    seen_phones: dict[str, int],
    default_region: str,
) -> None:
    try:
        data, opted_out = _row_input(cells, columns)
        values = contacts.validate(data, default_region)
    except UserInputError as exc:
        plan.problems.append((line, exc.message))
        return
    e164 = values.get("phone_e164")
    if e164 and e164 in seen_phones:
        plan.problems.append((line, f"same phone number as line {seen_phones[e164]}"))
        return
    if e164:
        seen_phones[e164] = line
    plan.rows.append(PlannedRow(line, data, opted_out, e164))


def _check_existing(session: Session, plan: ImportPlan) -> None:
    """Rows whose phone number already belongs to a contact are duplicates."""
    phones = [r.e164 for r in plan.rows if r.e164]
    existing: dict[str, str] = {}
    for chunk in bulk.chunks(phones):
        for c in session.scalars(select(Contact).where(Contact.phone_e164.in_(chunk))):
            existing.setdefault(c.phone_e164 or "", f"{c.display_name} (id {c.id})")
    if not existing:
        return
    keep = []
    for row in plan.rows:
        if row.e164 in existing:
            plan.problems.append(
                (row.line, f"a contact with this phone number already exists: {existing[row.e164]}")
            )
        else:
            keep.append(row)
    plan.rows = keep
    plan.problems.sort()


def _check_purposes(session: Session, plan: ImportPlan) -> None:
    """Rows declining a purpose the business does not keep are bad rows."""
    known = load_settings(session).purposes
    keep = []
    for row in plan.rows:
        try:
            if row.data.declined_purposes:
                opt_in.validate_declined(row.data.declined_purposes, known)
            keep.append(row)
        except UserInputError as exc:
            plan.problems.append((row.line, exc.message))
    if len(keep) != len(plan.rows):
        plan.rows = keep
        plan.problems.sort()


def preview_import(
    db: Database, path: str | os.PathLike[str], default_region: str = "US"
) -> ImportPlan:
    """Read the file and check it against the database; changes nothing (the dialog's preview)."""
    plan = read_import_file(path, default_region)
    with db.read() as session:
        _check_existing(session, plan)
        _check_purposes(session, plan)
    return plan


# --- writing -----------------------------------------------------------------------------


def import_contacts_csv(
    db: Database,
    path: str | os.PathLike[str],
    *,
    mode: str = "all_or_nothing",
    actor: str,
    default_region: str = "US",
    clock: Clock = SYSTEM_CLOCK,
    progress: Progress | None = None,
    plan: ImportPlan | None = None,
) -> ImportReport:
    """Import contacts from ``path`` in one transaction.

    ``plan``: the file as :func:`read_import_file` read it (shown to the user first);
    read again when not given. Returns an ImportReport. In all-or-nothing mode with any
    bad row, ``refused`` is True and nothing is added. Raises UserInputError for an
    unusable file (nothing changed) and progress.Cancelled when ``progress`` returns
    False (nothing changed)."""
    if mode not in MODES:
        raise UserInputError(f"Unknown import mode '{mode}': use all_or_nothing or good_rows.")
    plan = plan or read_import_file(path, default_region)
    result = ImportReport(file_name=plan.file_name, opt_out_columns=list(plan.opt_out_columns))
    with db.write() as session:
        _check_existing(session, plan)
        _check_purposes(session, plan)
        result.skipped_rows = list(plan.problems)
        if plan.problems and mode == "all_or_nothing":
            result.refused = True
            return result
        for done, row in enumerate(plan.rows, start=1):
            _add_row(session, row, plan.file_name, actor, default_region, clock, result)
            if done % PROGRESS_EVERY == 0:
                report(progress, done, len(plan.rows))
        report(progress, len(plan.rows), len(plan.rows))
        _log_import(session, result, actor, clock)
    return result


def _add_row(
    session: Session,
    row: PlannedRow,
    file_name: str,
    actor: str,
    default_region: str,
    clock: Clock,
    result: ImportReport,
) -> None:
    data = row.data
    if data.consent is not None:  # an imported record says where it came from
        data = dataclasses.replace(data, consent=dataclasses.replace(
            data.consent, method=data.consent.method or "imported",
            evidence=data.consent.evidence or f"imported from {file_name} (line {row.line})"))  # fmt: skip
    contact = contacts.create_contact(
        session, data, actor=actor, default_region=default_region, clock=clock
    )
    result.added += 1
    if row.opted_out:
        consent.opt_out_contact(
            session,
            contact,
            source=ConsentSource.IMPORT,
            actor=actor,
            evidence=f"imported from {file_name} (line {row.line})",
            summary=f"Opted out of SMS by import from {file_name}",
            clock=clock,
        )
    if contact.sms_opted_out:
        result.opted_out += 1


def _log_import(session: Session, result: ImportReport, actor: str, clock: Clock) -> None:
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.IMPORT,
            summary=f"Imported {result.added} contact(s) from {result.file_name}",
            actor=actor,
            details={
                "file": result.file_name,
                "added": result.added,
                "opted_out": result.opted_out,
                "opt_out_columns": result.opt_out_columns,
                "skipped_lines": [line for line, _ in result.skipped_rows],
            },
        ),
        clock=clock,
    )
