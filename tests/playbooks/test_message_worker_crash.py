"""A real `salesline worker` killed (SIGKILL) while it sends: nothing is lost, and nothing is sent
twice except in the one window SMTP cannot close (accepted by the server, not yet committed as
sent), where the second copy carries the same Message-ID.

The SMTP server runs in a thread of the test; the workers are subprocesses on the test database
(`transactional_db`: the test's rows are committed, so the workers see them).
"""

import signal
import sqlite3
import subprocess
import threading
from collections import Counter

from django.db import connection

from salesline.playbooks import message_services
from salesline.playbooks.models import Message
from tests.core.test_worker import SALESLINE, finish, wait_for
from tests.playbooks.message_fixtures import make_opportunity, make_template
from tests.playbooks.smtp_sink import SinkHandler, SmtpSink
from tests.subprocesses import ROOT, subprocess_env


def start_worker(sink: SmtpSink, *options: str) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own console script
        [SALESLINE, "worker", "--interval", "0.05", *options],
        cwd=ROOT,
        env=subprocess_env(**sink.env()),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def queue_three(actor, person, org) -> list[Message]:
    make_template(org)
    deal = make_opportunity(actor, person)
    return [
        message_services.message_create_and_send(
            actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk, subject=f"No. {n}"
        )
        for n in range(3)
    ]


def kill(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=30)


def assert_all_sent(messages: list[Message]) -> None:
    for message in messages:
        message.refresh_from_db()
    assert [m.status for m in messages] == ["sent"] * 3
    assert all(m.sent_at is not None and m.claimed_at is None for m in messages)


def test_a_worker_killed_before_smtp_accepted_the_message_loses_and_duplicates_nothing(
    transactional_db, actor, person, org
):
    messages = queue_three(actor, person, org)
    held = messages[1]
    # The server holds the DATA of the second message: the worker waits for the reply.
    with SmtpSink(SinkHandler(hold={held.message_id})) as sink:
        first = start_worker(sink, "--worker-id", "doomed")
        try:
            assert sink.handler.holding.wait(60), "the held message never reached the server"
        finally:
            kill(first)
        sink.handler.release.set()  # the held DATA is refused (451): never accepted

        code, _, err = finish(start_worker(sink, "--once", "--replaces", "doomed"))

    assert code == 0, err
    assert_all_sent(messages)
    accepted = Counter(r.message_id for r in sink.accepted)
    assert accepted == Counter(m.message_id for m in messages)  # each exactly once
    assert sink.handler.seen.count(held.message_id) == 2  # the interrupted try, then the retry
    held.refresh_from_db()
    assert held.attempts == 2


class RowLock:
    """Holds a write lock on one message row from a connection of its own (the worker's UPDATE
    marking it sent then waits), taken from the SMTP server's thread."""

    def __init__(self):
        settings = connection.settings_dict
        if connection.vendor == "sqlite":
            self.raw = sqlite3.connect(
                settings["NAME"], timeout=20, check_same_thread=False, isolation_level=None
            )
        else:
            import psycopg

            self.raw = psycopg.connect(
                host=settings["HOST"] or "localhost",
                port=settings["PORT"] or 5432,
                user=settings["USER"],
                password=settings["PASSWORD"] or None,
                dbname=settings["NAME"],
                autocommit=True,
            )
        self.taken = threading.Event()

    def take(self, message_id: int) -> None:
        if connection.vendor == "sqlite":
            self.raw.execute("BEGIN IMMEDIATE")
        else:
            self.raw.execute("BEGIN")
            self.raw.execute(
                "SELECT id FROM playbooks_message WHERE id = %s FOR UPDATE", (message_id,)
            )
        self.taken.set()

    def release(self) -> None:
        self.raw.execute("ROLLBACK")
        self.raw.close()


def test_a_worker_killed_after_smtp_accepted_resends_with_the_same_message_id_only(
    transactional_db, actor, person, org
):
    messages = queue_three(actor, person, org)
    caught = messages[1]
    lock = RowLock()

    def lock_before_accepting(message_id: str) -> None:
        if message_id == caught.message_id and not lock.taken.is_set():
            lock.take(caught.pk)

    handler = SinkHandler(before_accept=lock_before_accepting)
    with SmtpSink(handler) as sink:
        first = start_worker(sink, "--worker-id", "doomed")
        try:
            assert lock.taken.wait(60), "the message never reached the server"
            # The server has accepted it; the worker cannot record that it did.
            wait_for(
                lambda: caught.message_id in {r.message_id for r in sink.accepted},
                what="the acceptance",
            )
        finally:
            kill(first)
            lock.release()

        code, _, err = finish(start_worker(sink, "--once", "--replaces", "doomed"))

    assert code == 0, err
    assert_all_sent(messages)
    accepted = Counter(r.message_id for r in sink.accepted)
    # The honest guarantee: the message caught in the window arrives twice, both copies with
    # the same Message-ID (receivers dedupe on it); every other message exactly once.
    assert accepted == Counter({m.message_id: 2 if m == caught else 1 for m in messages})
    copies = [r.message for r in sink.accepted if r.message_id == caught.message_id]
    assert copies[0]["Subject"] == copies[1]["Subject"] == "No. 1"
