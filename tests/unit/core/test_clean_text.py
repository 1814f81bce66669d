"""clean_line: one-line text a person typed or a file supplied, made safe to show."""

from __future__ import annotations

from trustpager_desktop.core.clean_text import clean_line


def test_a_right_to_left_override_cannot_make_a_name_read_backwards():
    assert clean_line("Ann\u202etxet") == "Anntxet"
    assert clean_line("\u2066Bob\u2069 \u200eLee\u200f") == "Bob Lee"


def test_line_breaks_and_tabs_become_single_spaces_and_the_ends_are_trimmed():
    assert clean_line("  Acme\r\nPlumbing\t\tand   Heating\u2028 ") == "Acme Plumbing and Heating"


def test_joiners_that_scripts_and_emoji_need_are_kept():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_line(f"Ann {family}") == f"Ann {family}"
    assert clean_line("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == (
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"
    )


def test_nothing_given_is_an_empty_name():
    assert clean_line(None) == ""
    assert clean_line("\u200b\ufeff \n") == ""
