"""Enquiries by e-mail: the worker fetches each enabled network mailbox over IMAP (imap-tools).

Messages are fetched in batches (FETCH_BATCH per IMAP FETCH) and each batch is stored in ONE
transaction, every message in its own savepoint. For each message: the raw message is stored
first as an `InboundMail` (with its SHA-256 and Message-ID), then it is deduplicated (the same
Message-ID or the same bytes in this network is one enquiry; the batch's candidates are looked
up in one query), parsed (mailparse.py, before the transaction starts) and recorded through
`intake.enquiry_receive(source="email", batch=...)`, or quarantined with the reason when it
cannot be. A message that fails is rolled back to its savepoint alone and left unseen; the
others of its batch are kept. Messages are flagged \\Seen on the server only after the batch's
transaction committed: a crash between the two re-fetches them next time, and deduplication
makes each one enquiry (at-least-once fetching, exactly-once enquiries). A failure of the
database (or of the commit) leaves the batch unseen, so it is fetched again; nothing is lost or
silently dropped."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags
from imap_tools.message import MailMessage

from salesline.accounts.services import system_actor
from salesline.core import audit, encryption
from salesline.core.actors import Actor
from salesline.core.errors import NotFound, ProblemList, ValidationFailed
from salesline.core.text import text_problem

from . import intake
from .access import books_actor, require_coordinator
from .mailparse import ParsedMail, Unparseable, parse
from .models import Enquiry, EnquirySource, InboundMail, InboundStatus, Mailbox, Network

logger = logging.getLogger(__name__)

#: Messages fetched per IMAP FETCH command (imap-tools' `bulk`).
FETCH_BATCH = 100
#: The periodic fetch of one mailbox runs at most this often (two workers never both fetch it).
FETCH_EVERY = timedelta(seconds=60)
IMAP_TIMEOUT = 30


@dataclass
class FetchReport:
    fetched: int = 0
    created: int = 0
    duplicates: int = 0
    quarantined: int = 0
    # Messages left unseen on the server because storing them failed (fetched again next time).
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"fetched {self.fetched}, created {self.created}, duplicates {self.duplicates}, "
            f"quarantined {self.quarantined}"
        )
        if self.failed:
            text += f", failed {self.failed} (left unseen)"
        return text


class _RawMessage(MailMessage):
    """The message's bytes as the server holds them (imap-tools would re-parse them)."""

    def __init__(self, fetch_data: list) -> None:
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self._raw_uid_data = uid_data
        self._raw_flag_data = flag_data
        self.raw: bytes = raw


def _client_class(mailbox: Mailbox):
    base = MailBox if mailbox.ssl else MailBoxStartTls if mailbox.starttls else MailBoxUnencrypted

    class RawMailBox(base):  # type: ignore[misc, valid-type]
        email_message_class = _RawMessage

    return RawMailBox


def undecryptable_password_error(network: Network) -> str:
    return (
        "The mailbox password cannot be decrypted (SECRET_KEY changed and the key it was "
        "encrypted with is not in SECRET_KEY_FALLBACKS): set it again with "
        f"`salesline network mailbox {network.slug} --password ...`."
    )


@contextmanager
def _connected(mailbox: Mailbox, password: str) -> Iterator[MailBox]:
    client = _client_class(mailbox)(mailbox.host, port=mailbox.port, timeout=IMAP_TIMEOUT)
    with client.login(mailbox.username, password, initial_folder=mailbox.folder) as box:
        yield box


