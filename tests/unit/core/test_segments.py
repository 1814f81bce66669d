"""Segment counting and body validation: boundaries, encodings, errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trustpager_desktop.core.segments import (
    GSM_BASIC_CHARACTERS,
    GSM_EXTENSION_CHARACTERS,
    MAX_BODY_CHARACTERS,
    EmptyMessageError,
    MessageBodyError,
    SegmentInfo,
    count_segments,
    validate_body,
)

EMOJI = "😀"  # outside the BMP: two UTF-16 code units

SEGMENT_CASES = [
    # id, body, characters, segments, encoding, per_segment, remaining
    ("empty", "", 0, 0, "GSM-7", 160, 160),
    ("one char", "a", 1, 1, "GSM-7", 160, 159),
    ("160 gsm", "a" * 160, 160, 1, "GSM-7", 160, 0),
    ("161 gsm", "a" * 161, 161, 2, "GSM-7", 153, 145),
    ("306 gsm", "a" * 306, 306, 2, "GSM-7", 153, 0),
    ("307 gsm", "a" * 307, 307, 3, "GSM-7", 153, 152),
    ("459 gsm", "a" * 459, 459, 3, "GSM-7", 153, 0),
    ("gsm accents stay gsm", "Café à Zürich, Ñoño ¿sì?", 24, 1, "GSM-7", 160, 136),
    ("acute a is not gsm", "á", 1, 1, "UCS-2", 70, 69),
    ("newline is gsm", "line1\nline2", 11, 1, "GSM-7", 160, 149),
    ("euro costs 2", "€", 1, 1, "GSM-7", 160, 158),
    ("all extension chars", "^{}\\[~]|€\f", 10, 1, "GSM-7", 160, 140),
    ("80 braces = 160 septets", "{" * 80, 80, 1, "GSM-7", 160, 0),
    ("81 braces = 162 septets", "{" * 81, 81, 2, "GSM-7", 153, 143),  # 76 + 5 braces
    ("159 + euro = 161 septets", "a" * 159 + "€", 160, 2, "GSM-7", 153, 145),
    # 152 septets then an escape: it does not fit in part 1 and moves whole.
    ("escape not split", "a" * 152 + "€" + "a" * 10, 163, 2, "GSM-7", 153, 141),
    ("one emoji -> ucs2", "Hi " + EMOJI, 4, 1, "UCS-2", 70, 65),
    ("curly quote -> ucs2", "It’s ready", 10, 1, "UCS-2", 70, 60),
    ("70 ucs2", "ж" * 70, 70, 1, "UCS-2", 70, 0),
    ("71 ucs2", "ж" * 71, 71, 2, "UCS-2", 67, 63),
    ("134 ucs2", "ж" * 134, 134, 2, "UCS-2", 67, 0),
    ("135 ucs2", "ж" * 135, 135, 3, "UCS-2", 67, 66),
    ("35 emoji = 70 units", EMOJI * 35, 35, 1, "UCS-2", 70, 0),
    ("36 emoji = 72 units", EMOJI * 36, 36, 2, "UCS-2", 67, 61),  # 33 + 3 emoji
    # 66 units then an emoji: the surrogate pair moves whole to part 2.
    ("surrogate not split", "ж" * 66 + EMOJI + "ж" * 5, 72, 2, "UCS-2", 67, 60),
    ("bmp symbol is 1 unit", "✓" * 70, 70, 1, "UCS-2", 70, 0),
    ("literal ESC forces ucs2", "a\x1bb", 3, 1, "UCS-2", 70, 67),
    ("cjk", "你好", 2, 1, "UCS-2", 70, 68),
]


@pytest.mark.parametrize(
    ("body", "characters", "segments", "encoding", "per_segment", "remaining"),
    [case[1:] for case in SEGMENT_CASES],
    ids=[case[0] for case in SEGMENT_CASES],
)
def test_count_segments_table(body, characters, segments, encoding, per_segment, remaining):
    assert count_segments(body) == SegmentInfo(
        characters, segments, encoding, per_segment, remaining
    )


GSM_ALPHABET = "".join(sorted(GSM_BASIC_CHARACTERS | GSM_EXTENSION_CHARACTERS))


@given(st.text(alphabet=GSM_ALPHABET, max_size=800))
def test_gsm_text_matches_septet_arithmetic(body):
    info = count_segments(body)
    septets = sum(2 if ch in GSM_EXTENSION_CHARACTERS else 1 for ch in body)
    assert info.encoding == "GSM-7"
    assert info.characters == len(body)
    if septets <= 160:
        assert info.segments == (1 if septets else 0)
    else:
        # Never fewer parts than plain division; at most one more from a moved escape per part.
        assert math.ceil(septets / 153) <= info.segments <= math.ceil(septets / 152)
    assert 0 <= info.remaining_in_segment <= info.per_segment


@given(st.text(max_size=400))
def test_any_text_gives_consistent_info(body):
    info = count_segments(body)
    assert info.characters == len(body)
    assert info.encoding in {"GSM-7", "UCS-2"}
    assert (info.segments == 0) == (body == "")
    assert 0 <= info.remaining_in_segment <= info.per_segment
    # Appending text never reduces the number of segments.
    assert count_segments(body + "x").segments >= info.segments


@pytest.mark.parametrize("body", ["", " ", "\n\t ", "\u00a0", "\u200b", " \u200b\u2060 "])
def test_validate_refuses_blank(body):
    with pytest.raises(EmptyMessageError, match="Type a message before sending."):
        validate_body(body)


def test_empty_error_is_value_error():
    assert issubclass(EmptyMessageError, ValueError)
    assert issubclass(MessageBodyError, ValueError)


def test_validate_refuses_nul():
    with pytest.raises(MessageBodyError, match="NUL"):
        validate_body("hello\x00there")


def test_validate_refuses_too_long():
    with pytest.raises(MessageBodyError, match="1601 characters"):
        validate_body("a" * (MAX_BODY_CHARACTERS + 1))


@pytest.mark.parametrize("body", ["a" * 1600, " padded ", "Hi 😀", "x"])
def test_validate_returns_body_unchanged(body):
    assert validate_body(body) is body


def test_validate_refuses_non_text():
    with pytest.raises(MessageBodyError):
        validate_body(None)  # type: ignore[arg-type]
