"""The one rule for text sent to Salesline, and the repair of text already stored. Pure: no Django.

Every interface (API schemas, web forms through the services, imports, the CLI) applies
`text_problem` through the services, the import's row rules and the process-definition checker,
so a value refused in one place is refused in all. What it refuses:

- a lone UTF-16 surrogate (U+D800-U+DFFF; JSON's "\\ud800"): no encoding can store or send it;
- NUL (U+0000): PostgreSQL cannot store it in text;
- other C0 control characters and DEL: invisible, and XML (so XLSX) cannot hold most of them.
  Tab and line breaks (LF, CR) are allowed only in multi-line text (notes, long text fields);
- bidirectional embedding, override and isolate controls (U+202A-U+202E, U+2066-U+2069) in
  one-line text (names, labels, keys, custom text): they reorder how the rest of a name is shown
  ("Trojan Source"), so "Invoice<U+202E>fdp.exe" reads "Invoiceexe.pdf". They stay allowed in
  multi-line prose, where right-to-left writers use them and the text is shown in a block of its
  own. The marks U+200E, U+200F and U+061C (which reorder nothing) are allowed everywhere;
- the noncharacters U+FFFE and U+FFFF, which XML cannot hold;
- text longer than the field's limit.

C1 control characters (U+0080-U+009F) are allowed: a file decoded as Latin-1 carries Windows-1252
punctuation there, and they encode, store and render everywhere (docs/data-quality.md).

`scrub` is the defence in depth for what is already stored (rows written before this rule, or
directly in the database): rendering and export replace what cannot be encoded instead of failing.
"""

from __future__ import annotations

import re
from typing import Any

# Limits of text without a column of its own (custom-field values live in a JSON column).
CUSTOM_TEXT_MAX = 1_000
# Notes and long text fields (TextField): generous for prose, far below the request size limit.
LONG_TEXT_MAX = 50_000

_SURROGATES = "\ud800-\udfff"
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_NONCHARACTERS = "\ufffe\uffff"
_UNSTORABLE = re.compile(f"[\x00{_SURROGATES}]")
_ONE_LINE_BAD = re.compile(f"[\x00-\x1f\x7f{_SURROGATES}{_NONCHARACTERS}{_BIDI_CONTROLS}]")
_MULTI_LINE_BAD = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f{_SURROGATES}{_NONCHARACTERS}]")
_UNENCODABLE = re.compile(f"[{_SURROGATES}]")


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"


def _reason(char: str) -> str:
    """Why one character is refused: words that follow a field's label."""
    point = ord(char)
    if 0xD800 <= point <= 0xDFFF:
        return f"must not contain a lone UTF-16 surrogate ({_code(char)}): it is not a character"
    if point == 0:
        return "must not contain NUL (U+0000)"
    if char in "\t\n\r":
        return "must be one line (no line breaks or tabs)"
    if point < 0x20 or point == 0x7F:
        return f"must not contain control characters ({_code(char)})"
    if char in "\ufffe\uffff":
        return f"must not contain the noncharacter {_code(char)}"
    return (
        f"must not contain bidirectional control characters ({_code(char)}), which change how "
        "the text around them is shown"
    )


def text_problem(
    value: str, *, max_length: int | None = None, multiline: bool = False
) -> str | None:
    """What is wrong with `value` as stored text, as words that follow the field's label
    ("Name must not contain NUL (U+0000)"), or None when nothing is."""
    if max_length is not None and len(value) > max_length:
        return f"must be at most {max_length:,} characters (it has {len(value):,})"
    # isprintable() is one C loop and false for every character refused here (categories Cc,
    # Cs, Cn and Cf), so ordinary text never reaches the regex.
    if value.isprintable():
        return None
    found = (_MULTI_LINE_BAD if multiline else _ONE_LINE_BAD).search(value)
    return _reason(found[0]) if found else None


def unstorable_problem(value: str) -> str | None:
    """The reason no database can keep `value` (a lone surrogate or NUL), or None. The API
    refuses these anywhere in a request, before any field's own rule is applied."""
    found = _UNSTORABLE.search(value)
    return _reason(found[0]) if found else None


def first_unstorable(value: Any) -> str | None:
    """`unstorable_problem` of the first string found in nested lists, tuples and dicts (keys
    too). Iterative, so no nesting depth can exhaust the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            reason = unstorable_problem(item)
            if reason:
                return reason
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def scrub(value: str) -> str:
    """`value` with every character no encoding can take (lone surrogates) replaced by U+FFFD,
    for rendering and exporting text already stored."""
    if _UNENCODABLE.search(value) is None:
        return value
    return _UNENCODABLE.sub("\ufffd", value)


def scrub_data(value: Any) -> Any:
    """`scrub` applied to every string in a response's data (dict keys too)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub_data(k): scrub_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_data(item) for item in value]
    return value
