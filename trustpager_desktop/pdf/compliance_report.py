"""The monthly compliance report as a PDF, printed through the consent report's PDF path
(``consent_report.print_pdf``) from the data ``core.compliance`` gathers.

Every value that a contact, a reply or a user supplied is passed through
``html.escape`` before it goes into the markup. Rows past the 10-business-day line
and a broken log are printed in red. A QGuiApplication must exist for fonts.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from trustpager_desktop import APP_NAME
from trustpager_desktop.core.compliance import LIMIT, ComplianceReport, format_duration
from trustpager_desktop.pdf.consent_report import print_pdf

RED = "#b00020"
GREEN = "#1b5e20"


def _table(header: Sequence[tuple[str, int]], rows: Sequence[tuple[bool, Sequence[str]]]) -> str:
    """An escaped table; a row whose flag is True prints in red and bold."""
    e = html.escape
    head = "".join(f'<th align="left" width="{w}%">{e(h)}</th>' for h, w in header)
    body = []
    for late, cells in rows:
        style = f' style="color:{RED}; font-weight:bold"' if late else ""
        body.append("<tr>" + "".join(f"<td{style}>{e(c)}</td>" for c in cells) + "</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(header)}">None this month.</td></tr>')
    return (
        '<table border="1" cellspacing="0" cellpadding="3" width="100%" style="font-size:8pt">'
        f"<tr>{head}</tr>{''.join(body)}</table>"
    )


def _one_line(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def report_html(report: ComplianceReport) -> str:
    """The whole report as HTML in which every value is escaped text."""
    e = html.escape
    when = report.local
    opt_outs = _table(
        (("Received (customer or staff)", 11), ("Honoured (automations stopped)", 11),
         ("Time to honour", 7), ("Business days", 8), ("Contact", 12), ("Number", 12),
         ("Source", 10), ("Recorded by", 8), ("Message SID", 21)),
        [(o.beyond_limit,
          (when(o.received_at), when(o.honoured_at), format_duration(o.time_to_honour),
           str(o.business_days), o.contact or "(no contact)", o.number, o.source,
           o.recorded_by, o.message_sid)) for o in report.opt_outs],
    )  # fmt: skip
    now = report.generated_at
    reviews = _table(
        (("Received", 11), ("Decided", 11), ("Waited", 7), ("Business days", 8), ("From", 12),
         ("Message", 18), ("Decision", 9), ("By", 8), ("Message SID", 16)),
        [(r.beyond_limit,
          (when(r.received_at), when(r.decided_at) or "not yet", format_duration(r.waited(now)),
           str(r.business_days), r.from_number, _one_line(r.body), r.decision, r.decided_by,
           r.message_sid)) for r in report.reviews],
    )  # fmt: skip
    texts = _table(
        (("Sent", 14), ("Number", 12), ("Contact", 14), ("Sent by", 20),
         ("Flagged when sent", 8), ("Status", 8), ("Text", 24)),
        [(not t.flagged_at_send,
          (when(t.sent_at), t.number, t.contact, t.origin, "yes" if t.flagged_at_send else "NO",
           t.status, _one_line(t.body))) for t in report.texts_to_opted_out],
    )  # fmt: skip
    summary = "".join(
        f'<li style="color:{RED}"><b>{e(line)}</b></li>' if attention else f"<li>{e(line)}</li>"
        for line, attention in report.findings()
    )
    log_colour = GREEN if report.log.ok else RED
    return f"""
<h2>{e(report.title)}</h2>
<p style="color:#555">{e(APP_NAME)} · generated {e(when(report.generated_at))} ·
times in {e(report.timezone)} · {e(when(report.start))} to {e(when(report.end))}</p>
<h3>Summary</h3>
<ul>{summary}</ul>
<p style="font-size:8pt; color:#555">Time to honour runs from the customer's reply (or the
staff change) to the moment automations stopped (the consent event's recorded time).
Business days count Monday to Friday without US federal holidays, from the day after the
request; rows in red went beyond {LIMIT} business days.</p>
<h3>Opt-outs received ({len(report.opt_outs)})</h3>
{opt_outs}
<h3>Replies held for review ({len(report.reviews)})</h3>
{reviews}
<h3>Texts sent to opted-out numbers ({len(report.texts_to_opted_out)})</h3>
<p style="font-size:8pt; color:#555">Manual sends go through after a warning (the flag is
advisory there). A text not flagged when sent (in red) reached a number the consent events
show as opted out at that moment.</p>
{texts}
<h3>Activity log check</h3>
<p style="color:{log_colour}"><b>{e(report.log.text)}</b></p>
<p style="font-family:monospace; font-size:8pt">{e(report.log.head_text())}</p>
"""


def write_pdf(report: ComplianceReport, path: str | Path) -> None:
    """Print the report to ``path``. Raises OSError when it cannot be written."""
    print_pdf(report_html(report), path, report.title)
