"""Text from an app, a device or a file is hostile data: the one place that makes it safe, for its two uses.

- Reading a screen (perception, matching, what a person is shown of a widget):
      clean_screen_text(text)   NFKC, one quote style, control and format characters dropped (no terminal escapes,
                                no bidi overrides), whitespace collapsed, bounded; case kept
      comparable_text(text)     clean_screen_text(text) casefolded: the form every matcher compares
- Writing any value out (graph exports, HTML and SVG, error lines, recorded facts):
      export_text(value)        the value's own characters, bounded, with control, format, surrogate, private,
                                unassigned and line/paragraph-separator characters replaced by a space, so GraphML,
                                DOT, JSON and a terminal carry it as is; nothing else is changed (no normalisation)
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

SCREEN_TEXT_LIMIT = 500  # characters kept of any text / content-desc / resource-id read from a screen
EXPORT_TEXT_LIMIT = 200  # characters kept of any string written out
EXPORT_UNSAFE_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")  # controls, bidi/format, surrogates, private,
# unassigned, line and paragraph separators
SCREEN_DROPPED_CATEGORIES = ("Cc", "Cf", "Cs", "Co")

_QUOTES = str.maketrans({
    "\u2019": "'", "\u2018": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201f": '"', "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"',
    "\u00ab": '"', "\u00bb": '"',
})
_SPACES = re.compile(r"\s+")


def clean_screen_text(text: str, limit: int = SCREEN_TEXT_LIMIT) -> str:
    """`text` for display and matching: NFKC, quotes unified, control and format characters dropped (no terminal
    escapes, no bidi overrides), whitespace collapsed, cut to `limit` characters. Case is kept."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[: limit * 2]).translate(_QUOTES)
    if not text.isprintable():
        text = "".join(" " if ch in "\n\r\t" else ch for ch in text
                       if ch in "\n\r\t" or unicodedata.category(ch) not in SCREEN_DROPPED_CATEGORIES)
    return _SPACES.sub(" ", text).strip()[:limit]


def comparable_text(text: str, limit: int = SCREEN_TEXT_LIMIT) -> str:
    """`clean_screen_text(text)` casefolded: the form every matcher compares."""
    return clean_screen_text(text, limit).casefold()


def export_text(value: Any, limit: int = EXPORT_TEXT_LIMIT) -> str:
    """A bounded string with no control, format (bidi), surrogate or private characters: safe in XML, DOT, HTML
    (after escaping) and a terminal line. None is ''."""
    if value is None:
        return ""
    text = str(value)[: limit * 2]
    if not text.isprintable():
        text = "".join(" " if unicodedata.category(ch) in EXPORT_UNSAFE_CATEGORIES else ch for ch in text)
    return text[:limit]
