"""Enquiries by e-mail, end to end against a real Dovecot on loopback."""

from email.message import EmailMessage
from email.mime.text import MIMEText

import pytest

from salesline.core.encryption import encrypt
from salesline.core.errors import NotFound, PermissionDenied
from salesline.core.models import AuditEvent
from salesline.enquiries import intake, mail_intake
from salesline.enquiries.models import Enquiry, InboundMail, InboundStatus, Mailbox

SEEN = "\\Seen"


def _mail(
    *,
    subject="A website for our bakery",
    body="Hello, we need a new website.\n",
    sender="Jo Baker <jo@bakery.test>",
    message_id="<1@bakery.test>",
    html: str | None = None,
    attachment: tuple[str, str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "enquiries@cotech.test"
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    if html is not None and body is None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    if attachment:
        name, content_type, content = attachment
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def test_a_plain_message_becomes_one_enquiry_and_is_flagged_seen(world, imap):
    imap.append(_mail())
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert (report.fetched, report.created, report.duplicates, report.quarantined) == (1, 1, 0, 0)
    enquiry = Enquiry.objects.get(network=world.network)
    assert enquiry.source == "email"
    assert enquiry.name == "Jo Baker"
    assert enquiry.email == "jo@bakery.test"
    assert enquiry.subject == "A website for our bakery"
    assert enquiry.message == "Hello, we need a new website."
    assert enquiry.message_id == "1@bakery.test"
    inbound = InboundMail.objects.get(network=world.network)
    assert inbound.status == InboundStatus.ENQUIRY
    assert inbound.enquiry == enquiry
    assert bytes(inbound.raw).startswith(b"From: Jo Baker")
    assert len(inbound.sha256) == 64
    assert [SEEN in flags for flags in imap.flags()] == [True]
    assert Mailbox.objects.get(pk=imap.mailbox.pk).last_error == ""


def test_an_html_only_message_is_read_as_text(world, imap):
    html = (
        "<html><head><style>p{color:red}</style></head><body><p>We need a <b>shop</b>"
        "</p><ul><li>Budget &pound;20k</li><li>By June</li></ul><script>x()</script></body></html>"
    )
    imap.append(_mail(body=None, html=html))
    mail_intake.mailbox_fetch(imap.mailbox)
    enquiry = Enquiry.objects.get(network=world.network)
    assert enquiry.message == "We need a shop\n\n- Budget £20k\n\n- By June"


def test_attachments_are_stored(world, imap):
    pdf = b"%PDF-1.4 a brief\n" * 20
    imap.append(_mail(attachment=("brief.pdf", "application/pdf", pdf)))
    mail_intake.mailbox_fetch(imap.mailbox)
    enquiry = Enquiry.objects.get(network=world.network)
    (attachment,) = enquiry.attachments.all()
    assert attachment.file_name == "brief.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.size == len(pdf)
    with attachment.file.open("rb") as stored:
        assert stored.read() == pdf


def test_latin_1_and_windows_1252_bodies_and_encoded_headers(world, imap):
    latin = MIMEText("Grüße aus Köln, ça va?", "plain", "iso-8859-1")
    latin["From"] = "=?iso-8859-1?q?J=F6rg_M=FCller?= <jorg@koeln.test>"
    latin["Subject"] = "=?iso-8859-1?q?Anfrage_f=FCr_eine_App?="
    latin["Message-ID"] = "<latin@koeln.test>"
    imap.append(latin.as_bytes())
    windows = (
        b"From: =?windows-1252?B?Q2hsb+kgRHVwb250?= <chloe@paris.test>\r\n"
        b"Subject: =?utf-8?b?RGV2aXMg4oCTIHNpdGUgd2Vi?=\r\n"
        b"Message-ID: <w1252@paris.test>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="windows-1252"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        b"\x93Un devis\x94 \x96 co\xfbt \x80500\r\n"
    )
    imap.append(windows)
    # Declared ISO-8859-1 but written with Windows quotes: read as Windows-1252.
    mislabelled = (
        b"From: sam@leeds.test\r\nSubject: quotes\r\nMessage-ID: <ml@leeds.test>\r\n"
        b'Content-Type: text/plain; charset="iso-8859-1"\r\n\r\n\x93smart\x94 quotes\r\n'
    )
    imap.append(mislabelled)
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert report.created == 3
    by_email = {e.email: e for e in Enquiry.objects.filter(network=world.network)}
    assert by_email["jorg@koeln.test"].name == "Jörg Müller"
    assert by_email["jorg@koeln.test"].subject == "Anfrage für eine App"
    assert by_email["jorg@koeln.test"].message == "Grüße aus Köln, ça va?"
    assert by_email["chloe@paris.test"].name == "Chloé Dupont"
    assert by_email["chloe@paris.test"].subject == "Devis – site web"
    assert by_email["chloe@paris.test"].message == "“Un devis” – coût €500"
    assert by_email["sam@leeds.test"].message == "“smart” quotes"


def test_the_same_message_fetched_twice_is_one_enquiry(world, imap):
    raw = _mail()
    imap.append(raw)
    imap.append(raw)  # delivered twice
    # The same Message-ID through another relay (other bytes).
    imap.append(_mail(subject="A website for our bakery (resent)"))
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert (report.fetched, report.created, report.duplicates) == (3, 1, 2)
    # Seen removed on the server (another client): fetched again, still one enquiry.
    with imap.client() as box:
        box.flag(box.uids(), SEEN, False)
    again = mail_intake.mailbox_fetch(imap.mailbox)
    assert (again.fetched, again.created, again.duplicates) == (3, 0, 3)
    assert Enquiry.objects.filter(network=world.network).count() == 1
    assert all(SEEN in flags for flags in imap.flags())
    statuses = sorted(InboundMail.objects.values_list("status", flat=True))
    assert statuses == ["duplicate", "enquiry"]


def test_a_malformed_message_is_quarantined_with_the_reason_and_left_seen(world, imap):
    imap.append(b"Subject: no sender\r\nMessage-ID: <bad@x.test>\r\n\r\nWho sent this?\r\n")
    imap.append(_mail(message_id="<good@bakery.test>"))
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert (report.fetched, report.created, report.quarantined) == (2, 1, 1)
    bad = InboundMail.objects.get(status=InboundStatus.QUARANTINED)
    assert bad.reason == "The message has no From address."
    assert bad.message_id == "bad@x.test"
    assert bad.enquiry is None
    assert b"Who sent this?" in bytes(bad.raw)
    assert [SEEN in flags for flags in imap.flags()] == [True, True]  # still on the server
    assert AuditEvent.objects.filter(action="quarantine", object_id=str(bad.pk)).exists()
    # Fetched again (unseen by another client): not quarantined twice.
    with imap.client() as box:
        box.flag(box.uids(), SEEN, False)
    assert mail_intake.mailbox_fetch(imap.mailbox).quarantined == 0
    assert InboundMail.objects.filter(status=InboundStatus.QUARANTINED).count() == 1


def test_nothing_is_lost_when_recording_the_enquiry_fails(world, imap, monkeypatch):
    imap.append(_mail())
    real = intake.enquiry_receive
    calls = {"n": 0}

    def fails_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(intake, "enquiry_receive", fails_once)
    first = mail_intake.mailbox_fetch(imap.mailbox)
    assert (first.fetched, first.created, first.failed) == (1, 0, 1)
    assert not InboundMail.objects.exists()  # rolled back with the enquiry
    assert [SEEN in flags for flags in imap.flags()] == [False]  # still unseen
    second = mail_intake.mailbox_fetch(imap.mailbox)
    assert (second.fetched, second.created) == (1, 1)
    assert Enquiry.objects.filter(network=world.network).count() == 1
    assert [SEEN in flags for flags in imap.flags()] == [True]


def test_seen_messages_are_not_fetched(world, imap):
    imap.append(_mail(), seen=True)
    assert mail_intake.mailbox_fetch(imap.mailbox).fetched == 0


def test_fetching_in_batches_takes_every_message(world, imap):
    for n in range(7):
        imap.append(_mail(message_id=f"<{n}@bakery.test>", body=f"Enquiry {n}\n"))
    report = mail_intake.mailbox_fetch(imap.mailbox, batch=3)
    assert (report.fetched, report.created) == (7, 7)
    assert sorted(Enquiry.objects.values_list("message", flat=True)) == [
        f"Enquiry {n}" for n in range(7)
    ]


def test_a_wrong_password_is_reported_on_the_mailbox(world, imap):
    Mailbox.objects.filter(pk=imap.mailbox.pk).update(password_encrypted=encrypt("wrong"))
    imap.mailbox.refresh_from_db()
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert report.fetched == 0 and report.errors
    imap.mailbox.refresh_from_db()
    assert "LOGIN" in imap.mailbox.last_error.upper() or "AUTH" in imap.mailbox.last_error.upper()


def test_the_periodic_fetch_claims_each_mailbox_once(world, imap):
    imap.append(_mail())
    assert set(mail_intake.fetch_due_mailboxes()) == {"cotech"}
    # Fetched a moment ago: the next worker's call does not fetch it again.
    assert mail_intake.fetch_due_mailboxes() == {}
    assert Enquiry.objects.count() == 1


def test_the_acknowledgement_is_one_message_per_enquiry(world, imap):
    from salesline.core.tasks import run_pending_tasks
    from salesline.playbooks.models import Message

    imap.append(_mail())
    imap.append(_mail())
    mail_intake.mailbox_fetch(imap.mailbox)
    run_pending_tasks()
    run_pending_tasks()
    enquiry = Enquiry.objects.get()
    (message,) = Message.objects.filter(organisation=world.network.organisation)
    assert message.to == ["jo@bakery.test"]
    assert enquiry.reference in message.subject


def test_quarantine_release_and_discard_are_the_coordinators(world, imap):
    imap.append(b"Subject: no sender\r\n\r\nPlease call me on 0113 496 0000\r\n")
    imap.append(b"Subject: spam\r\nFrom: <>\r\n\r\nBuy now\r\n")
    mail_intake.mailbox_fetch(imap.mailbox)
    network = world.network
    with pytest.raises(PermissionDenied):
        mail_intake.quarantine_list(actor=world.webarch.actor, network=network)
    first, second = sorted(
        mail_intake.quarantine_list(actor=world.coordinator.actor, network=network),
        key=lambda m: m.pk,
    )
    with pytest.raises(PermissionDenied):
        mail_intake.inbound_release(actor=world.webarch.actor, network=network, inbound_id=first.pk)
    enquiry = mail_intake.inbound_release(
        actor=world.coordinator.actor, network=network, inbound_id=first.pk, name="Caller"
    )
    assert enquiry.name == "Caller"
    assert "0113 496 0000" in enquiry.message
    discarded = mail_intake.inbound_discard(
        actor=world.coordinator.actor, network=network, inbound_id=second.pk
    )
    assert discarded.status == InboundStatus.DISCARDED
    assert mail_intake.quarantine_list(actor=world.coordinator.actor, network=network) == []
    with pytest.raises(NotFound):
        mail_intake.inbound_discard(
            actor=world.coordinator.actor, network=network, inbound_id=second.pk
        )
    assert (
        AuditEvent.objects.filter(
            organisation=network.organisation, action__in=["release", "discard"]
        ).count()
        == 2
    )


def test_mailbox_settings_are_the_coordinators_and_named_when_wrong(world):
    from salesline.core.errors import ValidationFailed

    with pytest.raises(PermissionDenied):
        mail_intake.mailbox_set(
            actor=world.webarch.actor, network=world.network, data={"host": "imap.x.test"}
        )
    with pytest.raises(ValidationFailed) as failed:
        mail_intake.mailbox_set(
            actor=world.coordinator.actor, network=world.network, data={"port": 70000}
        )
    assert [p.loc for p in failed.value.problems] == [("host",), ("username",), ("port",)]
    mailbox = mail_intake.mailbox_set(
        actor=world.coordinator.actor,
        network=world.network,
        data={"host": "imap.x.test", "username": "in", "password": "pw"},
    )
    assert (mailbox.port, mailbox.ssl, mailbox.folder) == (993, True, "INBOX")
    event = AuditEvent.objects.get(object_type="mailbox", action="create")
    assert event.changes["password"] == ["***", "***"]


def test_the_cli_sets_the_mailbox_and_fetches(world, imap_server, capsys):
    from salesline.cli import main

    user = f"cli-{imap_server.port}-{id(world)}"
    assert (
        main(
            [
                "network",
                "mailbox",
                "cotech",
                "--host",
                imap_server.host,
                "--port",
                str(imap_server.port),
                "--user",
                user,
                "--password",
                imap_server.password,
                "--no-ssl",
            ]
        )
        == 0
    )
    assert "cotech: " in capsys.readouterr().out
    mailbox = Mailbox.objects.get(network=world.network)
    assert (mailbox.ssl, mailbox.starttls, mailbox.port) == (False, False, imap_server.port)
    from imap_tools import MailBoxUnencrypted

    with MailBoxUnencrypted(imap_server.host, imap_server.port).login(
        user, imap_server.password
    ) as box:
        box.client.append("INBOX", None, None, _mail())
    assert main(["network", "fetch-mail", "cotech"]) == 0
    assert capsys.readouterr().out.strip() == (
        "cotech: fetched 1, created 1, duplicates 0, quarantined 0"
    )


def _enquiries(n, **extra):
    return [_mail(message_id=f"<{i}@bakery.test>", body=f"Enquiry {i}\n", **extra) for i in n]


@pytest.mark.parametrize("failure", ["python", "sql"])
def test_a_failing_message_in_a_batch_leaves_the_others_committed_and_itself_unseen(
    world, imap, monkeypatch, failure
):
    from django.db import connection

    for raw in _enquiries(range(5)):
        imap.append(raw)
    real = intake.enquiry_receive

    def fails_for_the_third(**kwargs):
        if kwargs["data"]["message"] == "Enquiry 2":
            if failure == "sql":  # PostgreSQL aborts the transaction: the savepoint recovers it
                with connection.cursor() as cursor:
                    cursor.execute("SELECT * FROM no_such_table")
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(intake, "enquiry_receive", fails_for_the_third)
    first = mail_intake.mailbox_fetch(imap.mailbox, batch=5)
    assert (first.fetched, first.created, first.failed) == (5, 4, 1)
    assert len(first.errors) == 1
    assert [SEEN in flags for flags in imap.flags()] == [True, True, False, True, True]
    # Nothing of the failed message was kept (its InboundMail went with its savepoint) and the
    # references stay consecutive: its number was given back.
    assert InboundMail.objects.filter(network=world.network).count() == 4
    refs = sorted(Enquiry.objects.filter(network=world.network).values_list("reference", flat=True))
    assert [ref[-5:] for ref in refs] == ["00001", "00002", "00003", "00004"]
    assert AuditEvent.objects.filter(object_type="enquiry", action="create").count() == 4

    monkeypatch.setattr(intake, "enquiry_receive", real)
    second = mail_intake.mailbox_fetch(imap.mailbox, batch=5)
    assert (second.fetched, second.created, second.failed) == (1, 1, 0)
    assert Enquiry.objects.get(message="Enquiry 2").reference.endswith("-00005")
    assert [SEEN in flags for flags in imap.flags()] == [True] * 5
    world.network.refresh_from_db()
    assert world.network.enquiry_counter == 5


def test_a_batch_whose_transaction_fails_keeps_nothing_and_leaves_every_message_unseen(
    world, imap, monkeypatch
):
    for raw in _enquiries(range(3)):
        imap.append(raw)

    def breaks(self):
        raise RuntimeError("commit failed")

    monkeypatch.setattr(intake.IntakeBatch, "finish", breaks)
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert (report.fetched, report.created, report.failed) == (3, 0, 3)
    assert not Enquiry.objects.exists() and not InboundMail.objects.exists()
    assert [SEEN in flags for flags in imap.flags()] == [False] * 3
    monkeypatch.undo()
    assert mail_intake.mailbox_fetch(imap.mailbox).created == 3
    assert [SEEN in flags for flags in imap.flags()] == [True] * 3


def test_the_same_message_twice_in_one_batch_is_one_enquiry(world, imap):
    imap.append(_mail())
    imap.append(_mail(body="Hello again, sent through another relay.\n"))  # same Message-ID
    imap.append(_mail())  # the same bytes
    imap.append(b"Subject: no sender\r\nMessage-ID: <q@x.test>\r\n\r\nCall me\r\n")
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert (report.created, report.duplicates, report.quarantined) == (1, 2, 1)
    enquiry = Enquiry.objects.get(network=world.network)
    statuses = list(InboundMail.objects.order_by("pk").values_list("status", "enquiry_id"))
    assert statuses == [
        (InboundStatus.ENQUIRY, enquiry.pk),
        (InboundStatus.DUPLICATE, enquiry.pk),
        (InboundStatus.QUARANTINED, None),
    ]
    assert InboundMail.objects.get(status=InboundStatus.QUARANTINED).reason
    assert [SEEN in flags for flags in imap.flags()] == [True] * 4


def test_a_batch_routes_each_enquiry_to_the_chair_with_one_acknowledgement_each(world, imap):
    from django.utils import timezone

    from salesline.core.tasks import run_pending_tasks
    from salesline.enquiries.rota_services import rota_period_create
    from salesline.playbooks.models import Message

    rota_period_create(
        actor=world.coordinator.actor,
        network_slug="cotech",
        org_slug=world.webarch.org.slug,
        person_email=world.webarch.user.email,
        starts_on=timezone.localdate(),
    )
    for raw in _enquiries(range(4)):
        imap.append(raw)
    assert mail_intake.mailbox_fetch(imap.mailbox).created == 4
    run_pending_tasks()
    run_pending_tasks()
    enquiries = list(Enquiry.objects.filter(network=world.network))
    assert len({e.reference for e in enquiries}) == 4
    assert {(e.chair_org_id, e.chair_person_id) for e in enquiries} == {
        (world.webarch.org.pk, world.webarch.user.pk)
    }
    assert len({e.respond_by for e in enquiries}) == 1
    messages = list(Message.objects.filter(organisation=world.network.organisation))
    assert [m.to for m in messages] == [["jo@bakery.test"]] * 4
    assert {e.reference for e in enquiries} == {
        next(e.reference for e in enquiries if e.reference in m.subject) for m in messages
    }
    assert AuditEvent.objects.filter(object_type="enquiry", action="create").count() == 4
