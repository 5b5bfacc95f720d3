"""The import normaliser: every rule by example, and its fast paths held to the libraries they
stand in for by property tests (no database)."""

import re

import email_validator
import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType
from phonenumbers.phonemetadata import PhoneMetadata

from salesline.records import normalise
from salesline.records.normalise import Normaliser, valid_region

GB = Normaliser("GB")
NOWHERE = Normaliser(None)
# The shortest numbers phonenumbers calls valid have six digits in all (Iran's +98 9601).
E164 = re.compile(r"\+[1-9]\d{5,14}")
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
many = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
some = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def fails(call, value, *words):
    with pytest.raises(ValueError) as caught:
        call(value)
    message = str(caught.value)
    assert message[:1].islower(), message  # follows a field label: "Phone is too short"
    for word in words:
        assert word in message, message
    return message


# --- text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("", ""),
        ("   ", ""),
        ("  Åse Ødegård ", "Åse Ødegård"),
        ("\u00a0Zoë\u00a0", "Zoë"),
        ("Łukasz", "Łukasz"),
        ("李雷", "李雷"),
        ("O'Brien", "O'Brien"),
        ("\u200bAnn\ufeff", "Ann"),  # zero-width space, BOM
        ("\u3000Ann\u2009", "Ann"),  # ideographic space, thin space
        ("Ann\x00 Berg", "Ann Berg"),
        ("\x00 Ann \x07", "Ann"),
        ("Ann\x1b[31m", "Ann[31m"),
        ("line 1\r\nline 2\rline 3\n", "line 1\nline 2\nline 3"),
        ("a\tb", "a\tb"),
        ("Ann  Berg", "Ann  Berg"),  # inner spaces are the writer's
        ("a\x85b", "a\x85b"),  # C1 controls are kept (Windows-1252 read as Latin-1)
    ],
)
def test_text(value, expected):
    assert GB.text(value) == expected


def test_text_keeps_unicode_exactly_as_written():
    decomposed = "Zoe\u0308 Ødega\u030ard"  # combining diaeresis and ring: not made NFC
    assert GB.text(decomposed) == decomposed
    assert GB.text("ﬁne ＡＢＣ") == "ﬁne ＡＢＣ"  # nor NFKC
    assert GB.text("Ann\u200dBerg") == "Ann\u200dBerg"  # a joiner inside is meaningful


_EDGE_CHARS = set(normalise._EDGE)
_REMOVED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@given(st.text())
@example("\r\n\x00 Ann \u200b")
@example("\x00\u200b\x00 x")
def test_text_only_trims_edges_and_drops_control_characters(value):
    cleaned = _REMOVED.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    out = GB.text(value)
    start = cleaned.find(out)
    assert start != -1
    assert all(c in _EDGE_CHARS for c in cleaned[:start] + cleaned[start + len(out) :])
    assert not out or (out[0] not in _EDGE_CHARS and out[-1] not in _EDGE_CHARS)
    assert not _REMOVED.search(out)
    assert GB.text(out) == out


# --- e-mail -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("  ", ""),
        ("ann@piql.com", "ann@piql.com"),
        (" Ann.Berg@Piql.COM ", "ann.berg@piql.com"),
        ("o'brien+crm@mail.example.co.uk", "o'brien+crm@mail.example.co.uk"),
        ("ann@piql.test", "ann@piql.test"),  # the reserved testing domain: our demo data
        ("x@example.com", "x@example.com"),
        ("x@Example.ORG", "x@example.org"),
        ("INFO@piql.com", "info@piql.com"),
        ("jörg@bücher.de", "jörg@bücher.de"),  # international: email-validator's slow path
        ("Jörg@BÜCHER.de", "jörg@bücher.de"),
        ("ann@xn--bcher-kva.de", "ann@bücher.de"),  # Punycode shown as Unicode
        ("Straße@piql.de", "strasse@piql.de"),  # case-folded like matching.email_key
        ("李雷@例子.中国", "李雷@例子.中国"),
        ("!@a.xn--11b4c3d", "!@a.कॉम"),
    ],
)
def test_email(value, expected):
    assert GB.email(value) == expected
    assert GB.email(value) == expected  # and from the cache


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("ann", ["no @"]),
        ("ann@", ["nothing after the @"]),
        ("@piql.com", ["nothing before the @"]),
        ("ann@@piql.com", ["invalid characters"]),
        ("ann smith@piql.com", ["invalid characters before the @"]),
        ("ann@piql", ["no dot after the @"]),
        ("ann@piql.com.", ["a dot at the end"]),
        ("ann..berg@piql.com", ["two dots in a row"]),
        ("ann@piql..com", ["two dots in a row"]),
        (".ann@piql.com", ["a dot at the start"]),
        ("ann.@piql.com", ["a dot just before the @"]),
        ("ann@-piql.com", []),
        ("ann@piql.invalid", ["reserved"]),
        ("ann@printer.local", ["reserved"]),
        ("ann@localhost", []),
        ("Ann <ann@piql.com>", []),
        ('"ann berg"@piql.com', []),
        ("ann@[192.168.0.1]", []),
        ("ann@pi_ql.com", ["invalid characters after the @"]),
        ("ann\x00@piql.com", ["invalid characters"]),
        ("a" * 250 + "@piql.com", ["too many characters"]),
        ("ann@" + "a" * 64 + ".com", []),
        ("ann@piql.123", ["no valid top-level domain"]),
        ("ann＠piql.com", ["full-width"]),
    ],
)
def test_invalid_email(value, words):
    message = fails(GB.email, value, *words)
    assert fails(GB.email, value) == message  # and from the cache
    assert message.startswith("is not a valid e-mail address")
    assert len(message) < 120