def mailbox_fetch(mailbox: Mailbox, *, batch: int = FETCH_BATCH) -> FetchReport:
    """Fetch every unseen message of `mailbox` (see the module's docstring). A password that
    cannot be decrypted is an error on the mailbox like a refused login: no connection is
    tried, and the next fetch tries again (the key may be put back in the fallbacks)."""
    report = FetchReport()
    network = mailbox.network
    try:
        token = mailbox.password_encrypted
        password = encryption.decrypt(token) if token else ""
    except encryption.Undecryptable:
        error = undecryptable_password_error(network)
        logger.error("Fetching mail for %s: %s", network.slug, error)
        report.errors.append(error)
        Mailbox.objects.filter(pk=mailbox.pk).update(
            last_fetched_at=timezone.now(), last_error=error
        )
        return report
    try:
        with _connected(mailbox, password) as box:
            uids = box.uids(AND(seen=False))
            for start in range(0, len(uids), batch):
                chunk = uids[start : start + batch]
                messages = list(
                    box.fetch(
                        uid_list=chunk, mark_seen=False, bulk=max(2, len(chunk)), headers_only=False
                    )
                )
                report.fetched += len(messages)
                done = _take_batch(network, messages, report)
                if done:
                    # Only after the batch's transaction committed.
                    box.flag(done, MailMessageFlags.SEEN, True)
                # Keeps the periodic claim (fetch_due_mailboxes) while a long fetch runs.
                Mailbox.objects.filter(pk=mailbox.pk).update(last_fetched_at=timezone.now())
        error = ""
    except Exception as exc:  # the server, the network or the login: said on the mailbox
        logger.exception("Fetching mail for %s failed", network.slug)
        error = f"{type(exc).__name__}: {exc}"[:2000]
        report.errors.append(error)
    Mailbox.objects.filter(pk=mailbox.pk).update(last_fetched_at=timezone.now(), last_error=error)
    return report


@dataclass
class _Incoming:
    """One fetched message, read (hashed and parsed) before the transaction starts."""

    uid: str
    raw: bytes
    sha256: str
    message_id: str
    parsed: ParsedMail | None
    reason: str  # why the parser refused it (parsed is None)


def _read(message: MailMessage) -> _Incoming:
    raw = message.raw if isinstance(message, _RawMessage) else message.obj.as_bytes()
    parsed: ParsedMail | None = None
    reason = ""
    try:
        parsed = parse(raw)
        message_id = parsed.message_id
    except Unparseable as exc:
        reason = exc.reason
        message_id = _message_id_of_raw(raw)
    return _Incoming(
        uid=message.uid or "",
        raw=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        message_id=message_id,
        parsed=parsed,
        reason=reason,
    )


def _failed(uid: str, exc: Exception, report: FetchReport) -> None:
    report.failed += 1
    report.errors.append(f"uid {uid}: {type(exc).__name__}: {exc}"[:500])


def _take_batch(network: Network, messages: list[MailMessage], report: FetchReport) -> list[str]:
    """Store a batch of messages in ONE transaction, each message in its own savepoint: a
    message that fails is rolled back alone (and left unseen) while the others are kept. The
    UIDs that may be flagged \\Seen (the transaction committed) are returned; when the commit
    itself fails, none are, and every message of the batch is fetched again next time."""
    incoming: list[_Incoming] = []
    for message in messages:
        try:
            incoming.append(_read(message))
        except Exception as exc:
            logger.exception("Reading mail uid %s of %s failed", message.uid, network.slug)
            _failed(message.uid or "", exc, report)
    if not incoming:
        return []
    stored: list[tuple[str, str]] = []
    failures: list[tuple[str, Exception]] = []
    try:
        with transaction.atomic():
            # One intake of this network at a time: the duplicate check below cannot race.
            Mailbox.objects.select_for_update().filter(network=network).first()
            known = _Known(network, incoming)
            shared = intake.IntakeBatch(network, actor_label="mailbox")
            for item in incoming:
                mark = shared.mark()
                try:
                    with transaction.atomic():
                        outcome, row = _store(network, item, known, shared)
                except Exception as exc:
                    shared.restore(mark)
                    logger.exception("Storing mail uid %s of %s failed", item.uid, network.slug)
                    failures.append((item.uid, exc))
                    continue
                if row is not None:
                    known.add(*row)
                stored.append((item.uid, outcome))
            shared.finish()
    except Exception as exc:  # the commit (or the lock): nothing of the batch was kept
        logger.exception("Storing a batch of mail of %s failed", network.slug)
        for item in incoming:
            _failed(item.uid, exc, report)
        return []
    for uid, error in failures:
        _failed(uid, error, report)
    for _, outcome in stored:
        if outcome == InboundStatus.ENQUIRY:
            report.created += 1
        elif outcome == InboundStatus.DUPLICATE:
            report.duplicates += 1
        else:
            report.quarantined += 1
    return [uid for uid, _ in stored if uid]


_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*<?([^\r\n>]*)>?", re.IGNORECASE | re.MULTILINE)


def _message_id_of_raw(raw: bytes) -> str:
    """The Message-ID of a message the parser refused (for deduplication), if it has one."""
    header_end = raw.find(b"\r\n\r\n")
    if header_end < 0:
        header_end = raw.find(b"\n\n")
    found = _MESSAGE_ID.search(raw[: header_end if header_end >= 0 else 65536])
    return found.group(1).decode("ascii", "replace").strip()[:998] if found else ""


