"""Delivery of queued messages by SMTP, run by the worker (docs/mail-delivery.md).

`message_deliver(message_id, token)` is enqueued by `message_services.message_send` in the
sending transaction. One delivery:

1. **claims** the message with a conditional UPDATE (still `queued`, and still this send's
   token) and commits, so a message already sent, failed, cancelled or sent again with a new
   token is never delivered by this task;
2. hands it to SMTP with its stored `Message-ID`;
3. marks it `sent` (conditionally again) with `sent_at` and an audit event, in one commit.

A worker that dies between 1 and 3 leaves its task RUNNING; `core.tasks.recover_stale_tasks` puts
it back and the task runs again with the same token, so the message is delivered again: at least
once. If the first attempt died after the SMTP server accepted the message and before step 3
committed, the server receives it twice, both times with the same Message-ID (what receiving
systems dedupe on); SMTP offers nothing better. A message marked `sent` is never handed to SMTP
again.

A refused delivery is retried with back-off (`durable_task`): temporary errors (4xx replies,
connection refused or dropped, time-outs) up to `MAX_ATTEMPTS` times; a permanent refusal (a 5xx
reply) fails the message at once. A failed message carries the SMTP error in `error`.

Connections: each worker process keeps its SMTP connection open between deliveries (closed
after `core.mail.IDLE_SECONDS` without one, or when the mail settings change), so a worker
draining many queued messages opens one connection, not one per message.
"""

from __future__ import annotations

import logging
import re
import smtplib
from email.message import MIMEPart
from typing import Any

from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from salesline.accounts.services import system_actor
from salesline.core import audit
from salesline.core.events import _uses_database_backend
from salesline.core.mail import (
    close_mail_connection,
    is_permanent,
    mail_connection,
    smtp_error_text,
)
from salesline.core.tasks import ATTEMPT_KWARG, current_attempt, durable_task

from .models import Document, Message

logger = logging.getLogger(__name__)

#: Attempts of one delivery before the message is failed.
MAX_ATTEMPTS = 5
#: Seconds before the first retry, doubled each time: 30 s, 1 min, 2 min, 4 min.
RETRY_DELAY = 30.0
#: Messages one delivery task sends over its connection: its own and due ones it adopts.
BATCH_SIZE = 50
WORKER_LABEL = "worker"


class DeliveryRefused(Exception):
    """The SMTP server (or the network) refused this attempt; the message stays queued."""


# ---------------------------------------------------------------- building and sending


def email_for(message: Message) -> EmailMessage:
    """The e-mail of a message: its stored Message-ID, its attachments read through storage."""
    mail = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=message.from_email,
        to=list(message.to),
        headers={"Message-ID": message.message_id},
    )
    for document in message.attachments.all():
        with document.file.open("rb") as file:
            mail.attach(document.file_name, file.read(), document.content_type)
    for inline in message.inline_attachments or []:
        mail.attach(_text_part(inline))
    return mail


def _text_part(inline: dict) -> MIMEPart:
    """A text attachment; a calendar file carries its iTIP method as a parameter of its type
    (text/calendar; method=REQUEST), which mail clients read to offer "accept"."""
    maintype, _, subtype = inline["content_type"].partition("/")
    part = MIMEPart()
    params = {}
    if subtype == "calendar":
        method = re.search(r"^METHOD:(\w+)", inline["text"], re.MULTILINE)
        if method:
            params["method"] = method.group(1)
    part.set_content(
        inline["text"],
        subtype=subtype or "plain",
        disposition="attachment",
        filename=inline["file_name"],
        params=params,
    )
    return part


# ---------------------------------------------------------------- the task


def _entitled(token: str) -> bool:
    """Whether this task has anything to deliver: its message, or one it adopted (a task run
    again after its worker died, its own message sent, still has to finish its batch), still
    queued under its token."""
    return Message.objects.filter(status=Message.Status.QUEUED, delivery_token=token).exists()


def _adopt(message_id: int, token: str) -> int:
    """Take over up to BATCH_SIZE - 1 other due delivery tasks, so one task sends a batch over
    one connection: their messages move to this task's token and their task rows end
    SUCCESSFUL, in one transaction. A task row locked by another worker (being claimed) is
    skipped, and only first attempts of unclaimed queued messages are taken. How many."""
    from django.tasks.base import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
    from django_tasks_db.models import DBTaskResult
    from django_tasks_db.utils import exclusive_transaction

    with exclusive_transaction(DBTaskResult.objects.db):
        rows = list(
            DBTaskResult.objects.ready()
            .filter(backend_name=DEFAULT_TASK_BACKEND_ALIAS, task_path=message_deliver.module_path)
            .order_by("-priority", "run_after", "enqueued_at")
            .select_for_update(skip_locked=True)
            .only("id", "args_kwargs")[: BATCH_SIZE - 1]
        )
        wanted: dict[int, tuple[str, Any]] = {}
        for row in rows:
            args, kwargs = row.args_kwargs.get("args", []), row.args_kwargs.get("kwargs", {})
            # A first attempt carries no attempt number (only the organisation marker).
            if len(args) == 2 and ATTEMPT_KWARG not in kwargs and args[0] != message_id:
                wanted[args[0]] = (args[1], row.pk)
        found = Message.objects.filter(
            pk__in=wanted, status=Message.Status.QUEUED, claimed_at__isnull=True
        ).values_list("pk", "delivery_token")
        adopted = [pk for pk, their_token in found if wanted[pk][0] == their_token]
        if not adopted:
            return 0
        Message.objects.filter(pk__in=adopted).update(delivery_token=token)
        DBTaskResult.objects.filter(pk__in=[wanted[pk][1] for pk in adopted]).update(
            status=TaskResultStatus.SUCCESSFUL,
            finished_at=timezone.now(),
            return_value=f"delivered with message {message_id}",
        )
    return len(adopted)


