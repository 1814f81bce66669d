import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustpager_desktop.core.phone import (
    InvalidPhoneNumber,
    format_for_reading,
    parse_phone,
    phone_search_digits,
)


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("(415) 555-0101", "US", "+14155550101"),
        ("415.555.0101", "US", "+14155550101"),
        ("+1 415 555 0101", "GB", "+14155550101"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("07911 123456", "gb", "+447911123456"),
        ("  4155550101  ", "US", "+14155550101"),
    ],
)
def test_numbers_are_normalised_to_e164_and_keep_what_was_typed(typed, region, e164):
    number = parse_phone(typed, region)
    assert number.e164 == e164
    assert number.raw == typed.strip()


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "Enter a phone number"),
        ("hello", "does not look like a phone number"),
        ("555", "not a valid phone number"),
        ("+1 415 555 01019999", "not a valid phone number"),
        ("1" * 41, "too long"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(typed, reason):
    with pytest.raises(InvalidPhoneNumber, match=reason) as info:
        parse_phone(typed, "US")
    assert info.value.field == "phone"


def test_formatting_for_reading_is_national_at_home_and_international_abroad():
    assert format_for_reading("+14155550101", "US") == "(415) 555-0101"
    assert format_for_reading("+442079460018", "US") == "+44 20 7946 0018"
    assert format_for_reading(None) == ""


@pytest.mark.parametrize(
    "typed", ["(415) 555-0101", "4155550101", "+1 415 555 0101", "415-555-0101"]
)
def test_phone_search_looks_for_the_digits_whatever_format_is_typed(typed):
    # The typed digits are inside the E.164 form, so matching them matches it too.
    assert phone_search_digits(typed, "US") in (["4155550101"], ["14155550101"])


@pytest.mark.parametrize(
    ("typed", "region", "digits"),
    [
        ("0137", "US", ["0137"]),  # no trunk zero in the US: the zero is part of the number
        ("555-0137", "US", ["5550137"]),
        ("415 555", "US", ["415555"]),
        ("+44 20", "US", ["4420"]),
        ("020 7946", "GB", ["207946"]),  # E.164 has no trunk zero: look without it
        ("020 7946 0018", "GB", ["2079460018"]),
    ],
)
def test_partial_numbers_are_searched_anywhere_in_the_number(typed, region, digits):
    assert phone_search_digits(typed, region) == digits


def test_words_and_short_numbers_are_not_phone_searches():
    assert phone_search_digits("ann", "US") is None
    assert phone_search_digits("ann@x.com", "US") is None
    assert phone_search_digits("12", "US") is None


@given(st.text(max_size=50))
def test_parsing_never_fails_with_anything_but_a_clear_error(text):
    try:
        number = parse_phone(text, "US")
    except InvalidPhoneNumber as exc:
        assert exc.message
    else:
        assert number.e164.startswith("+")
