"""Text from outside kb (an agency's record, an entry file, a pasted DOI) made safe to keep and to show.

Used wherever such text is kept or printed: `kb new` and `kb check-dois` (kb.doi), the validation of entries
(kb.validate.rules refuses hidden characters) and every problem message (kb.problems prints through `shown`).

A record's strings may carry control characters (`\\x01`), whole terminal escape sequences (`\\x1b[2J` clears
the screen), bidirectional overrides (U+202E shows text reversed) and zero-width characters: invisible or
misleading in a YAML file, and in a terminal able to rewrite what a person sees. Two remedies, for two places:

    without_controls  for what kb keeps (the draft, notices): such characters are removed
    shown             for what kb prints: such characters are written out as \\x1b, \\u202e
    is_hidden         for what kb refuses (entries): one such character

Example:

    >>> without_controls("A\\x1b[2J title\\u202e with\\u200b tricks\\x01")
    'A title with tricks'
    >>> shown("cleared\\x1b[2J and \\u202ereversed")
    'cleared\\\\x1b[2J and \\\\u202ereversed'
"""

from __future__ import annotations

import re
import string
import unicodedata

# Control characters, invisible formatting (bidi controls, zero-width characters, soft hyphens) and lone
# surrogates (which JSON's \\ud800 can produce and no UTF-8 file or terminal can hold).
_HIDDEN = frozenset({"Cc", "Cf", "Cs"})
# Line and paragraph separators as well: YAML and some terminals treat them as line breaks.
_NOT_SHOWN = _HIDDEN | {"Zl", "Zp"}
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# A terminal escape sequence (CSI such as ESC [ 2 J, OSC such as ESC ] 0 ; title BEL, or a two-byte one) goes as a
# whole: removing only the ESC would leave "[2J" in a title.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?"
)


def is_hidden(character: str) -> bool:
    """A control, invisible formatting character or lone surrogate."""
    return unicodedata.category(character) in _HIDDEN


def without_controls(text: str) -> str:
    """`text` without terminal escape sequences, control, bidi and zero-width characters; control characters that
    are whitespace (tab, line breaks) become spaces, so that words stay apart."""
    if text.isprintable():
        return text
    text = _ESCAPE_SEQUENCE.sub("", text)
    return "".join(" " if c.isspace() else "" if is_hidden(c) else c for c in text)


def shown(text: str, *, keep_newlines: bool = False) -> str:
    """`text` as it may be printed on a terminal: every control, invisible or line-separating character escaped
    as Python writes it (\\x1b, \\u202e), so that nothing printed can move the cursor, clear the screen or reorder
    what a person reads. Newlines stay when `keep_newlines` (for multi-line output such as a draft)."""
    if text.isprintable():
        return text
    return "".join(c if c == "\n" and keep_newlines else _escaped(c) for c in text)


def _escaped(character: str) -> str:
    if unicodedata.category(character) not in _NOT_SHOWN:
        return character
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


_ZERO_WIDTH_SPACE = "\u200b"  # never in the escaped text itself: without_controls removes it first
# Where GitHub would see a mention or reference (@x, #1, GH-1), an emoji (:x:) or a bare link (x://, www.x):
# a zero-width space there breaks the pattern without changing what a reader sees.
_BREAK_HERE = re.compile(r"(?<=[@#])|(?<=:)(?=\S)|(?i:(?<=\bwww)(?=\.)|(?<=\bgh)(?=-))")
# Every ASCII punctuation character backslash-escaped (CommonMark shows it as itself, and GFM tables then keep
# `\|` inside a cell); the zero-width spaces as an entity, so that they stay visible in the source.
_ESCAPES = str.maketrans({c: "\\" + c for c in string.punctuation} | {_ZERO_WIDTH_SPACE: "&#8203;"})


def escape_markdown(value: object) -> str:
    """`value` as Markdown text that GitHub shows literally, on one line."""
    text = " ".join(without_controls(str(value)).split())
    text = _BREAK_HERE.sub(_ZERO_WIDTH_SPACE, text)
    return text.translate(_ESCAPES)
