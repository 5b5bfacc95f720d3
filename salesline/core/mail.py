"""Sending mail over SMTP from the worker, for every part that mails (the playbooks' messages,
the analytics' weekly report): each worker process keeps its connection to the default mailer
open between messages (closed after IDLE_SECONDS without one, or when the mail settings
change), and SMTP errors are told apart as permanent (5xx: the same message will be refused
again) or temporary (4xx, a dropped or refused connection, a time-out: worth a retry)."""

from __future__ import annotations

import logging
import smtplib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.mail import mailers

logger = logging.getLogger(__name__)

#: An SMTP connection unused this long is closed and a new one opened for the next message.
IDLE_SECONDS = 10.0
#: Seconds an SMTP command may take when the mailer's settings give no time-out.
SMTP_TIMEOUT = 30.0


# ---------------------------------------------------------------- the connection


class _Cached(threading.local):
    backend: Any = None
    key: str = ""
    last_used: float = 0.0


_cached = _Cached()


def _mailer_key() -> str:
    return repr(getattr(settings, "MAILERS", {}).get("default"))


def mail_connection():
    """The process's open connection to the default mailer (opened when needed)."""
    key = _mailer_key()
    now = time.monotonic()
    if _cached.backend is not None and (
        _cached.key != key or now - _cached.last_used > IDLE_SECONDS
    ):
        close_mail_connection()
    if _cached.backend is None:
        backend = mailers.default
        if getattr(backend, "timeout", SMTP_TIMEOUT) is None:
            backend.timeout = SMTP_TIMEOUT  # type: ignore[attr-defined]
        backend.open()
        _cached.backend, _cached.key = backend, key
    _cached.last_used = now
    return _cached.backend


def close_mail_connection() -> None:
    backend, _cached.backend = _cached.backend, None
    if backend is not None:
        try:
            backend.close()
        except (OSError, smtplib.SMTPException):
            logger.info("Closing the SMTP connection failed", exc_info=True)


def smtp_error_text(error: BaseException) -> str:
    """The error as a person reads it: the server's code and reply where there is one."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return f"{type(error).__name__}: {error}"


def _text(reply: Any) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def is_permanent(error: BaseException) -> bool:
    """A 5xx reply: the server will refuse the same message again (bad recipient, policy)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False
