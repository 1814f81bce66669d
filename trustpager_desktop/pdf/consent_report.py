"""A contact's consent history as a printable PDF (made with Qt) or a CSV.

The PDF is a QTextDocument printed to a QPdfWriter. Every value that a contact,
a reply or a user supplied is passed through ``html.escape`` before it goes into
the document's markup, so a name like ``<b>Ann</b>`` prints literally.
A QGuiApplication must exist (the window has one) for fonts to be available.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from trustpager_desktop import APP_NAME
from trustpager_desktop.core import contacts, exports, log_verify
from trustpager_desktop.core.contacts import ContactView
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.progress import Progress

REPORT_COLUMNS = (
    ("Received", 12),
    ("Recorded", 12),
    ("Event", 8),
    ("Source", 11),
    ("Method", 7),
    ("Evidence", 25),
    ("Message SID", 15),
    ("By", 10),
)


@dataclass(frozen=True)
class ConsentReportData:
    """Everything the report shows, read in one go."""

    contact: ContactView
    events: list[list[Any]]  # exports.consent_history_rows
    chain_text: str
    chain_ok: bool
    generated_at: datetime
    zone: str = "UTC"  # the business time zone, for the consent record's date


def gather_report(services, contact_id: int, progress: Progress | None = None) -> ConsentReportData:  # type: ignore[no-untyped-def]
    """Read the contact, its consent events and the log verification, which ends with the
    log head (entry count and hash), so the printed report pins the log (``progress``
    follows it). NotFoundError if the contact is gone; Cancelled when ``progress`` says stop."""
    region = services.settings.default_country
    with services.db.read() as s:
        contact = contacts.get_contact(s, contact_id, region)
        events = exports.consent_history_rows(s, contact_id)
    db = services.db
    chain = log_verify.verify_log(
        db, clock=services.clock, read_only=db.read_only, progress=progress
    )
    return ConsentReportData(contact, events, chain.describe(), chain.ok, services.clock.now(),
                             services.settings.business_timezone)  # fmt: skip


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%d %b %Y %H:%M:%S %Z")
    return "" if value is None else str(value)


def report_html(data: ConsentReportData) -> str:
    """The report as HTML in which every value is escaped text."""
    e = html.escape
    c = data.contact
    details = [
        ("Name", c.display_name),
        ("Company", c.company),
        ("Phone", f"{c.phone_display} ({c.phone_e164})" if c.phone_e164 else c.phone_raw),
        ("Email", c.email),
        ("Contact id", str(c.id)),
    ]
    rows = "".join(
        "<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in event[:8]) + "</tr>"
        for event in data.events
    )
    if not rows:
        rows = (
            f'<tr><td colspan="{len(REPORT_COLUMNS)}">No opt-out or re-consent recorded.</td></tr>'
        )
    chain_colour = "#1b5e20" if data.chain_ok else "#b00020"
    return f"""
<h2>SMS consent history: {e(c.display_name)}</h2>
<p style="color:#555">{e(APP_NAME)} · generated {e(_cell(data.generated_at))}</p>
<table cellpadding="2">{"".join(f"<tr><td><b>{e(k)}</b></td><td>{e(v or '-')}</td></tr>" for k, v in details)}</table>
<p><b>Current status:</b> {e(c.status_line)}</p>
<p><b>Opt-in consent:</b> {e(c.record.full(data.zone))}</p>
{_declined_html(c)}
<h3>Consent events (oldest first)</h3>
<table border="1" cellspacing="0" cellpadding="3" width="100%" style="font-size:8pt">
<tr>{"".join(f'<th align="left" width="{w}%">{e(h)}</th>' for h, w in REPORT_COLUMNS)}</tr>
{rows}
</table>
<p style="color:{chain_colour}"><b>Activity log check:</b> {"<br>".join(e(line) for line in data.chain_text.splitlines())}</p>
"""


def _declined_html(contact: ContactView) -> str:
    if not contact.declined_purposes:
        return ""
    names = html.escape(", ".join(contact.declined_purposes))
    return f"<p><b>Declined SMS purposes:</b> {names}</p>"


def print_pdf(html_text: str, path: str | Path, title: str) -> None:
    """Print escaped report HTML to a PDF file (A4 landscape, 300 dpi): the one PDF path
    every report uses. Raises OSError if the file cannot be written."""
    writer = QPdfWriter(str(path))
    writer.setTitle(title)
    writer.setCreator(APP_NAME)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Landscape,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setResolution(300)
    document = QTextDocument()
    document.setDefaultStyleSheet("th { background: #e8eef5; } td { vertical-align: top; }")
    document.setHtml(html_text)
    document.print_(writer)
    del writer  # the file is finished when the writer goes away
    if not Path(path).exists() or Path(path).stat().st_size == 0:
        raise OSError(f"The PDF could not be written to {path}.")


def write_pdf(data: ConsentReportData, path: str | Path) -> None:
    """Print the report to a PDF file (A4 landscape). Raises OSError if it cannot be written."""
    print_pdf(report_html(data), path, f"SMS consent history: {data.contact.display_name}")


def save_consent_report(services, contact_id: int, path: str | Path, fmt: str = "pdf") -> None:  # type: ignore[no-untyped-def]
    """Save one contact's consent history as ``fmt`` "pdf" or "csv" at ``path``.

    Raises NotFoundError (no such contact), UserInputError (unknown format) or OSError."""
    if fmt == "csv":
        with services.db.read() as s:
            exports.export_consent_history_csv(s, contact_id, path)
        return
    if fmt != "pdf":
        raise UserInputError(f"Unknown report format '{fmt}': use pdf or csv.")
    write_pdf(gather_report(services, contact_id), path)
