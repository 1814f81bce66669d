"""Importing a do-not-contact list: a bare list of phone numbers that must not be texted.

The file is one column of numbers in any format ("(415) 555-0101", "+1 415-555-0101",
"4155550101"), read with the business's default country, with a header row or without
one (a first row without a number in it is a header). A file with several columns is
read only when its header names the numbers' column ("number", "phone"...), so the
opt-out export of another database imports as it is; otherwise a row with more than one
cell is a bad row. Blank lines are skipped; a number listed twice counts once.

Every contact with a listed number is opted out and every listed number is held as
suppressed (``consent.opt_out_numbers``: the same rule as a STOP), so a contact added
later with that number starts opted out. Each opt-out's consent event and log entry
name the source: "do-not-contact list FILE, imported by NAME".

As with contacts (``core.imports``), every row is checked first; each bad row is
reported by line with the reason, and by default nothing goes in unless every row is
good (``mode="good_rows"`` imports the good ones). The whole import is one
transaction: a failure or a cancel part way changes nothing. Importing the same list
again changes nothing and writes nothing ("0 new").

Large lists are written in batches of ``BATCH`` numbers (a few statements per batch,
``consent.opt_out_numbers``), so memory stays flat and progress can be shown.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustpager_desktop.core import activity, consent
from trustpager_desktop.core.clean_text import clean_line
from trustpager_desktop.core.clock import SYSTEM_CLOCK, Clock
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.exports import DANGEROUS_PREFIXES
from trustpager_desktop.core.imports import MODES
from trustpager_desktop.core.imports import _read_text as read_text
from trustpager_desktop.core.phone import InvalidPhoneNumber, parse_phone
from trustpager_desktop.core.progress import Progress, report
from trustpager_desktop.core.states import ActivityKind, ConsentSource
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact, NumberSuppression

MAX_NUMBERS = 500_000
BATCH = 2_000
_DIGITS_IN_A_NUMBER = 3  # a first row with fewer digits is a header ("Phone", "DNC list")
# Header names (lower case, letters and digits only) of the numbers' column in a file with
# several columns, such as ``trustpager optouts export``'s.
_NUMBER_HEADERS = {"number", "phone", "phonenumber", "mobile", "mobilephone", "cell",
                   "telephone", "tel", "phonee164", "e164", "donotcontact", "dnc"}  # fmt: skip


@dataclass
class DncPlan:
    """The file read and checked: the numbers (first line each was listed on) and the bad
    rows, as (line, reason)."""

    file_name: str
    numbers: dict[str, int] = field(default_factory=dict)  # E.164 -> line
    problems: list[tuple[int, str]] = field(default_factory=list)
    repeated: int = 0  # rows whose number was listed on an earlier line (counted once)
    header: str | None = None
    column: int | None = None  # the numbers' column when the header names several

    def describe(self, mode: str = "all_or_nothing") -> str:
        """What the file holds, said before anything is written."""
        text = f"{self.file_name}: {_count(len(self.numbers), 'phone number')}"
        if self.repeated:
            text += f" ({self.repeated:,} more listed again, counted once)"
        text += f", header '{self.header}'" if self.header else ", no header row"
        if not self.problems:
            return text + "."
        text += f", {_count(len(self.problems), 'bad row')}"
        if mode == "all_or_nothing":
            return (
                text
                + ": nothing will be imported unless they are fixed or only the good rows are imported."
            )
        return text + ": they will be skipped."


@dataclass
class DncOutcome:
    """What an import did (or, for a dry run, would do).

    ``contacts_opted_out``: contacts newly opted out; ``numbers_suppressed``: listed
    numbers no contact has, now held; ``already``: listed numbers already opted out
    (every contact with them, or the number itself); ``refused``: all-or-nothing found
    bad rows, so nothing went in."""

    file_name: str
    contacts_opted_out: int = 0
    numbers_suppressed: int = 0
    already: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    refused: bool = False
    dry_run: bool = False

    @property
    def new(self) -> int:
        return self.contacts_opted_out + self.numbers_suppressed

    def describe(self) -> str:
        """'Opted out 12 contacts, suppressed 340 numbers, 5 already opted out, 0 bad rows
        (do-not-contact list dnc.csv).'"""
        bad = _count(len(self.bad_rows), "bad row")
        if self.refused:
            return (f"Nothing was imported from {self.file_name}: {bad}. Fix them, or import "
                    "only the good rows.")  # fmt: skip
        already = f"{self.already:,} already opted out"
        if self.dry_run:
            return (f"Would opt out {_count(self.contacts_opted_out, 'contact')}, suppress "
                    f"{_count(self.numbers_suppressed, 'number')}; {already}, {bad} "
                    f"(do-not-contact list {self.file_name}; dry run, nothing changed).")  # fmt: skip
        if not self.new:
            return f"0 new from the do-not-contact list {self.file_name}: {already}, {bad}."
        return (f"Opted out {_count(self.contacts_opted_out, 'contact')}, suppressed "
                f"{_count(self.numbers_suppressed, 'number')}, {already}, {bad} "
                f"(do-not-contact list {self.file_name}).")  # fmt: skip


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# --- reading ---------------------------------------------------------------------------