type _Row = tuple[int, str, str, int | None]  # pk, sha256, message_id, enquiry_id


class _Known:
    """The network's inbound mail that a batch's messages could repeat (the same bytes or the
    same Message-ID), read in one query, plus what the batch itself stores."""

    def __init__(self, network: Network, incoming: list[_Incoming]) -> None:
        self.by_sha256: dict[str, _Row] = {}
        self.by_message_id: dict[str, _Row] = {}
        same = Q(sha256__in={item.sha256 for item in incoming})
        message_ids = {item.message_id for item in incoming if item.message_id}
        if message_ids:
            same |= Q(message_id__in=message_ids)
        rows = (
            InboundMail.objects.filter(same, network=network)
            .order_by("pk")
            .values_list("pk", "sha256", "message_id", "enquiry_id")
        )
        for row in rows:
            self.add(*row)

    def add(self, pk: int, sha256: str, message_id: str, enquiry_id: int | None) -> None:
        row = (pk, sha256, message_id, enquiry_id)
        self.by_sha256.setdefault(sha256, row)
        if message_id:
            self.by_message_id.setdefault(message_id, row)

    def earlier(self, item: _Incoming) -> _Row | None:
        """The first stored mail with the same bytes or the same Message-ID."""
        found = [self.by_sha256.get(item.sha256)]
        if item.message_id:
            found.append(self.by_message_id.get(item.message_id))
        rows = [row for row in found if row is not None]
        return min(rows) if rows else None


def _store(
    network: Network, item: _Incoming, known: _Known, shared: intake.IntakeBatch
) -> tuple[str, _Row | None]:
    """The InboundMail row first, then the enquiry or the quarantine: the outcome's status and
    the row stored (None when nothing was)."""
    earlier = known.earlier(item)
    if earlier is not None:
        if item.sha256 not in known.by_sha256:
            # The same Message-ID with other bytes (a resend through another relay): kept, as a
            # duplicate of the first.
            duplicate = InboundMail.objects.create(
                network=network,
                message_id=item.message_id,
                sha256=item.sha256,
                uid=item.uid,
                raw=item.raw,
                status=InboundStatus.DUPLICATE,
                enquiry_id=earlier[3],
                reason=f"The same Message-ID as inbound mail {earlier[0]}.",
            )
            return InboundStatus.DUPLICATE, (duplicate.pk, item.sha256, item.message_id, earlier[3])
        return InboundStatus.DUPLICATE, None
    inbound = InboundMail.objects.create(
        network=network,
        message_id=item.message_id,
        sha256=item.sha256,
        uid=item.uid,
        raw=item.raw,
        status=InboundStatus.QUARANTINED,
        reason=item.reason,
    )
    row = (inbound.pk, item.sha256, item.message_id, None)
    parsed = item.parsed
    if parsed is None:
        _audit_quarantine(network, inbound)
        return InboundStatus.QUARANTINED, row
    try:
        with transaction.atomic():
            enquiry = intake.enquiry_receive(
                network=network,
                data=_enquiry_data(parsed),
                source=EnquirySource.EMAIL,
                actor_label="mailbox",
                message_id=parsed.message_id,
                attachments=_attachments(parsed),
                batch=shared,
            )
    except ValidationFailed as exc:
        inbound.reason = "; ".join(p.msg for p in exc.problems) or str(exc)
        inbound.save(update_fields=["reason"])
        _audit_quarantine(network, inbound)
        return InboundStatus.QUARANTINED, row
    inbound.status = InboundStatus.ENQUIRY
    inbound.enquiry = enquiry
    inbound.save(update_fields=["status", "enquiry"])
    return InboundStatus.ENQUIRY, (inbound.pk, item.sha256, item.message_id, enquiry.pk)


def _audit_quarantine(network: Network, inbound: InboundMail) -> None:
    audit.record(
        actor=system_actor(network.organisation, "mailbox"),
        action="quarantine",
        obj=inbound,
        changes={"status": [None, inbound.status], "reason": [None, inbound.reason]},
    )


def _storable(value: str, *, limit: int, multiline: bool) -> str:
    """`value` cut to `limit` without the characters no field keeps (control characters)."""
    value = value[:limit]
    if text_problem(value, multiline=multiline) is None:
        return value
    return "".join(ch for ch in value if text_problem(ch, multiline=multiline) is None)