def _claim(token: str) -> tuple[list[Message], set[int]]:
    """The messages this task delivers (its own and those it adopted), claimed; and those an
    earlier attempt was interrupted delivering (they may have reached SMTP)."""
    now = timezone.now()
    mine = Message.objects.filter(status=Message.Status.QUEUED, delivery_token=token)
    with transaction.atomic():
        interrupted = set(mine.filter(claimed_at__isnull=False).values_list("pk", flat=True))
        mine.update(claimed_at=now, attempts=F("attempts") + 1, updated_at=now)
        messages = list(
            mine.select_related("organisation")
            .prefetch_related(Prefetch("attachments", queryset=Document.objects.order_by("id")))
            .order_by("pk")
        )
    return messages, interrupted


def _finish(message: Message, token: str, *, status: str, error: str = "") -> bool:
    """Record the outcome of this delivery (sent or failed) with its audit event."""
    now = timezone.now()
    values: dict[str, Any] = {"status": status, "error": error, "claimed_at": None}
    values["updated_at"] = now
    if status == Message.Status.SENT:
        values["sent_at"] = now
    with transaction.atomic():
        done = Message.objects.filter(
            pk=message.pk, status=Message.Status.QUEUED, delivery_token=token
        ).update(version=F("version") + 1, **values)
        if done:
            audit.record(
                actor=system_actor(message.organisation, WORKER_LABEL),
                action="deliver" if status == Message.Status.SENT else "fail",
                obj=message,
                changes={"status": [Message.Status.QUEUED, status], **_error_change(error)},
            )
    return bool(done)


def _error_change(error: str) -> dict[str, list[str]]:
    return {"error": ["", error]} if error else {}


def _note_error(message: Message, token: str, error: str) -> None:
    """A temporary failure: the message stays queued with the error of this attempt, and the
    rest of the batch, not tried, stays queued unclaimed for the retry."""
    queued = Message.objects.filter(status=Message.Status.QUEUED, delivery_token=token)
    with transaction.atomic():
        queued.filter(pk=message.pk).update(error=error, updated_at=timezone.now())
        queued.update(claimed_at=None)


def deliver(message_id: int, token: str) -> dict[str, int]:
    """One delivery attempt of a message, with the batch it adopted; returns how many were
    sent and failed. Raises DeliveryRefused after a temporary failure that is not the last
    attempt (what was not sent stays queued for the retry)."""
    if not _entitled(token):
        return {"sent": 0, "failed": 0}
    attempt = current_attempt()
    if attempt.number == 1 and BATCH_SIZE > 1 and _uses_database_backend():
        _adopt(message_id, token)
    messages, interrupted = _claim(token)
    outcome = {"sent": 0, "failed": 0}
    for message in messages:
        if message.pk in interrupted:
            logger.warning(
                "Message %s: delivering again after an interrupted attempt (same Message-ID %s)",
                message.pk,
                message.message_id,
            )
        try:
            mail = email_for(message)
        except OSError as error:  # an attachment's file is gone: no retry brings it back
            _finish(message, token, status=Message.Status.FAILED, error=f"attachment: {error}")
            outcome["failed"] += 1
            continue
        try:
            mail_connection().send_messages([mail])
        except (OSError, smtplib.SMTPException) as error:
            close_mail_connection()
            text = smtp_error_text(error)
            if is_permanent(error) or attempt.is_last:
                logger.warning("Message %s failed: %s", message.pk, text)
                _finish(message, token, status=Message.Status.FAILED, error=text)
                outcome["failed"] += 1
                continue
            _note_error(
                message, token, f"{text} (attempt {attempt.number} of {attempt.max_attempts})"
            )
            raise DeliveryRefused(text) from error
        _finish(message, token, status=Message.Status.SENT)
        outcome["sent"] += 1
    return outcome


@durable_task(max_attempts=MAX_ATTEMPTS, retry_delay=RETRY_DELAY)
def message_deliver(message_id: int, token: str) -> dict[str, int]:
    """The worker's task: deliver one queued message (see the module docstring)."""
    return deliver(message_id, token)
