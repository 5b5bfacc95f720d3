"""Normalising the values of an imported row (pure: no Django here).

An import of a million rows leaves a few microseconds per value, and the usual libraries take
tens (email-validator ~20 µs, phonenumbers ~13 µs a call). So: a fast path for the plain shape
that nearly every e-mail address has, which returns exactly what email-validator would and falls
through to it whenever unsure (a property test holds the two together), and caches for values
that repeat. Names are never rewritten: only the ends are trimmed and control characters dropped.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from . import matching

# The plain shape: dot-separated atoms of common characters, LDH labels, an alphabetic TLD.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
# email-validator refuses these (RFC 6761 special-use names); "test" is allowed (see below).
_SPECIAL_TLDS = frozenset({"arpa", "invalid", "local", "localhost", "onion"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EDGE = " \t\r\n\x0b\x0c\xa0\u200b\ufeff\u2007\u202f"
_HOST = re.compile(r"(?:[\w](?:[\w-]{0,61}[\w])?\.)+[\w-]{2,63}", re.UNICODE)
_WEB = re.compile(r"(?:([A-Za-z][A-Za-z0-9+.-]*)://)?([^/?#\s]+)(.*)", re.DOTALL)
_PHONE_CHARS = re.compile(r"[\d\s()./+-]+(?:\s*(?:;ext=|ext\.?|x|#)\s*\d+)?", re.IGNORECASE)
_CACHE_LIMIT = 500_000


def valid_region(code: str) -> bool:
    """Is `code` a region phonenumbers knows ("GB", "NO", ...)."""
    return (code or "").upper() in phonenumbers.SUPPORTED_REGIONS


def email_slow(value: str) -> str:
    """email-validator's verdict, the whole address lower-cased. `test_environment` lets the
    reserved 'test' domain through: it is what demo and test data use."""
    try:
        result = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid e-mail address ({_reason(exc)})") from None
    return result.normalized.lower()


def _reason(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    return text[:1].lower() + text[1:120]


def email_fast(value: str) -> str | None:
    """The normalised address if it has the plain shape, else None (ask email_slow)."""
    lowered = value.lower()
    if (
        len(lowered) > 254
        or not lowered.isascii()
        or _PLAIN_EMAIL.fullmatch(lowered) is None
        or "--" in lowered.partition("@")[2]  # IDNA rules for such labels: leave it to the library
    ):
        return None
    local, _, domain = lowered.partition("@")
    if len(local) > 64 or domain.rpartition(".")[2] in _SPECIAL_TLDS:
        return None
    return lowered


class Normaliser:
    def __init__(self, region: str | None = None):
        self.region = region.upper() if region else None
        self._phones: dict[str, str | ValueError] = {}
        self._emails: dict[str, str | ValueError] = {}

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        if not value.isprintable():
            value = _CONTROL.sub("", value)
        return value.strip(_EDGE)

    def email(self, value: str | None) -> str:
        value = self.text(value)
        if not value:
            return ""
        fast = email_fast(value)
        if fast is not None:
            return fast
        cached = self._emails.get(value)
        if cached is None:
            try:
                cached = email_slow(value)
            except ValueError as exc:
                cached = exc
            if len(self._emails) < _CACHE_LIMIT:
                self._emails[value] = cached
        if isinstance(cached, ValueError):
            raise cached
        return cached

    def phone(self, value: str | None) -> str:
        value = self.text(value)
        if not value:
            return ""
        cached = self._phones.get(value)
        if cached is None:
            cached = self._parse_phone(value)
            if len(self._phones) >= _CACHE_LIMIT:
                self._phones.clear()
            self._phones[value] = cached
        if isinstance(cached, ValueError):
            raise cached
        return cached

    def _parse_phone(self, value: str) -> str | ValueError:
        if not _PHONE_CHARS.fullmatch(value):
            return ValueError("is not a phone number")
        try:
            number = phonenumbers.parse(value, self.region)
        except phonenumbers.NumberParseException as exc:
            if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
                return ValueError("needs a country code (+44 ...) or an import region")
            return ValueError("is not a phone number")
        # Possible (the right length for its country), not necessarily allocated: lists from
        # last year's fair should not lose numbers to a range the library does not know yet.
        if not phonenumbers.is_possible_number(number):
            return ValueError("has the wrong number of digits for its country")
        text = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if number.extension:
            text += f";ext={number.extension}"
        return text

    def website(self, value: str | None) -> str:
        """'Example.com/About' -> 'https://example.com/About'."""
        value = self.text(value)
        if not value:
            return ""
        match = _WEB.fullmatch(value)
        if match is None:
            raise ValueError("is not a web address")
        scheme = (match[1] or "https").lower()
        if scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// address")
        host = match[2].lower()
        name, _, port = host.partition(":")
        if "@" in host or not _HOST.fullmatch(name) or (port and not port.isdigit()):
            raise ValueError("is not a web address")
        rest = match[3]
        if rest == "/":
            rest = ""
        if any(ch.isspace() for ch in rest):
            raise ValueError("is not a web address (it contains spaces)")
        return f"{scheme}://{host}{rest}"

    def domain(self, value: str | None) -> str:
        """'https://www.Example.com/x', '@example.com', 'jo@example.com' -> 'example.com'."""
        value = self.text(value)
        if not value:
            return ""
        domain = matching.normalise_domain(value)
        if not _HOST.fullmatch(domain):
            raise ValueError("is not a domain name")
        return domain