def read_dnc_file(path: str | os.PathLike[str], default_region: str = "US") -> DncPlan:
    """Read and check a do-not-contact list without touching the database. Raises
    UserInputError for a file that cannot be imported at all (empty, not UTF-8, too big,
    unbalanced quotes, no numbers)."""
    text = read_text(path)
    # The name goes into every opt-out's evidence: no line breaks or bidi controls in it.
    plan = DncPlan(file_name=clean_line(Path(path).name)[:120])
    first_line = text.split("\n", 1)[0]
    delimiter = max([",", ";", "\t"], key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    line = 1
    try:
        for line, cells in _records(reader):
            _plan_row(plan, line, cells, default_region)
    except csv.Error as exc:
        raise UserInputError(
            f'Line {line}: the quoting is unbalanced ({exc}): a quote (") opens a cell that '
            "does not close. Remove the stray quote and import again; nothing was imported."
        ) from exc
    if not plan.numbers and not plan.problems:
        raise UserInputError(f"{plan.file_name} has no phone numbers in it.")
    return plan


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its cells), blank lines left out."""
    while True:
        line = reader.line_num + 1  # type: ignore[attr-defined]  # the csv reader's line_num is missing from its stub
        cells = next(reader, None)
        if cells is None:
            return
        if any(cell.strip() for cell in cells):
            yield line, [_unquote(cell).strip() for cell in cells]


def _plan_row(plan: DncPlan, line: int, cells: list[str], default_region: str) -> None:
    if not plan.numbers and not plan.problems and plan.header is None and _is_header(cells):
        plan.header = ", ".join(cell for cell in cells if cell)
        plan.column = _number_column(cells)
        return
    if len(plan.numbers) + len(plan.problems) + plan.repeated >= MAX_NUMBERS:
        raise UserInputError(f"The file has more than {MAX_NUMBERS:,} rows; split it.")
    if plan.column is not None:
        cell = cells[plan.column] if plan.column < len(cells) else ""
        if not cell:
            return  # no number on this row (the export lists opted-out contacts without one)
    else:
        filled = [cell for cell in cells if cell]
        if len(filled) > 1:
            shown = ", ".join(filled[:3])[:80]
            plan.problems.append((line, f"more than one column ({shown}): a do-not-contact "
                                        "list has one phone number per line"))  # fmt: skip
            return
        cell = filled[0]
    try:
        e164 = parse_phone(cell, default_region).e164
    except InvalidPhoneNumber as exc:
        plan.problems.append((line, exc.message))
        return
    if e164 in plan.numbers:
        plan.repeated += 1
    else:
        plan.numbers[e164] = line


def _is_header(cells: list[str]) -> bool:
    return sum(ch.isdigit() for ch in "".join(cells)) < _DIGITS_IN_A_NUMBER


def _number_column(header: list[str]) -> int | None:
    """With several named columns (the opt-out export, a spreadsheet), the one holding the
    numbers; None for a one-column list. Raises UserInputError when none is named so."""
    named = [index for index, cell in enumerate(header) if cell]
    if len(named) <= 1:
        return None
    for index in named:
        if "".join(ch for ch in header[index].lower() if ch.isalnum()) in _NUMBER_HEADERS:
            return index
    shown = ", ".join(header[i] for i in named)[:120]
    raise UserInputError(
        f"The file has several columns ({shown}) and none is called 'number' or 'phone': a "
        "do-not-contact list has one phone number per line, or a column named so."
    )


def _unquote(cell: str) -> str:
    """Undo the quote our exports put before a cell starting '+' (formula protection)."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(DANGEROUS_PREFIXES) else cell


# --- importing ---------------------------------------------------------------------------


def source_text(file_name: str, actor: str) -> str:
    """How each opt-out says where it came from (evidence and log entry)."""
    return f"do-not-contact list {file_name}, imported by {actor}"


