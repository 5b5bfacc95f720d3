"""Pure normalisation used to match records instead of duplicating them (no Django here)."""

import functools
import re
import unicodedata

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

# Domains shared by many unrelated people: an address there says nothing about the company.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "hotmail.com",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "qq.com",
        "163.com",
        "btinternet.com",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
        "t-online.de",
    }
)

# Legal forms dropped when comparing company names ("Piql AS" and "piql" are one company).
LEGAL_SUFFIXES = frozenset(
    {
        "ltd",
        "limited",
        "plc",
        "llc",
        "llp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "as",
        "asa",
        "ab",
        "oy",
        "aps",
        "kg",
        "pty",
        "pvt",
        "cic",
        "coop",
        "cooperative",
        "the",
    }
)

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")


@functools.cache
def _between_search_words() -> re.Pattern:
    """What separates words for search: neither a letter or digit nor a mark. Python's \\w
    leaves out spacing marks, which would cut 'राहुल' into 'र ह ल' (the vowel signs are marks of
    category Mc); FTS5 is told the same (search_index._TOKENIZE). Built once, on first use: the
    marks are looked up in the Unicode database (the planes where marks are)."""
    marks: list[tuple[int, int]] = []
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code))[0] == "M":
            if marks and marks[-1][1] == code - 1:
                marks[-1] = (marks[-1][0], code)
            else:
                marks.append((code, code))
    ranges = "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in marks)
    return re.compile(f"[^\\w{ranges}]+|_+")


def search_key(text: str) -> str:
    """Case-folded, whitespace-collapsed text: what prefix search compares."""
    return _SPACES.sub(" ", (text or "").strip()).casefold()


def email_key(email: str) -> str:
    return (email or "").strip().casefold()


def email_domain(email: str) -> str:
    """The domain of an address ('' when there is none)."""
    _, at, domain = (email or "").strip().rpartition("@")
    return domain.casefold().strip(".") if at else ""


def company_domain(email: str) -> str:
    """The domain of an address when it identifies a company (not a free-mail provider)."""
    domain = email_domain(email)
    return "" if domain in FREEMAIL_DOMAINS else domain


def normalise_domain(value: str) -> str:
    """'https://www.Example.com/about' -> 'example.com'."""
    value = (value or "").strip().casefold()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].split("?", 1)[0].split("@")[-1].split(":", 1)[0]
    return value.removeprefix("www.").strip(".")


def fold(text: str) -> str:
    """Accents and case removed: 'Ødegård' -> 'ødegard' (ø is a letter, not an accent)."""
    if text.isascii():
        return text.casefold()
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).casefold()


def company_match_name(name: str) -> str:
    """Accents, punctuation, case and legal forms removed: 'Piql A/S' -> 'piql'."""
    folded = fold(name or "").replace("&", " and ").replace("a/s", "as")
    words = [w for w in _NON_WORD.sub(" ", folded).split() if w]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    while len(words) > 1 and words[0] == "the":
        words.pop(0)
    return " ".join(words)


def surname_key(name: str) -> str:
    """The last word of a name, folded: 'John Smith' -> 'smith'."""
    words = _NON_WORD.sub(" ", fold(name or "")).split()
    return words[-1] if words else ""


def last_word(name: str) -> str:
    """The last word of a name of two or more words, folded ('' for one word, which the whole
    name's prefix already finds): what word search ranks second, after the whole name. Its
    apostrophes join it: "Ann O'Connor" -> "oconnor"."""
    words = search_words(_APOSTROPHES.sub("", name or ""))
    return words[-1] if len(words) > 1 else ""


def block_key(company: str, surname: str) -> str:
    return f"{company}|{surname}"[:255] if company and surname else ""


def name_block(name: str, company: str) -> str:
    """Where duplicate people are looked for: the same company and the same last word of the
    name ('Jon Smith' and 'John Smith' at Piql share 'piql|smith'). '' without a company: two
    people called John Smith at unknown companies are not presumed to be one."""
    return block_key(company, surname_key(name)) if company else ""


# ----------------------------------------------------------------------------- word search

# Country calling codes form a prefix code (no code is the start of another), so the code of an
# E.164 number is the one of its first 1–3 digits that is known.
_COUNTRY_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
_PHONE_QUERY = re.compile(r"[\d\s()+./-]*\d[\d\s()+./-]*")


# Apostrophes inside a name ("O'Connor", "d’Artagnan", "डी’सूज़ा") also join its parts: a
# record's words include the joined form ("oconnor") and a query's apostrophes are dropped, so
# "o'co" is the one word "oco", the start of "oconnor" — rather than "o" and "co", which start
# words of most records (and cost a scan to count), so that O'Connor came last among them.
_APOSTROPHES = re.compile("['\u2018\u2019\u02bc`\u00b4]")


def search_words(text: str) -> list[str]:
    """The words of `text`, folded (case and accents removed): what word search compares. A
    word with an apostrophe is there both split and joined ("o", "connor", "oconnor")."""
    folded = fold(text or "")
    between = _between_search_words()
    words = between.sub(" ", folded).split()
    if _APOSTROPHES.search(folded):
        words += between.sub(" ", _APOSTROPHES.sub("", folded)).split()
    return words


def phone_words(phone: str) -> list[str]:
    """The digits of a number as one word, and for an international number also the national
    number alone and with a leading 0: '+442079460958' is found by '4420', '2079' and '020'."""
    phone = phone or ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return []
    words = [digits]
    if phone.lstrip().startswith("+"):
        for size in (1, 2, 3):
            if digits[:size] in _COUNTRY_CODES:
                national = digits[size:]
                if national:
                    words += [national, "0" + national.lstrip("0")]
                break
    return words


def search_text(
    name: str, *, email: str = "", company_name: str = "", phone: str = "", domain: str = ""
) -> str:
    """One record's words for word search, each once, the name's first: the name, the e-mail's
    local part and domain, the company's name, a company's e-mail domain, the phone's digits."""
    words = search_words(name)
    for text in (email, company_name, domain):
        if text:
            words += search_words(text)
    words += phone_words(phone)
    return " ".join(dict.fromkeys(words))


def query_words(q: str) -> list[str]:
    """The words a search looks for, each matched as the start of a word. A query that is only
    a phone number ('+44 20 7946', '020-7946') is one word of its digits."""
    if _PHONE_QUERY.fullmatch(q or "") and len(q.strip()) > 1:
        return ["".join(ch for ch in q if ch.isdigit())]
    return list(dict.fromkeys(search_words(_APOSTROPHES.sub("", q or ""))))