def _enquiry_data(parsed: ParsedMail) -> dict[str, str]:
    limits = intake.LIMITS
    text = parsed.text
    notes = [
        f"[{a.file_name} ({len(a.content):,} bytes) was too large to attach; the original "
        "message keeps it.]"
        for a in parsed.attachments
        if len(a.content) > intake.MAX_ATTACHMENT_BYTES
    ]
    if notes:
        text = "\n\n".join([text, *notes])
    if len(text) > limits["message"]:
        cut = "\n\n[The message was cut here; the original is kept with the inbound mail.]"
        text = text[: limits["message"] - len(cut)] + cut
    return {
        "name": _storable(parsed.from_name, limit=limits["name"], multiline=False),
        "email": parsed.from_address[: limits["email"]],
        "subject": _storable(parsed.subject, limit=limits["subject"], multiline=False),
        "message": _storable(text, limit=limits["message"], multiline=True),
    }


def _attachments(parsed: ParsedMail) -> list[intake.IncomingAttachment]:
    return [
        intake.IncomingAttachment(
            file_name=a.file_name, content_type=a.content_type, content=a.content
        )
        for a in parsed.attachments
        if len(a.content) <= intake.MAX_ATTACHMENT_BYTES
    ]


# ---------------------------------------------------------------- the worker


def fetch_due_mailboxes() -> dict[str, FetchReport]:
    """The periodic callback: every enabled mailbox not fetched in the last FETCH_EVERY. A
    conditional UPDATE claims each one, so two workers never fetch the same mailbox at once."""
    reports: dict[str, FetchReport] = {}
    now = timezone.now()
    due = Q(last_fetched_at__isnull=True) | Q(last_fetched_at__lt=now - FETCH_EVERY)
    for mailbox in Mailbox.objects.filter(due, enabled=True).select_related("network"):
        claimed = (
            Mailbox.objects.filter(pk=mailbox.pk, enabled=True)
            .filter(due)
            .update(last_fetched_at=now)
        )
        if claimed != 1:
            continue
        reports[mailbox.network.slug] = mailbox_fetch(mailbox)
    return reports


# ---------------------------------------------------------------- settings and quarantine

MAILBOX_FIELDS = ("host", "port", "username", "folder", "ssl", "starttls", "enabled")


def mailbox_set(*, actor: Actor, network: Network, data: dict) -> Mailbox:
    """Create or change the network's mailbox (the coordinator; or the CLI, acting with no
    user). Every problem is named at once; the password is never written to the audit trail."""
    if actor.user is not None:
        require_coordinator(network, actor, "set up the network's mailbox")
    problems = ProblemList()
    existing = Mailbox.objects.filter(network=network).first()
    values = {name: data[name] for name in MAILBOX_FIELDS if data.get(name) is not None}
    password = data.get("password")
    for name in ("host", "username", "folder"):
        if name in values:
            values[name] = str(values[name]).strip()
            if reason := text_problem(values[name], max_length=255):
                problems.add((name,), f"{name.capitalize()} {reason}.")
        missing = not values.get(name) and not (existing and getattr(existing, name))
        if missing and name != "folder":
            problems.add((name,), f"{name.capitalize()} is required.", type="missing")
    if password is not None:
        password = str(password)
        if len(password) > 255:
            problems.add(("password",), "Password must be at most 255 characters.")
    if "port" in values:
        try:
            values["port"] = int(values["port"])
        except (TypeError, ValueError):
            values["port"] = 0
        if not 1 <= values["port"] <= 65535:
            problems.add(("port",), "Port must be a number from 1 to 65535.")
    problems.raise_if_any("The mailbox was not saved.")
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().filter(network=network).first()
        created = mailbox is None
        if mailbox is None:
            mailbox = Mailbox(network=network)
        before = {name: getattr(mailbox, name) for name in MAILBOX_FIELDS}
        for name, value in values.items():
            setattr(mailbox, name, value)
        if not mailbox.folder:
            mailbox.folder = "INBOX"
        password_changed = password is not None and _password_differs(mailbox, password)
        if password is not None:
            mailbox.password_encrypted = encryption.encrypt(password)
        elif mailbox.password_encrypted:
            # Saved under the current SECRET_KEY after a rotation (an unreadable one is kept:
            # the fetch says to set it again).
            with contextlib.suppress(encryption.Undecryptable):
                mailbox.password_encrypted = encryption.reencrypt(mailbox.password_encrypted)
        if created:
            mailbox.save(force_insert=True)
        else:
            mailbox.save()
        changes = {
            name: [before[name], getattr(mailbox, name)]
            for name in MAILBOX_FIELDS
            if before[name] != getattr(mailbox, name)
        }
        if password_changed:
            # That it changed, never the value (neither plain nor encrypted).
            changes["password"] = ["***", "***"]
        audit.record(
            actor=books_actor(network, actor if actor.user else None, actor.label),
            action="create" if created else "update",
            obj=mailbox,
            changes=changes,
        )
    return mailbox


