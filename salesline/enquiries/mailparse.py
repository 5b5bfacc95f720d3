"""An e-mail enquiry as plain data: raw bytes in, `ParsedMail` out (who sent it, the subject,
the text, the attachments), or `Unparseable` with a reason a coordinator can read. Handles the
charsets mail really arrives in (ISO-8859-1, Windows-1252, RFC 2047 encoded headers) and HTML
bodies without a plain part. Pure: no Django (mail_intake.py stores what this returns)."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses
from html.parser import HTMLParser


class Unparseable(Exception):
    """The message cannot become an enquiry; `reason` says why (kept with the quarantined mail)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParsedAttachment:
    file_name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # without angle brackets; '' when the message has none
    from_name: str
    from_address: str
    subject: str
    text: str
    attachments: tuple[ParsedAttachment, ...] = ()


#: Charsets that mislabelled mail most often means (a "iso-8859-1" body with Windows quotes).
_FALLBACK_CHARSETS = ("utf-8", "windows-1252", "iso-8859-1")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def parse(raw: bytes) -> ParsedMail:
    """Parse one raw message (RFC 5322 bytes). Raises Unparseable when it has no usable From
    address, cannot be decoded, or carries neither text nor attachments."""
    if not raw or not raw.strip():
        raise Unparseable("The message is empty.")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:  # the stdlib parser is lenient; anything raised is a broken message
        raise Unparseable(f"The message cannot be read: {exc}.") from exc
    if not message.keys():
        raise Unparseable("The message has no headers.")
    from_name, from_address = _sender(message)
    subject = _header_text(message.get("Subject", ""))
    message_id = _header_text(message.get("Message-ID", "")).strip().strip("<>").strip()
    plain: list[str] = []
    html: list[str] = []
    attachments: list[ParsedAttachment] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        file_name = _file_name(part)
        if (
            disposition == "attachment"
            or (file_name and disposition != "inline")
            or (not content_type.startswith("text/"))
        ):
            content = part.get_payload(decode=True)
            if not isinstance(content, bytes):
                continue
            attachments.append(
                ParsedAttachment(
                    file_name=file_name or f"attachment-{len(attachments) + 1}",
                    content_type=content_type,
                    content=content,
                )
            )
            continue
        if content_type == "text/plain":
            plain.append(_part_text(part))
        elif content_type == "text/html":
            html.append(_part_text(part))
    text = "\n\n".join(t.strip() for t in plain if t.strip())
    if not text and html:
        text = "\n\n".join(html_to_text(h) for h in html if h.strip()).strip()
    if not text and not subject.strip() and not attachments:
        raise Unparseable("The message has no text, no subject and no attachments.")
    return ParsedMail(
        message_id=message_id[:998],
        from_name=from_name,
        from_address=from_address,
        subject=subject.strip(),
        text=text.replace("\r\n", "\n"),
        attachments=tuple(attachments),
    )


def _header_text(value: object) -> str:
    """A header's text with RFC 2047 encoded words decoded (unknown charsets are an error)."""
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value)))).replace("\r", "").replace("\n", " ")
    except (LookupError, UnicodeDecodeError, ValueError) as exc:
        raise Unparseable(f"A header cannot be decoded: {exc}.") from exc


def _sender(message: Message) -> tuple[str, str]:
    header = message.get_all("From") or []
    if not header:
        raise Unparseable("The message has no From address.")
    decoded = [_header_text(value) for value in header]
    for name, address in getaddresses(decoded):
        address = address.strip()
        if _ADDRESS.match(address):
            return name.strip(), address.lower()
    raise Unparseable(f"The From header has no e-mail address: {decoded[0][:200]!r}.")


def _file_name(part: Message) -> str:
    name = part.get_filename()
    if not name:
        return ""
    text = _header_text(name)
    # Never a path: only the last component, without control characters.
    text = re.split(r"[\\/]", text)[-1]
    return "".join(ch for ch in text if ch.isprintable()).strip()[:255]


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    if not isinstance(payload, bytes):
        return str(payload)
    declared = part.get_content_charset()
    charsets = [declared] if declared else []
    charsets += [c for c in _FALLBACK_CHARSETS if c != declared]
    for charset in charsets:
        try:
            text = payload.decode(charset)
        except LookupError:
            continue  # an unknown charset name: try the usual ones
        except UnicodeDecodeError:
            continue
        # ISO-8859-1 declared but Windows-1252 punctuation (0x80-0x9F) used: read it as 1252.
        if charset.lower() in {
            "iso-8859-1",
            "latin-1",
            "latin1",
            "us-ascii",
            "ascii",
        } and re.search("[\x80-\x9f]", text):
            try:
                return payload.decode("windows-1252")
            except UnicodeDecodeError:
                return text
        return text
    raise Unparseable(f"The text cannot be decoded (charset {declared or 'not given'}).")


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BLOCK:
            self.chunks.append("\n")
        if tag == "li":
            self.chunks.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in self._BLOCK:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    """HTML as plain text: tags dropped, blocks on their own lines, scripts and styles removed."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    lines = [
        re.sub(r"[ \t\xa0]+", " ", line).strip() for line in "".join(extractor.chunks).split("\n")
    ]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
