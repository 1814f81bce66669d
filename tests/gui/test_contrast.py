"""Colours pass 4.5:1 (WCAG AA) in a light and a dark palette: every toned text the window
actually shows, the opted-out cell in the contact list, the sandbox badge and the grey
hint text, measured against the backgrounds they can sit on."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from tests.gui.conftest import wait_loaded
from trustpager_desktop.core import demo
from trustpager_desktop.ui.contact_browser import SMS_COLUMN
from trustpager_desktop.ui.main_window import NAVIGATION, MainWindow
from trustpager_desktop.ui.theme import (
    MIN_CONTRAST,
    SANDBOX_BACKGROUND,
    SANDBOX_TEXT,
    Tone,
    apply_palette,
    backgrounds,
    contrast_ratio,
    tone_colour,
    tone_of,
)

Role = QPalette.ColorRole


@pytest.fixture(params=["light", "dark"])
def palette(request, qapp):
    saved_palette, saved_style = QPalette(qapp.palette()), qapp.style().name()
    apply_palette(qapp, request.param)
    yield qapp.palette()
    qapp.setStyle(saved_style)
    qapp.setPalette(saved_palette)


@pytest.fixture
def window(qtbot, services, add_contact, palette):
    with services.db.write() as s:
        demo.fill_demo(s, clock=services.clock)
    opted_out = add_contact("Olga", "Out", phone="(415) 555-0198", opted_out=True)
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.resize(1024, 700)
    w.show()
    qtbot.waitExposed(w)
    w.set_paused(True)  # the paused indicator and banner are toned too
    for key, _label in NAVIGATION:
        w.show_page(key)
    w.settings_page._refuse("default_country", "a refusal, shown in the error tone")
    w.opportunities_page.show_opportunity(1)  # a subscribed contact: the OK tone
    wait_loaded(w.opportunities_page)
    w.open_contact(opted_out)
    wait_loaded(w.contact_page)
    return w


def _worst(colour: QColor, palette: QPalette) -> float:
    return min(contrast_ratio(colour, ground) for ground in backgrounds(palette))


def test_every_toned_text_shown_reads_at_4_5_to_1(window, palette):
    toned = [w for w in window.findChildren(QWidget) if tone_of(w) not in (None, Tone.NORMAL)]
    seen_tones = {tone_of(w) for w in toned}
    assert {Tone.OK, Tone.WARNING, Tone.ERROR} <= seen_tones  # the test looks at real use
    for widget in toned:
        colour = widget.palette().color(widget.foregroundRole())
        ratio = _worst(colour, palette)
        assert ratio >= MIN_CONTRAST, (widget, tone_of(widget), colour.name(), round(ratio, 2))


def test_the_opted_out_cell_reads_at_4_5_to_1(window, palette):
    model = window.contact_browser.model
    cells = [model.index(r, SMS_COLUMN) for r in range(model.rowCount())]
    colours = [c for i in cells if (c := model.data(i, Qt.ItemDataRole.ForegroundRole))]
    assert colours
    for colour in colours:
        assert _worst(colour, palette) >= MIN_CONTRAST, colour.name()


def test_grey_hint_text_reads_at_4_5_to_1(window, palette):
    hint = palette.color(Role.PlaceholderText)
    assert _worst(hint, palette) >= MIN_CONTRAST, hint.name()
    hint_labels = [
        label
        for label in window.findChildren(QLabel)
        if label.foregroundRole() == Role.PlaceholderText
    ]
    assert hint_labels  # empty states, the opportunity hint
    for label in hint_labels:
        assert _worst(label.palette().color(Role.PlaceholderText), palette) >= MIN_CONTRAST


def test_the_sandbox_badge_draws_its_own_readable_colours(window):
    assert "background" in window.provider_label.styleSheet()
    assert contrast_ratio(SANDBOX_TEXT, SANDBOX_BACKGROUND) >= MIN_CONTRAST


def test_tones_follow_a_palette_change(window, qapp, palette):
    warning = window.pause_label
    before = warning.palette().color(warning.foregroundRole())
    other = "light" if palette.color(Role.Base).lightnessF() < 0.5 else "dark"
    apply_palette(qapp, other)
    after = warning.palette().color(warning.foregroundRole())
    assert after != before
    assert after == tone_colour(Tone.WARNING, QApplication.palette())
    assert _worst(after, QApplication.palette()) >= MIN_CONTRAST