def _password_differs(mailbox: Mailbox, password: str) -> bool:
    if not mailbox.password_encrypted:
        return True
    try:
        return encryption.decrypt(mailbox.password_encrypted) != password
    except encryption.Undecryptable:
        return True


def quarantine_list(*, actor: Actor, network: Network) -> list[InboundMail]:
    require_coordinator(network, actor, "see the quarantined mail")
    return list(
        InboundMail.objects.filter(network=network, status=InboundStatus.QUARANTINED)
        .defer("raw")
        .order_by("-fetched_at", "-pk")
    )


def _quarantined(network: Network, inbound_id: int) -> InboundMail:
    inbound = (
        InboundMail.objects.select_for_update()
        .filter(network=network, pk=inbound_id, status=InboundStatus.QUARANTINED)
        .first()
    )
    if inbound is None:
        raise NotFound(f"No quarantined mail {inbound_id}.")
    return inbound


def _lenient_fields(raw: bytes) -> dict[str, str]:
    """What can be read of a message the parser refused: its headers and text, decoded with
    replacement characters (the coordinator releases it knowing it is imperfect)."""
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    texts = []
    for part in message.walk():
        if part.get_content_type() in {"text/plain", "text/html"}:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    body = "\n\n".join(texts).strip() or raw.decode("utf-8", "replace")
    subject = str(message.get("Subject", "") or "")
    return {"subject": subject, "message": body}


def inbound_release(
    *, actor: Actor, network: Network, inbound_id: int, email: str = "", name: str = ""
) -> Enquiry:
    """The coordinator turns a quarantined message into an enquiry anyway, giving the sender's
    address when the message had none (no acknowledgement is sent without one)."""
    require_coordinator(network, actor, "release quarantined mail")
    with transaction.atomic():
        inbound = _quarantined(network, inbound_id)
        try:
            parsed = parse(bytes(inbound.raw))
            data = _enquiry_data(parsed)
            attachments = _attachments(parsed)
        except Unparseable:
            lenient = _lenient_fields(bytes(inbound.raw))
            data = {
                "subject": _storable(lenient["subject"], limit=255, multiline=False),
                "message": _storable(
                    lenient["message"], limit=intake.LIMITS["message"], multiline=True
                ),
            }
            attachments = []
        if email:
            data["email"] = email.strip()
        if name:
            data["name"] = name.strip()
        if not data.get("email") and not data.get("name"):
            data["name"] = "Unknown sender"
        enquiry = intake.enquiry_receive(
            network=network,
            data=data,
            source=EnquirySource.EMAIL,
            actor_label=actor.label,
            message_id=inbound.message_id,
            attachments=attachments,
        )
        inbound.status = InboundStatus.RELEASED
        inbound.enquiry = enquiry
        inbound.save(update_fields=["status", "enquiry"])
        audit.record(
            actor=books_actor(network, actor if actor.user else None, actor.label),
            action="release",
            obj=inbound,
            changes={
                "status": [InboundStatus.QUARANTINED, InboundStatus.RELEASED],
                "enquiry": [None, enquiry.reference],
            },
        )
    return enquiry


def inbound_discard(*, actor: Actor, network: Network, inbound_id: int) -> InboundMail:
    """The coordinator decides a quarantined message is not an enquiry (spam, a bounce). The
    raw message is kept, marked discarded."""
    require_coordinator(network, actor, "discard quarantined mail")
    with transaction.atomic():
        inbound = _quarantined(network, inbound_id)
        inbound.status = InboundStatus.DISCARDED
        inbound.save(update_fields=["status"])
        audit.record(
            actor=books_actor(network, actor if actor.user else None, actor.label),
            action="discard",
            obj=inbound,
            changes={"status": [InboundStatus.QUARANTINED, InboundStatus.DISCARDED]},
        )
    return inbound