def import_dnc_list(
    db: Database,
    path: str | os.PathLike[str],
    *,
    actor: str,
    mode: str = "all_or_nothing",
    dry_run: bool = False,
    default_region: str = "US",
    clock: Clock = SYSTEM_CLOCK,
    progress: Progress | None = None,
    plan: DncPlan | None = None,
) -> DncOutcome:
    """Import the do-not-contact list at ``path`` in one transaction.

    ``plan``: the file as :func:`read_dnc_file` read it (read again when not given).
    ``dry_run``: count what would happen and change nothing. Raises UserInputError for an
    unusable file or mode, progress.Cancelled when ``progress`` says stop (nothing is
    changed either way)."""
    if mode not in MODES:
        raise UserInputError(f"Unknown import mode '{mode}': use all_or_nothing or good_rows.")
    plan = plan or read_dnc_file(path, default_region)
    outcome = DncOutcome(plan.file_name, bad_rows=list(plan.problems), dry_run=dry_run)
    if plan.problems and mode == "all_or_nothing":
        outcome.refused = True
        return outcome
    numbers = sorted(plan.numbers, key=plan.numbers.__getitem__)  # in the file's order
    session_scope = db.read() if dry_run else db.write()
    with session_scope as session:
        if not dry_run:
            activity.lock_chain(session)  # this transaction appends: take the log lock first
        for done, batch in _batches(numbers):
            _import_batch(session, batch, plan.file_name, actor, outcome, dry_run, clock)
            report(progress, done, len(numbers))
        report(progress, len(numbers), len(numbers))
        if outcome.new and not dry_run:
            _log_import(session, outcome, actor, len(numbers), clock)
    return outcome


def _batches(numbers: list[str]) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(numbers), BATCH):
        batch = numbers[start : start + BATCH]
        yield start + len(batch), batch


def _import_batch(
    session: Session,
    batch: list[str],
    file_name: str,
    actor: str,
    outcome: DncOutcome,
    dry_run: bool,
    clock: Clock,
) -> None:
    """Opt out one batch: classify each number first (same transaction, so exact), then
    write only the ones with something new, all with a few statements."""
    waiting, known = _contacts_by_number(session, batch)
    held = _held_numbers(session, batch)
    source = source_text(file_name, actor)
    items = []
    for e164 in batch:
        summary = None
        if e164 in waiting:
            outcome.contacts_opted_out += waiting[e164]
            summary = f"Opted out of SMS by {source}"
        elif e164 not in known and e164 not in held:
            outcome.numbers_suppressed += 1
            summary = f"Number {e164} opted out by {source}"
        else:
            outcome.already += 1
            if e164 in held:
                continue
            # Its contacts are all opted out already: the number is held too (no new
            # event or log entry), so a contact added later with it starts opted out.
        items.append(consent.NumberOptOut(e164, ConsentSource.DNC_LIST, actor,
                                          evidence=source, summary=summary))  # fmt: skip
    if items and not dry_run:
        consent.opt_out_numbers(session, items, clock=clock)


def _contacts_by_number(session: Session, batch: list[str]) -> tuple[dict[str, int], set[str]]:
    """Number -> how many of its contacts are not opted out yet, and every listed number
    some contact has."""
    waiting: dict[str, int] = {}
    known: set[str] = set()
    rows = session.execute(
        select(Contact.phone_e164, Contact.sms_opted_out).where(Contact.phone_e164.in_(batch))
    )
    for phone, opted_out in rows:
        if phone is None:  # not in the batch: the IN above never matches NULL
            continue
        known.add(phone)
        if not opted_out:
            waiting[phone] = waiting.get(phone, 0) + 1
    return waiting, known


def _held_numbers(session: Session, batch: list[str]) -> set[str]:
    return set(
        session.scalars(
            select(NumberSuppression.phone_e164).where(
                NumberSuppression.phone_e164.in_(batch), NumberSuppression.lifted_at.is_(None)
            )
        )
    )


def _log_import(
    session: Session, outcome: DncOutcome, actor: str, listed: int, clock: Clock
) -> None:
    activity.append(
        session,
        activity.LogEntry(
            kind=ActivityKind.IMPORT,
            summary=f"Imported the {source_text(outcome.file_name, actor)}: "
            f"{outcome.contacts_opted_out:,} contacts opted out, {outcome.numbers_suppressed:,} "
            f"numbers suppressed, {outcome.already:,} already opted out",
            actor=actor,
            details={
                "file": outcome.file_name,
                "numbers": listed,
                "contacts_opted_out": outcome.contacts_opted_out,
                "numbers_suppressed": outcome.numbers_suppressed,
                "already_opted_out": outcome.already,
                "bad_lines": [line for line, _ in outcome.bad_rows],
            },
        ),
        clock=clock,
    )
