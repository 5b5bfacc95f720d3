"""Pure normalisation of imported cell values (no Django here).

A bulk import normalises millions of values, so each rule has a fast path for the overwhelmingly
common shape that returns exactly what the library would (tests/records/test_normalise.py checks
the equivalence with Hypothesis), and falls through to the library whenever it is not sure.
Errors are ValueErrors whose message follows a field label: "E-mail is not a valid e-mail address".

Decisions:

- text: leading and trailing white space (Unicode, NBSP included) and invisible zero-width
  characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM) are trimmed; NUL and the other C0 control
  characters and DEL are removed, except tab and newline (CR LF and lone CR become newline).
  Nothing else changes: no Unicode normalisation, so names stay exactly as written. C1 controls
  (U+0080-U+009F) are kept: a file decoded as Latin-1 carries Windows-1252 punctuation there.
- email: email-validator's syntax rules without DNS (check_deliverability=False) and with
  test_environment=True, so the reserved testing domain ".test" (our demo and test data) is
  accepted like Django's validator does, while ".invalid", ".local", ".localhost", ".onion" and
  ".arpa" stay refused; "example.com" is ordinary. Quoted local parts, IP literals and display
  names ("Ann <ann@x.com>") are refused; international addresses are accepted. The stored form is
  the validated address case-folded, the same key as matching.email_key (identical to
  lower-casing for ASCII).
- phone: E.164 ("+442079460018", at most 15 digits); an extension is kept as RFC 3966's
  ";ext=12" suffix, so "tel:" + value is always a dialable URI. A number must be valid
  (phonenumbers' is_valid_number: a range allocated in the country's numbering plan), not merely
  of a possible length, which lets through local numbers without their area code, most typos
  and fillers such as 0000000000 or +1 123 456 7890.
- website: http(s) only, scheme and host lower-cased (an international host stays Unicode, not
  Punycode), "https://" added when missing, the path kept, the "/" of a bare host dropped, a
  default port dropped; user names, passwords, IP addresses and white space are refused.
- domain: matching.normalise_domain (until it changes nothing more), then checked as a host name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import email_validator
import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

from salesline.records import matching

__all__ = ["Normaliser", "valid_region"]

_CACHE_LIMIT = 100_000  # entries per cache of a Normaliser; a full cache is cleared

# --- text ---------------------------------------------------------------------------------------

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CARRIAGE_RETURNS = re.compile(r"\r\n?")
# Invisible at the edge of a value and never meaningful there.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u180e"
_EDGE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + _INVISIBLE


def _trim(value: str) -> str:
    value = value.strip()
    if value and (value[0] in _INVISIBLE or value[-1] in _INVISIBLE):
        value = value.strip(_EDGE)
    return value


# --- e-mail -------------------------------------------------------------------------------------

_ATEXT = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# The plain-ASCII shape email-validator accepts unchanged (its DOT_ATOM_TEXT local part, LDH
# labels of at most 63 characters and an alphabetic TLD). What else it checks is done beside
# the regex: total length, reserved names and "ab--" labels (left to the library).
_EMAIL_FAST = re.compile(rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*@((?:{_LABEL}\.)+([A-Za-z]{{2,63}}))")
_EMAIL_OPTIONS: dict[str, Any] = {"check_deliverability": False, "test_environment": True}
_EMAIL_INVALID = "is not a valid e-mail address"
# email-validator's reasons, shortened: (words in its message, what follows our message).
_EMAIL_REASONS = (
    ("must have an @-sign", "no @"),
    ("full-width", "a full-width @ instead of @"),
    ("small commercial at", "a small @ instead of @"),
    ("something before the @-sign", "nothing before the @"),
    ("something after the @-sign", "nothing after the @"),
    ("should have a period", "no dot after the @"),
    ("two periods in a row", "two dots in a row"),
    ("cannot start with a period", "a dot at the start"),
    ("cannot end with a period", "a dot at the end"),
    ("cannot end with a hyphen", "a hyphen at the end"),
    ("period immediately before the @-sign", "a dot just before the @"),
    ("period immediately after the @-sign", "a dot just after the @"),
    ("hyphen immediately after the @-sign", "a hyphen just after the @"),
    ("period and a hyphen next to each other", "a dot next to a hyphen"),
    ("special-use or reserved", "a reserved domain name"),
    ("too long", "too many characters"),
    ("display name", "a name around the address"),
    ("Quoting", "quotes before the @"),
    ("bracketed IP address", "an IP address after the @"),
    ("not within a valid top-level domain", "no valid top-level domain"),
    ("followed by two dashes", "two hyphens after two letters (ab--)"),
)
_EMAIL_BAD_CHARACTERS = re.compile(r"contains (?:unsafe |invalid )?characters[^:]*: (?P<ch>.*)\.")


def _email_reason(message: str) -> str:
    found = _EMAIL_BAD_CHARACTERS.search(message)
    if found:
        where = " before the @" if "before the @-sign" in message else ""
        where = " after the @" if "after the @-sign" in message else where
        return f"{_EMAIL_INVALID}: invalid characters{where}: {found['ch'][:40]}"
    for words, reason in _EMAIL_REASONS:
        if words in message:
            return f"{_EMAIL_INVALID}: {reason}"
    return _EMAIL_INVALID


# email-validator refuses these domains and their subdomains ("test" we allow, see above).
_RESERVED_EMAIL = tuple("." + d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d != "test")


def _email_fast(value: str) -> str | None:
    """The normalised address when it has the plain ASCII shape, else None (not sure)."""
    if len(value) > 254:
        return None
    found = _EMAIL_FAST.fullmatch(value)
    if found is None or "--" in found[1]:  # "ab--" labels: IDNA rules, the library's
        return None
    if ("." + found[1]).lower().endswith(_RESERVED_EMAIL):
        return None
    return value.lower()


def _email_slow(value: str) -> str:
    """email-validator's verdict, case-folded. Folding can change a non-ASCII address (ß -> ss),
    so a folded form is validated again until it is stable: what we store is itself a valid
    address that normalises to itself."""
    for _ in range(3):
        try:
            validated = email_validator.validate_email(value, **_EMAIL_OPTIONS)
        except email_validator.EmailNotValidError as error:
            raise ValueError(_email_reason(str(error))) from None
        folded = validated.normalized.casefold()
        if folded in (validated.normalized, value):
            return folded
        value = folded
    raise ValueError(_EMAIL_INVALID)


# --- web addresses and domains ------------------------------------------------------------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?")
_HOST_ASCII = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
# White space, controls and the characters that are never part of a web address as typed.
_URL_BAD = re.compile(r"[\x00-\x20\x7f-\x9f<>\"`\\]|\s")
_PORT = re.compile(r"[0-9]+(?:[/?#]|\Z)")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _check_host(host: str) -> str:
    """The reason a lower-cased host name is not one (IP addresses are not), or ''."""
    if len(host) > 253:
        return "has too long a host name"
    if host.isascii():
        return "" if _HOST_ASCII.fullmatch(host) else "has an invalid host name"
    # Letters, marks and digits of any script (IDNA 2008 refuses symbols and punctuation).
    if any(unicodedata.category(c)[0] not in "LMN" for c in host if not c.isascii()):
        return "has an invalid host name"
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return "has an invalid host name"
    return "" if _HOST_ASCII.fullmatch(ascii_host) else "has an invalid host name"


# --- phone numbers ------------------------------------------------------------------------------

# What phonenumbers ignores around digits, and no more: a string of only these, ASCII digits and
# one leading "+" means exactly what its digits (after that "+") mean.
_PHONE_SIMPLE = re.compile(r"\+?[0-9 ().\-/]+")

_NEEDS_COUNTRY = "needs a country code (+..) or a phone region"
_NOT_A_NUMBER = "is not a phone number"
_UNKNOWN_COUNTRY = "has an unknown country code"
_TOO_SHORT = "is too short"
_TOO_LONG = "is too long"
# E.164 allows 15 digits; phonenumbers knows a few longer national-only numbers (Nigerian
# toll-free), which cannot be dialled from abroad and are refused.
_TOO_LONG_E164 = "is too long for an international number"

# What phonenumbers' _test_number_length (mirrored in _Plan.test_length) returns.
_IS_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE
_LOCAL_ONLY = phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
_INVALID_COUNTRY = phonenumbers.ValidationResult.INVALID_COUNTRY_CODE
_TOO_SHORT_R = phonenumbers.ValidationResult.TOO_SHORT
_INVALID_LENGTH = phonenumbers.ValidationResult.INVALID_LENGTH
_TOO_LONG_R = phonenumbers.ValidationResult.TOO_LONG
_LENGTH_REASONS = {
    _TOO_SHORT_R: _TOO_SHORT,
    _TOO_LONG_R: _TOO_LONG,
    _INVALID_LENGTH: "has the wrong number of digits",
    _LOCAL_ONLY: "needs an area code",
    _INVALID_COUNTRY: _UNKNOWN_COUNTRY,
}
_PARSE_REASONS = {
    phonenumbers.NumberParseException.NOT_A_NUMBER: _NOT_A_NUMBER,
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: _UNKNOWN_COUNTRY,
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: _TOO_SHORT,
    phonenumbers.NumberParseException.TOO_SHORT_NSN: _TOO_SHORT,
    phonenumbers.NumberParseException.TOO_LONG: _TOO_LONG,
}
_COUNTRY_CODES = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)


def _invalid_reason(country_code: int | None) -> str:
    return f"is not a valid phone number for country code +{country_code}"


class _Fallback(Exception):
    """The fast path is not sure: ask phonenumbers."""


class _Plan:
    """One region's (or non-geographic calling code's) metadata, compiled once: what
    phonenumbers.parse and is_valid_number read from it, with the same semantics."""

    def __init__(self, metadata: PhoneMetadata):
        # Every region's (and calling code's) metadata has one.
        self.country_code: int = metadata.country_code  # type: ignore[assignment]
        self.prefix = str(metadata.country_code)
        idd = metadata.international_prefix
        self.idd = re.compile(idd) if idd is not None else None
        national = metadata.national_prefix_for_parsing
        self.national = re.compile(national) if national else None
        self.transform = metadata.national_prefix_transform_rule or None
        general = metadata.general_desc
        pattern = general.national_number_pattern if general else None
        self.general = re.compile(pattern) if pattern else None
        self.lengths = tuple(general.possible_length) if general else ()
        self.local_lengths = frozenset(general.possible_length_local_only if general else ())
        self.leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
        # Validity (phonenumbers._number_type_helper != UNKNOWN): the general description
        # matches and so does one of the types; per length, one regex of those possible then.
        descs = [getattr(metadata, name) for name in _TYPE_DESCS]
        if not metadata.same_mobile_and_fixed_line_pattern:
            descs.append(metadata.mobile)
        self._types = [
            (frozenset(d.possible_length), d.national_number_pattern)
            for d in descs
            if d is not None and d.national_number_pattern
        ]
        self._valid: dict[int, re.Pattern | None] = {}

    def matches_general(self, number: str) -> bool:
        return self.general is not None and self.general.fullmatch(number) is not None

    def test_length(self, number: str) -> int:
        """phonenumbers._test_number_length for an unknown type."""
        actual = len(number)
        if actual in self.local_lengths:
            return _LOCAL_ONLY
        lengths = self.lengths
        if not lengths:
            raise _Fallback  # phonenumbers would fail here; never so in its metadata
        if lengths[0] == actual:
            return _IS_POSSIBLE
        if lengths[0] > actual:
            return _TOO_SHORT_R
        if lengths[-1] < actual:
            return _TOO_LONG_R
        return _IS_POSSIBLE if actual in lengths[1:] else _INVALID_LENGTH

    def strip_national_prefix(self, number: str) -> str:
        """phonenumbers._maybe_strip_national_prefix_carrier_code, without the carrier code."""
        if not number or self.national is None:
            return number
        found = self.national.match(number)
        if not found:
            return number
        viable = self.matches_general(number)
        groups = found.groups()
        if self.transform is not None and not groups:
            raise _Fallback  # phonenumbers would fail here; never so in its metadata
        if self.transform is None or groups[-1] is None:
            stripped = number[found.end() :]
        else:
            stripped = self.national.sub(self.transform, number, count=1)
        if viable and not self.matches_general(stripped):
            return number
        return stripped

    def is_valid(self, number: str) -> bool:
        length = len(number)
        try:
            pattern = self._valid[length]
        except KeyError:
            pattern = self._valid[length] = self._valid_pattern(length)
        return pattern is not None and pattern.fullmatch(number) is not None

    def _valid_pattern(self, length: int) -> re.Pattern | None:
        if self.general is None or length not in self.lengths:
            return None  # _is_number_matching_desc on the general description
        alternatives = [p for lengths, p in self._types if not lengths or length in lengths]
        if not alternatives:
            return None
        either = "|".join(f"(?:{p})" for p in alternatives)
        return re.compile(rf"(?=(?:{self.general.pattern})\Z)(?:{either})")


_plans: dict[object, _Plan | None] = {}


def _plan_for_region(region: str) -> _Plan | None:
    if region not in _plans:
        metadata = PhoneMetadata.metadata_for_region(region, None)
        _plans[region] = _Plan(metadata) if metadata is not None else None
    return _plans[region]


def _plan_for_country_code(country_code: int) -> _Plan | None:
    """The plan phonenumbers.parse uses for a calling code: its main region's."""
    if country_code not in _plans:
        regions = _COUNTRY_CODES.get(country_code)
        if not regions:
            plan = None
        elif regions[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            metadata = PhoneMetadata.metadata_for_nongeo_region(country_code, None)
            plan = _Plan(metadata) if metadata is not None else None
        else:
            plan = _plan_for_region(regions[0])
        _plans[country_code] = plan
    return _plans[country_code]


_validators: dict[int, tuple[tuple[re.Pattern | None, _Plan], ...]] = {}


def _valid_for_country_code(country_code: int, number: str) -> bool:
    """phonenumbers.is_valid_number: the first region of the calling code whose leading digits
    match (or, without leading digits, for which the number is valid) must accept it."""
    regions = _validators.get(country_code)
    if regions is None:
        if len(_COUNTRY_CODES[country_code]) == 1:
            plans = [_plan_for_country_code(country_code)]
        else:
            plans = [_plan_for_region(region) for region in _COUNTRY_CODES[country_code]]
        regions = _validators[country_code] = tuple(
            (plan.leading, plan) for plan in plans if plan is not None
        )
    if len(regions) == 1:
        return regions[0][1].is_valid(number)
    for leading, plan in regions:
        if leading is not None:
            if leading.match(number):
                return plan.is_valid(number)
        elif plan.is_valid(number):
            return True
    return False


_CODE_BY_PREFIX = {str(code): code for code in _COUNTRY_CODES}


def _extract_country_code(number: str) -> tuple[int, str]:
    """phonenumbers._extract_country_code for digits: calling codes are prefix-free."""
    if not number or number[0] == "0":
        return 0, number
    for size in (1, 2, 3):
        code = _CODE_BY_PREFIX.get(number[:size])
        if code is not None and size <= len(number):
            return code, number[size:]
    return 0, number


def _digits(value: str) -> str:
    # Six replaces beat str.translate (per-character dict look-ups) fivefold on short strings.
    if value.isdigit():
        return value
    return (
        value.replace(" ", "")
        .replace("-", "")
        .replace("(", "")
        .replace(")", "")
        .replace(".", "")
        .replace("/", "")
    )


def valid_region(code: str) -> bool:
    """Is this a region code phone numbers can be read for ("GB", "NO", "gb", ...)?"""
    return isinstance(code, str) and code.upper() in phonenumbers.SUPPORTED_REGIONS


class Normaliser:
    """Cleans the values of one import. Keeps caches of repeated values, so make one per import
    (or per process and region) and reuse it; not to be shared between threads."""

    def __init__(self, region: str | None = None):
        # An unknown region reads like none: only numbers with a country code are accepted.
        region = (region or "").strip().upper() or None
        self.region = region
        self._region_plan = _plan_for_region(region) if region and valid_region(region) else None
        # Value -> result, or "!" + the reason it is refused (no phone number, web address or
        # domain starts with "!"; an e-mail address can, so that cache keeps the ValueError).
        self._phones: dict[str, str] = {}  # raw and digits-only values
        self._emails: dict[str, str | ValueError] = {}  # the slow path's answers
        self._websites: dict[str, str] = {}
        self._domains: dict[str, str] = {}

    # --- text ---

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        # isprintable() is one C loop; false for tabs, newlines and spaces other than " " too.
        if not value.isprintable() and _CONTROLS.search(value):
            value = _CONTROLS.sub("", _CARRIAGE_RETURNS.sub("\n", value))
        return _trim(value)

    # --- e-mail ---

    def email(self, value: str | None) -> str:
        if not value:
            return ""
        value = _trim(value)
        if not value:
            return ""
        fast = _email_fast(value)
        if fast is not None:
            return fast
        # The library takes 10-100 µs; a file repeats its odd values ("n/a", one person's
        # international address on many rows).
        result = self._emails.get(value)
        if result is None:
            try:
                result = _email_slow(value)
            except ValueError as error:
                result = error
            if len(self._emails) >= _CACHE_LIMIT:
                self._emails.clear()
            self._emails[value] = result
        if isinstance(result, ValueError):
            raise ValueError(*result.args)
        return result

    # --- phone numbers ---

    def phone(self, value: str | None) -> str:
        if not value:
            return ""
        cache = self._phones
        result = cache.get(value)
        if result is None:
            raw = value
            value = _trim(value)
            if not value:
                return ""
            result = cache.get(value)
            if result is None:
                result = self._phone_uncached(value)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[value] = result
            cache[raw] = result
        if result and result[0] == "!":
            raise ValueError(result[1:])
        return result

    def _phone_uncached(self, value: str) -> str:
        if len(value) <= 250 and _PHONE_SIMPLE.fullmatch(value):
            digits = _digits(value)
            if len(digits) >= 3 and len(digits) >= 3 + (digits[0] == "+"):
                result = self._phones.get(digits)
                if result is None:
                    try:
                        result = self._phone_fast(digits)
                    except _Fallback:
                        result = self._phone_slow(digits)
                    self._phones[digits] = result
                return result
        return self._phone_slow(value)

    def _phone_fast(self, digits: str) -> str:
        """phonenumbers.parse + is_valid_number + format_number(E164) for a string of ASCII
        digits, possibly after one "+", re-enacted on compiled metadata."""
        plus = digits[0] == "+"
        if plus:
            digits = digits[1:]
        default = self._region_plan
        from_default = not plus
        full = digits
        if not plus:
            if default is None:
                return "!" + _NEEDS_COUNTRY
            if default.idd is not None:
                found = default.idd.match(digits)
                if found:
                    rest = digits[found.end() :]
                    if not rest or rest[0] != "0":
                        full, from_default = rest, False
        plan = None
        if not from_default:
            if len(full) <= 2:
                return "!" + _TOO_SHORT
            country_code, national = _extract_country_code(full)
            if country_code == 0:
                if plus:
                    raise _Fallback  # phonenumbers tries again without the "+"
                return "!" + _UNKNOWN_COUNTRY
            plan = _plan_for_country_code(country_code)
        elif default is not None:  # always, as from_default means no "+" and so a default
            country_code = 0
            if digits.startswith(default.prefix):
                candidate = default.strip_national_prefix(digits[len(default.prefix) :])
                if (
                    not default.matches_general(digits) and default.matches_general(candidate)
                ) or default.test_length(digits) == _TOO_LONG_R:
                    country_code, national = default.country_code, candidate
                    plan = _plan_for_country_code(country_code)
            if country_code == 0:
                country_code, national, plan = default.country_code, digits, default
        if plan is None:
            raise _Fallback
        if len(national) < 2:
            return "!" + _TOO_SHORT
        candidate = plan.strip_national_prefix(national)
        if plan.test_length(candidate) not in (_TOO_SHORT_R, _LOCAL_ONLY, _INVALID_LENGTH):
            national = candidate
        if len(national) > 17:
            return "!" + _TOO_LONG
        if not _valid_for_country_code(country_code, national):
            main = _plan_for_country_code(country_code)
            reason = _LENGTH_REASONS.get(main.test_length(national)) if main else None
            return "!" + (reason or _invalid_reason(country_code))
        result = f"+{country_code}{national}"
        return result if len(result) <= 16 else "!" + _TOO_LONG_E164

    def _phone_slow(self, value: str) -> str:
        """phonenumbers itself (anything with letters, an extension, Unicode digits...)."""
        try:
            number = phonenumbers.parse(value, self.region)
        except phonenumbers.NumberParseException as error:
            if "default region" in str(error):
                return "!" + _NEEDS_COUNTRY
            return "!" + _PARSE_REASONS.get(error.error_type, _NOT_A_NUMBER)
        if not phonenumbers.is_valid_number(number):
            reason = _LENGTH_REASONS.get(phonenumbers.is_possible_number_with_reason(number))
            return "!" + (reason or _invalid_reason(number.country_code))
        result = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if len(result) > 16:
            return "!" + _TOO_LONG_E164
        if number.extension:
            result += ";ext=" + number.extension
        return result

    # --- web addresses and domains ---

    def website(self, value: str | None) -> str:
        if not value:
            return ""
        result = self._websites.get(value)
        if result is None:
            result = self._website_uncached(value)
            if len(self._websites) >= _CACHE_LIMIT:
                self._websites.clear()
            self._websites[value] = result
        if result and result[0] == "!":
            raise ValueError(result[1:])
        return result

    def _website_uncached(self, value: str) -> str:
        value = _trim(value)
        if not value:
            return ""
        if _URL_BAD.search(value):
            return "!is not a web address (it has spaces or characters that cannot be in one)"
        scheme = "https"
        found = _SCHEME.match(value)
        if found and not found[2] and not _PORT.match(value, found.end()):
            return "!is not a web address (only http:// and https:// are)"  # mailto:, javascript:
        if found and found[2]:
            scheme = found[1].lower()
            if scheme not in ("http", "https"):
                return "!is not a web address (only http:// and https:// are)"
            rest = value[found.end() :]
        elif value.startswith("//"):
            rest = value[2:]
        else:
            rest = value
        split = len(rest)
        for mark in "/?#":
            at = rest.find(mark)
            if at != -1 and at < split:
                split = at
        authority, path = rest[:split], rest[split:]
        if "@" in authority:
            return "!is not a web address (it has a user name before the host)"
        host, colon, port = authority.partition(":")
        host = host.lower()
        if host.endswith(".") and not host.endswith(".."):
            host = host[:-1]
        if colon:
            if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
                return "!is not a web address (the port after the host is not a number)"
            port = str(int(port))
            colon = "" if port == _DEFAULT_PORTS[scheme] else ":"
            port = port if colon else ""
        if not host:
            return "!is not a web address (it has no host name)"
        if "." not in host:
            return "!is not a web address (the host name has no dot)"
        reason = _check_host(host)
        if reason:
            return f"!is not a web address (it {reason})"
        if path == "/":
            path = ""
        return f"{scheme}://{host}{colon}{port}{path}"

    def domain(self, value: str | None) -> str:
        if not value:
            return ""
        result = self._domains.get(value)
        if result is None:
            result = self._domain_uncached(value)
            if len(self._domains) >= _CACHE_LIMIT:
                self._domains.clear()
            self._domains[value] = result
        if result and result[0] == "!":
            raise ValueError(result[1:])
        return result

    def _domain_uncached(self, value: str) -> str:
        value = _trim(value)
        if not value:
            return ""
        if _URL_BAD.search(value):
            return "!is not a domain name such as example.com"
        domain = matching.normalise_domain(value)
        while domain.startswith("www."):  # until stable: "www.www.x.com", ".www.x.com"
            domain = matching.normalise_domain(domain)
        if not domain or "." not in domain or _check_host(domain):
            return "!is not a domain name such as example.com"
        return domain
