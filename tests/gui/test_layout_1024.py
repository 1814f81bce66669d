"""The window works at 1024x700: every page fits, and a very long name is cut short with
'…' (full text in the tooltip) instead of widening the window."""

from __future__ import annotations

import pytest

from tests.gui.conftest import wait_loaded
from trustpager_desktop.core import demo
from trustpager_desktop.ui.main_window import NAVIGATION, MainWindow

LONG_FIRST = "Maximiliana-Evangelina Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh"
LONG_LAST = "Cholmondeley-Marjoribanks-Vanderbilt-Oppenheimer the Third of Westminster"
SIZE = (1024, 700)


@pytest.fixture
def window(qtbot, services, add_contact):
    with services.db.write() as s:
        demo.fill_demo(s, clock=services.clock)
    long_id = add_contact(LONG_FIRST, LONG_LAST, phone="(415) 555-0199", company=LONG_LAST)
    w = MainWindow(services)
    qtbot.addWidget(w)
    w.resize(*SIZE)
    w.show()
    qtbot.waitExposed(w)
    w.long_id = long_id
    return w


@pytest.mark.parametrize("key", [key for key, _label in NAVIGATION])
def test_every_page_fits_in_1024_by_700(qtbot, window, key):
    window.show_page(key)
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.page(key))
    hint = window.minimumSizeHint()
    assert hint.width() <= SIZE[0] and hint.height() <= SIZE[1], (key, hint)
    assert (window.width(), window.height()) == SIZE


def test_a_very_long_name_is_elided_not_widening_the_window(qtbot, window):
    window.open_contact(window.long_id)
    wait_loaded(window.contact_page)
    page = window.contact_page
    qtbot.waitUntil(lambda: page.title.is_elided())
    assert window.width() == SIZE[0]
    assert window.minimumSizeHint().width() <= SIZE[0]
    assert page.title.text() == f"{LONG_FIRST} {LONG_LAST}"  # the whole name, for code
    assert page.title.toolTip() == f"{LONG_FIRST} {LONG_LAST}"  # and for people
    assert page.subtitle.is_elided()


def test_the_window_shrinks_back_after_a_long_name(qtbot, window):
    window.resize(1280, 800)
    window.open_contact(window.long_id)
    wait_loaded(window.contact_page)
    window.show_page("contacts")
    window.resize(*SIZE)
    qtbot.waitUntil(lambda: window.width() == SIZE[0])
    window.open_contact(window.long_id)
    wait_loaded(window.contact_page)
    assert window.width() == SIZE[0]