def slow_email(value):
    """The e-mail rule with no fast path: email-validator's verdict."""
    try:
        return normalise._email_slow(value)
    except ValueError:
        return None


def check_email(value):
    fast = normalise._email_fast(value)
    if fast is not None:
        assert fast == slow_email(value)
    try:
        out = GB.email(value)
    except ValueError:
        assert slow_email(value.strip()) is None or not value.strip()
        return
    assert out == slow_email(value.strip()) or out == ""
    assert out == out.casefold()
    if out.isascii():
        assert out == out.lower()
    assert GB.email(out) == out
    if out:
        email_validator.validate_email(out, check_deliverability=False, test_environment=True)


@many
@given(st.emails())
def test_email_fast_path_agrees_with_email_validator_on_addresses(value):
    check_email(value)


EMAILISH = st.text(
    alphabet=st.sampled_from(list("@@@...--_+'abcXYZ019") + ["ø", "ß", "İ", "é", "中", "\u0301"]),
    max_size=30,
)
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-", min_size=1, max_size=66)
LOCAL = st.text(alphabet="abcxyzABC0123456789.!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=70)


@many
@given(EMAILISH)
@example("a@b--c.com")
@example("a@xn--bcher-kva.de")
@example("a@b.onion")
@example("a@test")
@example("a@b.test")
def test_email_fast_path_agrees_with_email_validator_on_noise(value):
    check_email(value)


@some
@given(LOCAL, st.lists(LABEL, min_size=1, max_size=5), st.sampled_from(["com", "de", "test", "x1"]))
def test_email_fast_path_agrees_with_email_validator_near_its_edges(local, labels, tld):
    # Label lengths around 63, hyphens at label edges, dots in the local part, long addresses.
    check_email(f"{local}@{'.'.join(labels)}.{tld}")


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (" ", ""),
        ("020 7946 0018", "+442079460018"),
        ("(020) 7946-0018", "+442079460018"),
        ("020/7946.0018", "+442079460018"),
        ("2079460018", "+442079460018"),  # Excel dropped the 0
        ("+44 (0) 20 7946 0018", "+442079460018"),
        ("44 20 7946 0018", "+442079460018"),  # Excel dropped the +
        ("+442079460018", "+442079460018"),
        ("07400 123456", "+447400123456"),
        ("+47 22 12 34 56", "+4722123456"),
        ("0049 30 1234567", "+49301234567"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("020 7946 0018 ext. 12", "+442079460018;ext=12"),
        ("+44 20 7946 0018 x 345", "+442079460018;ext=345"),
        ("+442079460018;ext=12", "+442079460018;ext=12"),
        ("Tel: 020 7946 0018", "+442079460018"),
        ("０２０ ７９４６ ００１８", "+442079460018"),  # full-width digits
        ("020\u00a07946\u00a00018", "+442079460018"),
    ],
)
def test_phone(value, expected):
    assert GB.phone(value) == expected


@pytest.mark.parametrize(
    ("normaliser", "value", "words"),
    [
        (GB, "call me", ["is not a phone number"]),
        (GB, "n/a", ["is not a phone number"]),
        (GB, "( )", ["is not a phone number"]),
        (GB, "+", ["is not a phone number"]),
        (GB, "--", ["is not a phone number"]),
        (GB, "12", ["too short"]),
        (GB, "020", ["too short"]),
        (GB, "020 7946", ["is not a valid phone number for country code +44"]),
        (Normaliser("NG"), "0800 000 000 0000", ["too long for an international number"]),
        (GB, "020 7946 0018 0018 0018", ["too long"]),
        (GB, "7946 0018", ["needs an area code"]),
        (GB, "0000000000", ["is not a valid phone number for country code +44"]),
        (GB, "+1 123 456 7890", ["+1"]),
        (GB, "+999 1234 5678", ["unknown country code"]),
        (NOWHERE, "020 7946 0018", ["needs a country code (+..) or a phone region"]),
        (Normaliser("XX"), "020 7946 0018", ["needs a country code"]),
    ],
)
def test_invalid_phone(normaliser, value, words):
    fails(normaliser.phone, value, *words)


