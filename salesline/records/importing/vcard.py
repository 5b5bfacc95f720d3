"""Reading a vCard file (.vcf: Apple and iCloud contacts, Google, Outlook, phones) as a table: the
same `header` and `rows()` as a spreadsheet, one row per card, so an import of cards is an
import like any other (mapping, dry run, duplicates, report, undo).

vCard 2.1, 3.0 and 4.0 are read with vobject, folded lines and quoted-printable included. The
file is split into cards here, line by line, so a card vobject cannot read is one rejected row
(its number and the reason) and the cards around it import; and so a hostile file cannot make
it hold more than one bounded card in memory (`LIMITS`). Photos, logos, sounds and keys are
dropped while splitting: nothing imports them and they are most of a file's bytes.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import vobject

from .reader import UnreadableFile, detect_encoding
from .rowtypes import Card, UnreadableRow


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 256 * 1024 * 1024
    cards: int = 200_000
    line_chars: int = 64 * 1024  # one physical line (a longer one rejects its card)
    card_chars: int = 256 * 1024  # a card's text once its photos are dropped


# The one place the bounds of a vCard file are set.
LIMITS = Limits()

COLUMNS = [
    "Name",
    "First name",
    "Middle name",
    "Last name",
    "E-mail",
    "Phone",
    "Company",
    "Job title",
    "Website",
    "Address",
    "Notes",
]
SEPARATOR = " ::: "  # several values in one cell, as Google writes them; the import splits them
DROPPED = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_PROPERTY = re.compile(r"^(?:[A-Za-z0-9-]+\.)?([A-Za-z0-9-]+)")
_AT_LINE = re.compile(r"^At line \d+: ")

# Which e-mail or phone comes first when a card has several (lower first; ties in card order):
# the one marked preferred, then work, mobile, a plain number, home, the rest. Fax and pager
# numbers are not phone numbers one calls.
EMAIL_ORDER = {"work": 0, "internet": 0, "home": 1}
PHONE_ORDER = {"work": 0, "cell": 1, "mobile": 1, "iphone": 1, "main": 2, "voice": 2, "home": 3}
NOT_PHONES = frozenset({"fax", "pager"})


def is_vcard(path: Path) -> bool:
    """Whether a file is a vCard file: its first line, whatever its encoding, is BEGIN:VCARD."""
    with open(path, "rb") as stream:
        head = stream.read(4096)
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            text = head[len(bom) :].decode(encoding, errors="ignore")
            break
    else:
        text = head.decode("latin-1")
    return text.lstrip(" \t\r\n\ufeff").upper().startswith("BEGIN:VCARD")


def _physical_lines(stream: TextIO, limit: int) -> Iterator[tuple[str, bool]]:
    """(line, cut): each line without its end, at most `limit` characters; a longer one is cut
    there and the rest of it skipped unread into memory."""
    while line := stream.readline(limit):
        if line[:1] == "\ufeff":  # a byte-order mark the decoder left (one written twice)
            line = line[1:]
        if len(line) >= limit and not line.endswith(("\n", "\r")):
            while (rest := stream.readline(limit)) and not rest.endswith(("\n", "\r")):
                pass
            yield line, True
        else:
            yield line.rstrip("\r\n"), False


@dataclass
class _Card:
    number: int
    line: int  # where it begins in the file
    lines: list[str]
    size: int = 0
    problem: str = ""
    skipping: bool = False  # inside a dropped property (a photo)


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value if _text(v))
    return str(value).strip() if value is not None else ""


def _types(line) -> set[str]:
    """A property's TYPE parameters, in lower case, however the version writes them
    (TYPE=work,cell; TYPE=work;TYPE=cell; 2.1's bare ;WORK;CELL)."""
    found = set()
    for value in line.params.get("TYPE", []):
        found.update(part.strip().strip('"').lower() for part in value.split(","))
    found.update(value.lower() for value in getattr(line, "singletonparams", []))
    return found


def _preference(line, types: set[str]) -> int:
    """vCard 4's PREF=1..100, or 3.0's TYPE=pref, puts a value first."""
    pref = line.params.get("PREF")
    if pref:
        try:
            return int(pref[0])
        except ValueError:
            return 100
    return 0 if "pref" in types else 101


def _ordered(lines, order: dict[str, int], default: int) -> list[tuple[Any, set[str]]]:
    ranked = []
    for position, line in enumerate(lines):
        types = _types(line)
        rank = min((order[t] for t in types if t in order), default=default)
        ranked.append(((_preference(line, types), rank, position), line, types))
    return [(line, types) for _, line, types in sorted(ranked, key=lambda item: item[0])]


def _address(value: Any) -> str:
    parts = [
        _text(getattr(value, name, ""))
        for name in ("box", "extended", "street", "city", "region", "code", "country")
    ]
    return ", ".join(part for part in parts if part) if any(parts) else _text(value)


def is_organisation(card: Any) -> bool:
    """Whether a parsed card is a company's: vCard 4's KIND:org, or Apple's X-ABShowAs:COMPANY
    (Apple Contacts and iCloud write vCard 3.0, which has no KIND)."""
    contents = card.contents
    kind = _text(contents["kind"][0].value).lower() if "kind" in contents else ""
    shown_as = _text(contents["x-abshowas"][0].value).upper() if "x-abshowas" in contents else ""
    return kind in ("org", "organization") or shown_as == "COMPANY"


def card_cells(card: Any) -> list[str]:
    """A parsed card as a row of COLUMNS. An organisation's card has no person's name: its
    Name is the organisation's (FN, else ORG), and so is its Company."""
    contents = card.contents
    name = _text(contents["fn"][0].value) if "fn" in contents else ""
    first = middle = last = ""
    organisation = is_organisation(card)
    if "n" in contents and not organisation:
        parts = contents["n"][0].value
        first = _text(getattr(parts, "given", ""))
        middle = _text(getattr(parts, "additional", ""))
        last = _text(getattr(parts, "family", ""))
    emails = [
        _text(line.value) for line, _ in _ordered(contents.get("email", []), EMAIL_ORDER, default=0)
    ]
    phones = [
        _text(line.value).removeprefix("tel:")
        for line, types in _ordered(contents.get("tel", []), PHONE_ORDER, default=2)
        if not types & NOT_PHONES
    ]
    company = ""
    if "org" in contents:
        org = contents["org"][0].value
        company = _text(org[0] if isinstance(org, list) and org else org)
    title = _text(contents["title"][0].value) if "title" in contents else ""
    urls = [_text(line.value) for line in contents.get("url", [])]
    # Apple keeps social profiles apart: X-SOCIALPROFILE;type=linkedin:https://...
    urls += [
        _text(line.value)
        for line in contents.get("x-socialprofile", [])
        if _text(line.value).lower().startswith(("http://", "https://"))
    ]
    addresses = _ordered(contents.get("adr", []), EMAIL_ORDER, default=0)
    address = _address(addresses[0][0].value) if addresses else ""
    notes = "\n".join(_text(line.value) for line in contents.get("note", []))
    if organisation:
        name = name or company
        company = company or name
    return [
        name,
        first,
        middle,
        last,
        SEPARATOR.join(e for e in emails if e),
        SEPARATOR.join(p for p in phones if p),
        company,
        title,
        SEPARATOR.join(u for u in urls if u),
        address,
        notes,
    ]


class VCardBook:
    """A vCard file as a table: `header` (COLUMNS) and `rows()`, one per card, numbered from 1
    (there is no header row)."""

    first_row = 1
    kind = "vcard"

    def __init__(self, path: Path | str, limits: Limits = LIMITS):
        self.path = Path(path)
        self.limits = limits
        self.header = list(COLUMNS)
        size = os.path.getsize(self.path)
        if size > limits.file_bytes:
            raise UnreadableFile(
                f"the vCard file is {size / 2**20:.1f} MiB; the limit is "
                f"{limits.file_bytes / 2**20:.0f} MiB"
            )
        self.encoding = detect_encoding(self.path)
        self.cards = self._count()
        if self.cards > limits.cards:
            raise UnreadableFile(
                f"the file holds {self.cards:,} cards; the limit is {limits.cards:,} "
                "(split it into several files)"
            )
        if not self.cards:
            raise UnreadableFile("the file holds no card (no BEGIN:VCARD line)")

    def _open(self) -> TextIO:
        return open(self.path, encoding=self.encoding, errors="replace", newline="")

    def _count(self) -> int:
        with self._open() as stream:
            return sum(
                1
                for line, _ in _physical_lines(stream, self.limits.line_chars)
                if _marker(line) == "BEGIN:VCARD"
            )

    def estimated_rows(self) -> int:
        return self.cards

    def notes(self) -> list[str]:
        return []

    def _cards(self) -> Iterator[_Card]:
        """Each card's lines (photos dropped), with the problem that makes it unreadable."""
        limits = self.limits
        card: _Card | None = None
        number = 0
        with self._open() as stream:
            for line_number, (line, cut) in enumerate(
                _physical_lines(stream, limits.line_chars), start=1
            ):
                marker = _marker(line)
                if marker == "BEGIN:VCARD":
                    if card is not None:
                        card.problem = card.problem or "it has no END:VCARD before the next card"
                        yield card
                    number += 1
                    card = _Card(number, line_number, [line], len(line))
                    continue
                if card is None:
                    continue  # text between cards
                if marker == "END:VCARD":
                    card.lines.append(line)
                    yield card
                    card = None
                    continue
                continued = line[:1] in (" ", "\t")
                if card.skipping and line and (continued or ":" not in line):
                    continue
                card.skipping = False
                if not line:
                    continue
                found = None if continued else _PROPERTY.match(line)
                if found and found.group(1).upper() in DROPPED:
                    card.skipping = True
                    continue
                if cut:
                    card.problem = card.problem or (
                        f"line {line_number} is longer than {limits.line_chars:,} characters"
                    )
                    continue
                card.size += len(line) + 2
                if card.size > limits.card_chars:
                    card.problem = card.problem or (
                        f"it is longer than {limits.card_chars:,} characters without its photo"
                    )
                    continue
                card.lines.append(line)
        if card is not None:
            card.problem = card.problem or "the file ends before its END:VCARD"
            yield card

    def rows(self, start: int = 1) -> Iterator[tuple[int, list[str]]]:
        """(card number, cells) for each card from `start` on: a Card (a person's or an
        organisation's), or for an unreadable card an UnreadableRow (the name it gives, if any,
        and why); a blank one is skipped."""
        for card in self._cards():
            if card.number < start:
                continue
            where = f"Card {card.number} (line {card.line})"
            if card.problem:
                yield card.number, UnreadableRow(_salvage(card), f"{where} {card.problem}.")
                continue
            try:
                parsed = vobject.readOne("\r\n".join(card.lines) + "\r\n", allowQP=True)
                cells = card_cells(parsed)
                organisation = is_organisation(parsed)
            except Exception as exc:  # noqa: BLE001 - any parse failure rejects this card alone
                reason = _AT_LINE.sub("", str(exc)) or type(exc).__name__
                yield (
                    card.number,
                    UnreadableRow(_salvage(card), f"{where} cannot be read: {reason}."),
                )
                continue
            if any(cells):
                yield card.number, Card(cells, where=where, organisation=organisation)


def _marker(line: str) -> str:
    """BEGIN:VCARD or END:VCARD when a line is one of them (any case), else ''."""
    return line.rstrip().upper() if len(line) < 24 and line[:1] in "BbEe" else ""


def _salvage(card: _Card) -> list[str]:
    """The cells of a card that cannot be read: its FN, so the report says whose card it is."""
    cells = [""] * len(COLUMNS)
    for line in card.lines:
        if line[:3].upper() in ("FN:", "FN;"):
            cells[0] = line.split(":", 1)[1].strip()[:255] if ":" in line else ""
            break
    return cells
