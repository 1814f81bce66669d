"""SMS segment counting and outbound body checks.

Pure, Qt-free and dependency-free. The Messaging card uses ``count_segments``
to show "42 characters, 1 segment" while staff type, and every send path calls
``validate_body`` before anything reaches the provider.

Facts this module encodes:

- A message that fits the GSM 03.38 alphabet is sent as 7-bit "GSM-7": one
  segment holds 160 septets; a multipart message holds 153 septets per part
  (7 septets go to the concatenation header). Characters in the GSM extension
  table (``^ { } \\ [ ~ ] | €`` and form feed) are sent as ESC + char and
  cost 2 septets.
- Anything else forces the whole message into UCS-2 (UTF-16): 70 code units
  in one segment, 67 per part when split. Characters outside the Basic
  Multilingual Plane (most emoji) take two UTF-16 code units.
- Encoders never split an escape sequence or a surrogate pair across two
  parts, so a 2-unit character that does not fit in what is left of a part
  moves whole to the next part. We pack the same way, so the count matches
  what the carrier bills.
- Twilio refuses bodies longer than 1600 characters.

We do not model Twilio's optional "smart encoding" (which swaps curly quotes
and similar look-alikes for GSM characters): with it off, our count is exact;
with it on, our count can only be too high, never too low.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

GSM_SINGLE_SEGMENT = 160
GSM_MULTIPART_SEGMENT = 153
UCS2_SINGLE_SEGMENT = 70
UCS2_MULTIPART_SEGMENT = 67

MAX_BODY_CHARACTERS = 1600

# GSM 03.38 basic character set, without ESC (0x1B): a literal ESC in text
# cannot be sent as itself, so it forces UCS-2 like any other foreign character.
GSM_BASIC_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# GSM 03.38 extension table: each costs 2 septets (ESC + the character).
GSM_EXTENSION_CHARACTERS = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class SegmentInfo:
    """How a body will be billed.

    ``characters`` is ``len(body)``: Unicode code points. That matches what a
    person sees for ordinary text; a few composed emoji (flags, families) are
    several code points and so count as more than one character.
    ``remaining_in_segment`` is how many more septets (GSM-7) or UTF-16 code
    units (UCS-2) fit in the last segment before another one starts.
    """

    characters: int
    segments: int
    encoding: str  # "GSM-7" or "UCS-2"
    per_segment: int
    remaining_in_segment: int


def is_gsm7(body: str) -> bool:
    """True when every character of ``body`` can be sent in the GSM-7 alphabet."""
    return all(ch in GSM_BASIC_CHARACTERS or ch in GSM_EXTENSION_CHARACTERS for ch in body)


def _gsm_units(ch: str) -> int:
    return 2 if ch in GSM_EXTENSION_CHARACTERS else 1


def _ucs2_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def count_segments(body: str) -> SegmentInfo:
    """Count the SMS segments ``body`` will be sent as.

    In: any string (empty allowed). Out: a ``SegmentInfo``. An empty body is
    0 segments with the whole first segment remaining. The encoding is GSM-7
    when every character is in the GSM 03.38 tables, otherwise UCS-2.
    """
    if is_gsm7(body):
        encoding, single, multi, units_of = (
            GSM_7,
            GSM_SINGLE_SEGMENT,
            GSM_MULTIPART_SEGMENT,
            _gsm_units,
        )
    else:
        encoding, single, multi = UCS_2, UCS2_SINGLE_SEGMENT, UCS2_MULTIPART_SEGMENT
        units_of = _ucs2_units

    units = [units_of(ch) for ch in body]
    total = sum(units)
    if total == 0:
        return SegmentInfo(0, 0, encoding, single, single)
    if total <= single:
        return SegmentInfo(len(body), 1, encoding, single, single - total)

    # Multipart: pack greedily, never splitting a 2-unit character.
    segments, used = 1, 0
    for n in units:
        if used + n > multi:
            segments += 1
            used = 0
        used += n
    return SegmentInfo(len(body), segments, encoding, multi, multi - used)


class MessageBodyError(ValueError):
    """An outbound body that must not be sent. ``str(error)`` is shown to staff."""


class EmptyMessageError(MessageBodyError):
    """The body is empty or holds only white space / invisible characters."""


def _is_blank(body: str) -> bool:
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in body)


def validate_body(body: str) -> str:
    """Check an outbound body before it is sent; return it unchanged.

    Raises ``EmptyMessageError`` for an empty, white-space-only or
    invisible-only body, and ``MessageBodyError`` for a NUL character (which
    SQLite, PostgreSQL text and Twilio all mishandle) or a body longer than
    Twilio's 1600-character limit. The body is never trimmed or rewritten:
    what staff typed is what is sent and logged.
    """
    if not isinstance(body, str):
        raise MessageBodyError("The message must be text.")
    if _is_blank(body):
        raise EmptyMessageError("Type a message before sending.")
    if "\x00" in body:
        raise MessageBodyError(
            "The message contains an invisible NUL character that cannot be sent. "
            "Retype or paste the text again."
        )
    if len(body) > MAX_BODY_CHARACTERS:
        raise MessageBodyError(
            f"The message is {len(body)} characters long; "
            f"Twilio accepts at most {MAX_BODY_CHARACTERS}. Shorten it or split it."
        )
    return body