def test_phone_without_a_region_takes_international_numbers():
    assert NOWHERE.phone("+47 22 12 34 56") == "+4722123456"
    assert Normaliser("no").phone("22 12 34 56") == "+4722123456"


def reference_phone(value, region):
    """phonenumbers itself: parse, is_valid_number, format as E.164 (and the extension)."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    out = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(out) > 16:
        return None  # longer than E.164 allows: refused
    return out + f";ext={number.extension}" if number.extension else out


TYPES = [
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.VOIP,
    PhoneNumberType.UAN,
]
SEPARATORS = st.sampled_from(["", "", "", " ", "-", ".", "(", ")", "/", "  "])


@st.composite
def phone_inputs(draw):
    """(default region, text): example numbers of every region with digits changed, random
    digits of the region's possible lengths, one digit more or less, written as +CC, national
    with and without the national prefix, with an international prefix, with the country code
    but no +, noise; with separators; sometimes an extension or letters."""
    default = draw(st.sampled_from([*REGIONS, None, "GB", "GB", "US", "NO"]))
    source = draw(st.sampled_from(REGIONS))
    metadata = PhoneMetadata.metadata_for_region(source)
    example_number = phonenumbers.example_number_for_type(source, draw(st.sampled_from(TYPES)))
    if example_number is not None and draw(st.booleans()):
        nsn = phonenumbers.national_significant_number(example_number)
        keep = draw(st.integers(0, len(nsn)))
        nsn = nsn[:keep] + draw(st.text("0123456789", min_size=len(nsn) - keep, max_size=17))
        nsn = nsn[: len(phonenumbers.national_significant_number(example_number)) + 1]
    else:
        length = draw(st.sampled_from(metadata.general_desc.possible_length))
        nsn = draw(st.text("0123456789", min_size=length, max_size=length))
    if nsn and draw(st.integers(0, 9)) == 0:
        nsn = nsn[:-1]
    code = str(metadata.country_code)
    prefix = metadata.national_prefix or ""
    idd = draw(st.sampled_from(["00", "011", "0011", "810", "010", "001", "000", "+00"]))
    shape = draw(st.integers(0, 8))
    number = [
        f"+{code}{nsn}",
        f"{prefix}{nsn}",
        nsn,
        f"{idd}{code}{nsn}",
        f"{code}{nsn}",
        f"+{code}{prefix}{nsn}",
        f"+{code}{nsn}",
        draw(st.text("0123456789+", max_size=22)),
        "+" + draw(st.text("0123456789", max_size=22)),
    ][shape]
    written = "".join(ch + draw(SEPARATORS) for ch in number)
    if draw(st.integers(0, 9)) == 0:
        written += draw(
            st.sampled_from([" ext 12", " x123", ";ext=7", " #", " abc", "#22", "\u00a0"])
        )
    return default, written


@many
@given(phone_inputs())
@example(("GB", "+0044 20 7946 0018"))
@example(("GB", "+00"))
@example((None, "+989601"))
@example(("AR", "011 15 2345 6789"))
@example(("BR", "0 21 2345 6789"))
@example(("US", "+1 (684) 733-1234"))
@example(("GG", "01481 256789"))
@example(("GG", "44 1481 256789"))
@example(("JP", "0003 1234 5678"))
@example(("GB", "800 1234 5678"))
@example((None, "+800 1234 5678"))
@example((None, "+882 1234 5678"))
def test_phone_fast_path_is_phonenumbers(case):
    region, value = case
    normaliser = Normaliser(region)
    expected = reference_phone(value.strip(), region)
    # The whole rule, cold:
    try:
        out = normaliser.phone(value)
    except ValueError as error:
        out = None
        assert str(error)[:1].islower()
    if value.strip():
        assert out == expected
    # The fast path and phonenumbers give the same result and the same reason:
    trimmed = value.strip()
    if trimmed:
        assert Normaliser(region)._phone_uncached(trimmed) == normaliser._phone_slow(trimmed)
    if out:
        number, _, extension = out.partition(";ext=")
        assert E164.fullmatch(number), out
        assert normaliser.phone(out) == out
        assert NOWHERE.phone(out) == out
        # A cache hit is a miss's answer:
        assert normaliser.phone(value) == out
        assert normaliser.phone(value.strip()) == out


@many
@given(
    st.sampled_from([*REGIONS, None]),
    st.text(alphabet="0123456789012345678901234567890123456789 ().-/+", max_size=24),
)
@example("GB", "( )")
@example("GB", "+(44) 20 7946 0018")
@example("GB", "-020-7946-0018-")
def test_phone_fast_path_is_phonenumbers_on_noise(region, value):
    normaliser = Normaliser(region)
    try:
        out = normaliser.phone(value)
    except ValueError:
        out = None
    assert out == (reference_phone(value.strip(), region) if value.strip() else "")
    if value.strip():
        assert Normaliser(region)._phone_uncached(value.strip()) == normaliser._phone_slow(
            value.strip()
        )


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(REGIONS), st.sampled_from(TYPES), st.integers(0, 2))
def test_every_regions_example_numbers_are_read(region, number_type, shape):
    number = phonenumbers.example_number_for_type(region, number_type)
    assume(number is not None and phonenumbers.is_valid_number(number))
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    style = [
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.E164,
    ][shape]
    written = phonenumbers.format_number(number, style)
    assert Normaliser(region).phone(written) == reference_phone(written, region)
    if shape:
        assert NOWHERE.phone(written) == expected


def test_phone_cache_hits_return_what_misses_did():
    normaliser = Normaliser("GB")
    first = [normaliser.phone("020 7946 0018"), normaliser.phone("02079460018")]
    assert first == [normaliser.phone("020 7946 0018"), normaliser.phone("(020) 7946 0018")]
    for _ in range(2):
        fails(normaliser.phone, "020", "too short")


# --- web addresses and domains ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("  ", ""),
        ("Example.com/About", "https://example.com/About"),
        ("HTTP://WWW.Example.COM/", "http://www.example.com"),
        ("https://piql.com", "https://piql.com"),
        ("www.piql.com", "https://www.piql.com"),
        ("//piql.com/x", "https://piql.com/x"),
        ("piql.com.", "https://piql.com"),
        ("piql.com/?q=1#top", "https://piql.com/?q=1#top"),
        ("piql.com/a/", "https://piql.com/a/"),
        ("piql.com:8080/x", "https://piql.com:8080/x"),
        ("https://piql.com:443/", "https://piql.com"),
        ("http://piql.com:80", "http://piql.com"),
        ("linkedin.com/in/Ann-Berg", "https://linkedin.com/in/Ann-Berg"),
        ("Bücher.DE/Über", "https://bücher.de/Über"),  # Unicode host kept, not Punycode
        ("https://xn--bcher-kva.de", "https://xn--bcher-kva.de"),
    ],
)
def test_website(value, expected):
    assert GB.website(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "piql",
        "localhost:8000",
        "exa mple.com",
        "piql.com/about us",
        "ftp://piql.com",
        "mailto:ann@piql.com",
        "javascript:alert(1)",
        "https://ann:secret@piql.com",
        "piql.com:99999",
        "piql.com:x",
        "https://",
        "192.168.0.1",
        "piql..com",
        "-piql.com",
        "piql.c",
        "piql.com<script>",
        "★.com",
        "a" * 64 + ".com",
    ],
)
def test_invalid_website(value):
    fails(GB.website, value, "is not a web address")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        ("https://www.Example.com/x", "example.com"),
        ("@example.com", "example.com"),
        ("jo@example.com", "example.com"),
        ("Piql.COM", "piql.com"),
        ("www.www.piql.com", "piql.com"),
        ("bücher.de", "bücher.de"),
    ],
)
def test_domain(value, expected):
    assert GB.domain(value) == expected


@pytest.mark.parametrize(
    "value", ["piql", "piql com", "www. piql.com", "@", "jo@", "http://", "pi_ql.com", "★.com"]
)
def test_invalid_domain(value):
    fails(GB.domain, value, "is not a domain name")


URLISH = st.lists(
    st.sampled_from(list("aZ09.-/:?#@ _%~+ü") + ["www.", "http://", "HTTPS://", "piql", ".com"]),
    max_size=12,
).map("".join)


@some
@given(URLISH)
def test_websites_and_domains_are_idempotent(value):
    for rule in (GB.website, GB.domain):
        try:
            out = rule(value)
        except ValueError:
            continue
        assert rule(out) == out
    try:
        out = GB.website(value)
    except ValueError:
        return
    assert out == "" or out.startswith(("http://", "https://"))


# --- regions ------------------------------------------------------------------------------------


def test_valid_region():
    assert valid_region("GB") and valid_region("NO") and valid_region("gb")
    assert not valid_region("XX") and not valid_region("") and not valid_region("001")
