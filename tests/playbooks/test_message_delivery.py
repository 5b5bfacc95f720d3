"""Delivery through the worker's task to a real SMTP server on loopback (aiosmtpd)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks
from salesline.playbooks import delivery, message_services
from salesline.playbooks.models import Message
from tests.playbooks.message_fixtures import make_document, make_opportunity, make_template
from tests.playbooks.smtp_sink import SinkHandler, SmtpSink

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    delivery.close_mail_connection()
    sink.stop()


@pytest.fixture
def deal(actor, person, org):
    org.from_email = "partnerships@piql.test"
    org.save()
    make_template(org)
    deal = make_opportunity(actor, person)
    # What creating the deal set going (its quality rating) runs now: the tests count the
    # deliveries' tasks alone.
    run_pending_tasks()
    return deal


def queue(actor, deal, **overrides) -> Message:
    return message_services.message_create_and_send(
        actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk, **overrides
    )


def make_retries_due() -> None:
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now() - timedelta(1))


def test_the_delivered_mail_carries_the_stored_headers_body_and_attachment(actor, deal, smtp):
    document = make_document(
        deal.organisation, opportunity=deal, content=b"%PDF-1.4\nbinary \x00\xff bytes"
    )
    message = queue(actor, deal, attachments=[document.pk])

    assert run_pending_tasks() == 1

    (received,) = smtp.accepted
    mail = received.message
    assert received.mail_from == "partnerships@piql.test"
    assert received.rcpt_tos == ["ola@acme.no"]
    assert mail["From"] == "partnerships@piql.test"
    assert mail["To"] == "ola@acme.no"
    assert mail["Subject"] == "Hello Ola from Piql Archive"
    assert mail["Message-ID"] == message.message_id
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert body.replace("\r\n", "\n").startswith("Dear Ola Nordmann,\n\nAbout Archive project")
    (attachment,) = mail.iter_attachments()
    assert attachment.get_filename() == "Service description.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == b"%PDF-1.4\nbinary \x00\xff bytes"
    message.refresh_from_db()
    assert (message.status, message.error, message.attempts) == ("sent", "", 1)
    assert message.sent_at is not None and message.claimed_at is None
    event = AuditEvent.objects.get(object_type="message", action="deliver")
    assert (event.actor_label, event.changes) == ("worker", {"status": ["queued", "sent"]})


def test_a_temporary_refusal_is_retried_with_back_off_then_failed(actor, deal, smtp):
    smtp.handler.refuse = "451 4.7.1 Greylisted, try again later"
    message = queue(actor, deal)

    assert run_pending_tasks() == 1
    message.refresh_from_db()
    assert message.status == "queued"
    assert message.error == "451 4.7.1 Greylisted, try again later (attempt 1 of 5)"
    (retry,) = DBTaskResult.objects.filter(status="READY")
    # Back-off: the first retry waits RETRY_DELAY seconds.
    wait = (retry.run_after - timezone.now()).total_seconds()
    assert delivery.RETRY_DELAY - 5 < wait <= delivery.RETRY_DELAY
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        make_retries_due()
        assert run_pending_tasks() == 1

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 5)
    assert message.error == "451 4.7.1 Greylisted, try again later"
    assert smtp.handler.seen == [message.message_id] * 5
    assert not smtp.accepted
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert AuditEvent.objects.filter(object_type="message", action="fail").count() == 1


def test_a_permanent_refusal_fails_at_once_and_a_retry_sends_it(actor, deal, smtp):
    smtp.handler.refuse = "550 5.1.1 No such user here"
    message = queue(actor, deal)

    run_pending_tasks()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 1)
    assert message.error == "550 5.1.1 No such user here"
    assert not DBTaskResult.objects.filter(status="READY").exists()

    smtp.handler.refuse = None
    message_services.message_send(actor=actor, message_id=message.pk)
    run_pending_tasks()
    message.refresh_from_db()
    assert (message.status, message.error) == ("sent", "")
    assert [r.message_id for r in smtp.accepted] == [message.message_id]


def test_a_server_that_is_down_is_retried(actor, deal, settings):
    with SmtpSink() as sink:
        settings.MAILERS = sink.mailer()
    delivery.close_mail_connection()
    message = queue(actor, deal)  # the server is gone: connection refused

    run_pending_tasks()
    message.refresh_from_db()
    assert message.status == "queued"
    assert message.error.startswith("ConnectionRefusedError")
    assert DBTaskResult.objects.filter(status="READY").count() == 1

    with SmtpSink() as sink:
        settings.MAILERS = sink.mailer()
        make_retries_due()
        run_pending_tasks()
        delivery.close_mail_connection()
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("sent", 2, "")
    assert [r.message_id for r in sink.accepted] == [message.message_id]


def test_a_sent_message_is_never_sent_again(actor, deal, smtp):
    message = queue(actor, deal)
    run_pending_tasks()
    # The same task again (a duplicate, or one recovered after its worker died after the
    # commit): nothing is sent.
    assert delivery.deliver(message.pk, Message.objects.get().delivery_token) == {
        "sent": 0,
        "failed": 0,
    }
    assert len(smtp.accepted) == 1


def test_a_stale_task_of_an_earlier_send_delivers_nothing(actor, deal, smtp):
    smtp.handler.refuse = "550 5.7.1 Refused"
    message = queue(actor, deal)
    first_token = message.delivery_token
    run_pending_tasks()
    smtp.handler.refuse = None
    message_services.message_send(actor=actor, message_id=message.pk)  # retried by a person

    assert delivery.deliver(message.pk, first_token) == {"sent": 0, "failed": 0}
    assert not smtp.accepted
    run_pending_tasks()
    assert len(smtp.accepted) == 1


def test_a_delivery_resumed_after_a_crash_sends_the_same_message_id(actor, deal, smtp, caplog):
    message = queue(actor, deal)
    # A worker claimed it and died before marking it sent (it may have reached SMTP).
    Message.objects.filter(pk=message.pk).update(claimed_at=timezone.now(), attempts=1)

    run_pending_tasks()

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)
    assert [r.message_id for r in smtp.accepted] == [message.message_id]
    assert "delivering again after an interrupted attempt" in caplog.text


def test_one_task_sends_the_due_queue_as_a_batch_over_one_connection(actor, deal, settings):
    handler = SinkHandler()
    sessions = set()
    original = handler.handle_DATA

    async def counting(server, session, envelope):
        sessions.add(id(session))
        return await original(server, session, envelope)

    handler.handle_DATA = counting
    with SmtpSink(handler) as sink:
        settings.MAILERS = sink.mailer()
        messages = [queue(actor, deal) for _ in range(5)]
        # The first task adopts the other four due tasks: they end SUCCESSFUL unrun.
        assert run_pending_tasks() == 1
        delivery.close_mail_connection()
    assert sorted(r.message_id for r in sink.accepted) == sorted(m.message_id for m in messages)
    assert len(sessions) == 1
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}
    results = DBTaskResult.objects.filter(task_path__endswith=".message_deliver").order_by(
        "enqueued_at"
    )
    assert [r.status for r in results] == ["SUCCESSFUL"] * 5
    assert results[0].return_value == {"sent": 5, "failed": 0}
    assert results[1].return_value == f"delivered with message {messages[0].pk}"


def test_a_batch_takes_no_retry_and_no_message_claimed_elsewhere(actor, deal, smtp):
    first, claimed, retried = (queue(actor, deal) for _ in range(3))
    Message.objects.filter(pk=claimed.pk).update(claimed_at=timezone.now())
    task = DBTaskResult.objects.get(args_kwargs__args__0=retried.pk)
    task.args_kwargs = {**task.args_kwargs, "kwargs": {"_attempt": 2}}
    task.save()

    assert delivery._adopt(first.pk, first.delivery_token) == 0
