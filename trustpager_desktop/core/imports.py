"""Importing contacts from a CSV file.

Columns are found by header name (any case; a few aliases): ``name`` or
``first_name`` + ``last_name``, ``company``, ``email``, ``phone``, ``tags`` and
``sms_opt_out`` (yes/no, true/false, 1/0, "opted out"/"subscribed", empty = no).
Other columns are ignored, so a file from ``exports.export_contacts`` imports
back unchanged.

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
- Cells that look like formulas (``=SUM(...)``) are stored as plain text. A
  leading ``'`` that our own export added in front of ``= + - @`` is removed.

Opt-outs that arrive by import are recorded through ``consent.opt_out_contact``
with source "import" and the file name as evidence.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent, contacts
from trustpager_desktop.core.activity import Kind
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.exports import DANGEROUS_PREFIXES
from trustpager_desktop.core.progress import Progress, report
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
MODES = ("all_or_nothing", "good_rows")
PROGRESS_EVERY = 200

_ALIASES = {
    "name": {"name", "full name", "full_name", "contact", "contact name"},
    "first_name": {"first_name", "first name", "firstname", "first", "given name"},
    "last_name": {"last_name", "last name", "lastname", "last", "surname", "family name"},
    "company": {"company", "organisation", "organization", "business"},
    "email": {"email", "e-mail", "email address"},
    "phone": {"phone", "phone number", "mobile", "mobile phone", "cell", "telephone"},
    "tags": {"tags"},
    "sms_opt_out": {
        "sms_opt_out",
        "sms opt-out",
        "sms opt out",
        "sms_opted_out",
        "opted out",
        "opt_out",
        "opt-out",
        "opt out",
    },
}
_YES = {"yes", "y", "true", "1", "opted out", "opted-out", "opt out", "opt-out", "x"}
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


@dataclass
class ImportReport:
    """What happened. ``refused`` is True when all-or-nothing found bad rows (nothing added)."""

    file_name: str
    added: int = 0
    opted_out: int = 0
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    refused: bool = False

    def describe(self) -> str:
        if self.refused:
            return (
                f"Nothing was imported from {self.file_name}: {len(self.skipped_rows)} "
                "row(s) have problems. Fix them, or import only the good rows."
            )
        text = f"Imported {self.added} contact(s) from {self.file_name}"
        if self.opted_out:
            text += f", {self.opted_out} of them opted out of SMS"
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


def _map_header(header: list[str]) -> dict[str, int]:
    lookup = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = lookup.get(name.strip().lower())
        if key and key not in columns:
            columns[key] = index
    if "name" not in columns and "first_name" not in columns:
        found = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise UserInputError(
            "The file needs a name column ('name', or 'first_name' and 'last_name'); "
            f"columns found: {found}."
        )
    return columns


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


def _row_input(cells: list[str], columns: dict[str, int]) -> tuple[ContactInput, bool]:
    def get(key: str) -> str:
        index = columns.get(key)
        return _unquote(cells[index]).strip() if index is not None and index < len(cells) else ""

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
    )
    return data, _opt_out_value(get("sms_opt_out"))


def read_import_file(path: str | os.PathLike[str], default_region: str = "US") -> ImportPlan:
    """Read and check a CSV file without touching the database.

    Returns the plan (good rows, and bad rows with line numbers and reasons).
    Raises UserInputError for a file that cannot be imported at all."""
    text = _read_text(path)
    plan = ImportPlan(file_name=Path(path).name)
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text.split("\n", 1)[0]))
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise UserInputError("The file has no header row with column names.")
        columns = _map_header(header)
        seen_phones: dict[str, int] = {}
        while True:
            line = reader.line_num + 1
            cells = next(reader, None)
            if cells is None:
                break
            if not any(c.strip() for c in cells):
                continue  # blank lines are not rows
            if len(plan.rows) + len(plan.problems) >= MAX_ROWS:
                raise UserInputError(f"The file has more than {MAX_ROWS} rows; split it.")
            _plan_row(plan, line, cells, columns, seen_phones, default_region)
    except csv.Error as exc:
        raise UserInputError(f"Line {reader.line_num}: the CSV is malformed ({exc}).") from exc
    if not plan.rows and not plan.problems:
        raise UserInputError("The file has no contacts below its header row.")
    return plan


def _plan_row(
    plan: ImportPlan,
    line: int,
    cells: list[str],
    columns: dict[str, int],
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
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
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


def preview_import(
    db: Database, path: str | os.PathLike[str], default_region: str = "US"
) -> ImportPlan:
    """Read the file and check it against the database; changes nothing (the dialog's preview)."""
    plan = read_import_file(path, default_region)
    with db.read() as session:
        _check_existing(session, plan)
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
) -> ImportReport:
    """Import contacts from ``path`` in one transaction.

    Returns an ImportReport. In all-or-nothing mode with any bad row, ``refused``
    is True and nothing is added. Raises UserInputError for an unusable file
    (nothing changed) and progress.Cancelled when ``progress`` returns False
    (nothing changed)."""
    if mode not in MODES:
        raise UserInputError(f"Unknown import mode '{mode}': use all_or_nothing or good_rows.")
    plan = read_import_file(path, default_region)
    result = ImportReport(file_name=plan.file_name)
    with db.write() as session:
        _check_existing(session, plan)
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
    contact = contacts.create_contact(
        session, row.data, actor=actor, default_region=default_region, clock=clock
    )
    result.added += 1
    if row.opted_out:
        consent.opt_out_contact(
            session,
            contact,
            source=consent.Source.IMPORT,
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
        kind=Kind.IMPORT,
        summary=f"Imported {result.added} contact(s) from {result.file_name}",
        actor=actor,
        details={
            "file": result.file_name,
            "added": result.added,
            "opted_out": result.opted_out,
            "skipped_lines": [line for line, _ in result.skipped_rows],
        },
        clock=clock,
    )
