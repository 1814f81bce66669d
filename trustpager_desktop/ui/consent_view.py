"""How a ``core.consent.ConsentState`` looks on screen: the one place that turns the
state every screen shares into text, colour and icon (plain text only)."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from trustpager_desktop.core.consent import ConsentState, ConsentStatus, Severity
from trustpager_desktop.ui.common import coloured
from trustpager_desktop.ui.theme import Tone, tone_colour

# The browser's SMS column: short words for a narrow column.
SHORT_LABELS = {
    ConsentStatus.SUBSCRIBED: "Subscribed",
    ConsentStatus.NO_NUMBER: "No number",
    ConsentStatus.OPTED_OUT: "Opted out",
    ConsentStatus.NUMBER_OPTED_OUT: "Number opted out",
    ConsentStatus.NUMBER_SUPPRESSED: "Number opted out",
    ConsentStatus.AWAITING_START: "Waiting for START",
    ConsentStatus.HELD_FOR_REVIEW: "Held: reply to review",
    ConsentStatus.UNDELIVERABLE: "Texts fail",
    ConsentStatus.PURPOSE_DECLINED: "Purpose declined",
    ConsentStatus.NO_CONSENT_ON_RECORD: "No consent on record",
}


def severity_tone(severity: Severity) -> Tone:
    """The status tone of a severity (readable in the palette in use)."""
    if severity in (Severity.BLOCKED, Severity.WARNING):
        return Tone.WARNING
    return Tone.OK if severity is Severity.OK else Tone.NORMAL


def severity_colour(severity: Severity) -> QColor | None:
    """The colour for an item model's ForegroundRole; None keeps the normal text colour."""
    tone = severity_tone(severity)
    return None if tone is Tone.NORMAL else tone_colour(tone)


def short_label(state: ConsentState) -> str:
    """'Opted out', 'Held: reply to review'... (the full label goes in the tooltip)."""
    if state.status is ConsentStatus.SUBSCRIBED and state.pending_replies:
        return "Subscribed (reply to review)"
    return SHORT_LABELS.get(state.status, state.label)


def status_text(state: ConsentState) -> str:
    """The state's line under a heading: 'Subscribed' when there is nothing more to say,
    else the detail ('Opted out since 26 Nov 2026, 10:04 by STOP reply')."""
    if state.status is ConsentStatus.SUBSCRIBED and not state.pending_replies:
        return "Subscribed"
    return state.detail


def record_line(state: ConsentState, zone: str) -> str:
    """'Consent: 15 Mar 2026, web form, spring promo' or 'No consent on record' (the
    contact's opt-in record; '' for a bare number, which has none)."""
    return state.record.line(zone) if state.record is not None else ""


def tooltip(state: ConsentState) -> str:
    return f"{state.label}. {state.detail}"


def show_state(label: QLabel, state: ConsentState, text: str | None = None) -> QLabel:
    """Put ``text`` (default: the state's label) on ``label`` in the state's colour."""
    label.setText(state.label if text is None else text)
    return coloured(label, severity_tone(state.severity))


def ask_default_no(
    parent: QWidget, title: str, text: str, yes: str, no: str, *, warning: bool = False
) -> bool:
    """A yes/no question about a consent step whose safe answer is No (the default)."""
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Question
    box = QMessageBox(icon, title, text,
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent)  # fmt: skip
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText(yes)
    box.button(QMessageBox.StandardButton.No).setText(no)
    return box.exec() == QMessageBox.StandardButton.Yes
