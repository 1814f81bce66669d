"""Cleaning one-line text a person typed or a file supplied (contact names, companies, tags).

Bidirectional controls can make a name read differently from what it is (U+202E
turns "Ann\u202etxet" into "Anntext" shown backwards) and newlines break lists,
exports and log lines. They are removed here, in the one function the contact form,
the command line and the import all go through (``contacts.validate``).
"""

from __future__ import annotations

import re

# Embedding, override and isolate controls, the implicit marks, and invisible characters
# that only hide or reorder text. Zero-width (non-)joiners (U+200C/U+200D) stay: some
# scripts and emoji need them.
BIDI_AND_INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e"  # LRE RLE PDF LRO RLO
    "\u2066\u2067\u2068\u2069"  # LRI RLI FSI PDI
    "\u200e\u200f\u061c"  # LRM RLM ALM
    "\u200b\u2060\ufeff"  # zero width space, word joiner, byte-order mark
)
LINE_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029\t"
_DROP = str.maketrans(dict.fromkeys(BIDI_AND_INVISIBLE, None) | dict.fromkeys(LINE_BREAKS, " "))
_SPACES = re.compile(r" {2,}")


def clean_line(value: str | None) -> str:
    """``value`` without bidirectional or invisible controls, line breaks and tabs turned
    into single spaces, trimmed. Other control characters are left for the caller to refuse."""
    return _SPACES.sub(" ", (value or "").translate(_DROP)).strip()
