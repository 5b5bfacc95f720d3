"""Fixtures of the mail intake tests: a real Dovecot per test process and a fresh IMAP user
per test, set as the `cotech` network's mailbox (imported by conftest.py)."""

import itertools
import os
from dataclasses import dataclass

import pytest
from imap_tools import MailBoxUnencrypted

from salesline.accounts import services as accounts
from tests.enquiries import dovecot

_mail_users = itertools.count(1)


@pytest.fixture(scope="session")
def imap_server():
    """One Dovecot per test process (each xdist worker starts its own, on its own port)."""
    server = dovecot.start()
    yield server
    server.stop()


@dataclass
class TestMailbox:
    __test__ = False

    server: dovecot.ImapServer
    user: str
    password: str
    mailbox: object  # the network's Mailbox row

    def client(self):
        return MailBoxUnencrypted(self.server.host, self.server.port).login(
            self.user, self.password
        )

    def append(self, raw: bytes, *, seen: bool = False) -> None:
        with self.client() as box:
            status, _ = box.client.append("INBOX", "(\\Seen)" if seen else None, None, raw)
            assert status == "OK"

    def flags(self) -> list[tuple[str, ...]]:
        with self.client() as box:
            return [message.flags for message in box.fetch(mark_seen=False, headers_only=True)]


@pytest.fixture
def imap(world, imap_server) -> TestMailbox:
    """A fresh IMAP user (an empty INBOX) set as the `cotech` network's mailbox."""
    from salesline.enquiries.mail_intake import mailbox_set

    user = f"intake{next(_mail_users)}-{os.getpid()}"
    mailbox = mailbox_set(
        actor=accounts.system_actor(world.network.organisation, "test"),
        network=world.network,
        data={
            "host": imap_server.host,
            "port": imap_server.port,
            "username": user,
            "password": imap_server.password,
            "ssl": False,
            "folder": "INBOX",
        },
    )
    return TestMailbox(imap_server, user, imap_server.password, mailbox)
