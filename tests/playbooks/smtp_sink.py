"""A real SMTP server on loopback (aiosmtpd) for the mail tests and the benchmark.

`SmtpSink` runs in a thread of the test process; what it receives is parsed back with the
`email` package. It can refuse (a reply such as "550 ..." or "451 ...") and hold a message's DATA
until released, so a test can kill the worker sending it.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.subprocesses import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class SinkHandler:
    accepted: list[Received] = field(default_factory=list)
    #: Message-IDs whose DATA arrived (accepted or not), in order.
    seen: list[str] = field(default_factory=list)
    #: The reply to every DATA instead of accepting ("550 ..." or "451 ..."); None accepts.
    refuse: str | None = None
    #: Message-IDs whose first DATA is held (not answered) until `release` is set.
    hold: set[str] = field(default_factory=set)
    #: The reply given to a held DATA once released.
    held_reply: str = "451 4.3.0 interrupted, try again"
    #: Called (in the server's thread) before a DATA is accepted, with its Message-ID.
    before_accept: object = None
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message_id = str(message["Message-ID"])
        with self.lock:
            self.seen.append(message_id)
            held = message_id in self.hold
            self.hold.discard(message_id)
        if held:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return self.held_reply
        if self.refuse:
            return self.refuse
        if callable(self.before_accept):
            self.before_accept(message_id)
        with self.lock:
            self.accepted.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpSink:
    """`with SmtpSink() as sink:` a server on 127.0.0.1 at `sink.port`."""

    def __init__(self, handler: SinkHandler | None = None):
        self.handler = handler or SinkHandler()
        self.controller: Controller | None = None
        self.port = 0

    def start(self) -> SmtpSink:
        for _ in range(5):  # the OS's free port may be taken before we bind it: try another
            port = free_port()
            controller = Controller(self.handler, hostname="127.0.0.1", port=port)
            try:
                controller.start()
            except (OSError, RuntimeError):
                continue
            self.controller, self.port = controller, port
            return self
        raise RuntimeError("no free port for the SMTP server")

    def stop(self) -> None:
        self.handler.release.set()
        if self.controller is not None:
            self.controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def accepted(self) -> list[Received]:
        return self.handler.accepted

    def mailer(self) -> dict:
        """MAILERS for Django's mail to reach this server."""
        return {
            "default": {
                "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "OPTIONS": {
                    "host": "127.0.0.1",
                    "port": self.port,
                    "use_tls": False,
                    "timeout": 10,
                },
            }
        }

    def env(self) -> dict[str, str]:
        """The environment of a `salesline worker` subprocess sending here."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_TLS": "0"}
