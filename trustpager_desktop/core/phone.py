"""Phone numbers: parse with ``phonenumbers``, keep what was typed and the E.164 form.

Opt-out follows the number (DESIGN promise 6), so every comparison in the
application happens on the E.164 string this module produces.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from trustpager_desktop.core.errors import UserInputError

DEFAULT_REGION = "US"

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "the country code is missing or unknown",
    NumberParseException.NOT_A_NUMBER: "it does not look like a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}


@dataclass(frozen=True)
class PhoneNumber:
    raw: str
    e164: str


class InvalidPhoneNumber(UserInputError):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="phone")


def parse_phone(raw: str, default_region: str = DEFAULT_REGION) -> PhoneNumber:
    """Parse what a user typed into a ``PhoneNumber``.

    ``default_region`` (ISO country code) applies to numbers typed without a
    country code. Raises InvalidPhoneNumber with the reason in words.
    """
    typed = (raw or "").strip()
    if not typed:
        raise InvalidPhoneNumber("Enter a phone number.")
    if len(typed) > 40:
        raise InvalidPhoneNumber("The phone number is too long (40 characters at most).")
    try:
        number = phonenumbers.parse(typed, (default_region or DEFAULT_REGION).upper())
    except NumberParseException as exc:
        reason = _PARSE_REASONS.get(exc.error_type, "it could not be read")
        raise InvalidPhoneNumber(f"'{typed}' is not a valid phone number: {reason}.") from exc
    if not phonenumbers.is_valid_number(number):
        region = phonenumbers.region_code_for_number(number) or default_region.upper()
        raise InvalidPhoneNumber(
            f"'{typed}' is not a valid phone number for {region}: check the digits and the country code."
        )
    return PhoneNumber(raw=typed, e164=phonenumbers.format_number(number, PhoneNumberFormat.E164))


def try_e164(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of ``raw``, or None when it is not a valid number (for inbound senders)."""
    try:
        return parse_phone(raw, default_region).e164
    except InvalidPhoneNumber:
        return None


@functools.lru_cache(maxsize=8192)  # the browser formats the same rows again on every scroll
def format_for_reading(e164: str | None, default_region: str = DEFAULT_REGION) -> str:
    """'(415) 555-0101' at home, '+44 20 7946 0000' abroad; the input unchanged if unparsable."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(number) == (default_region or DEFAULT_REGION).upper()
    style = PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


def is_probably_mobile_capable(e164: str) -> bool:
    """False only for numbers known to be landlines (they cannot receive texts)."""
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return kind not in (PhoneNumberType.FIXED_LINE,)


_NON_DIGITS = re.compile(r"\D+")


def phone_search_digits(query: str, default_region: str = DEFAULT_REGION) -> list[str] | None:
    """Digit strings a phone-like search looks for anywhere in a contact's E.164 number,
    or None when ``query`` is not phone-like (fewer than 3 digits, or letters or '@').

    Any run of the number matches, in any format: "0137", "555-0137", "(415) 555-0137"
    and "+1 415 555 0137" all find +14155550137. A leading trunk zero, where the
    country dials one ("020 7946" in GB), is also tried without it, since E.164 drops it.
    A complete number adds its E.164 digits. Strings contained in another are dropped
    (matching the shorter already matches the longer).
    """
    digits = _NON_DIGITS.sub("", query)
    if len(digits) < 3 or re.search(r"[A-Za-z@]", query):
        return None
    region = (default_region or DEFAULT_REGION).upper()
    candidates = [digits]
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
    trunk = metadata.national_prefix if metadata is not None else None
    if trunk == "0" and digits.startswith("0") and not query.strip().startswith("+"):
        candidates.append(digits[1:])
    full = try_e164(query, region)
    if full:
        candidates.append(full.lstrip("+"))
    unique = [c for c in dict.fromkeys(candidates) if len(c) >= 3]
    return [c for c in unique if not any(o != c and o in c for o in unique)]
