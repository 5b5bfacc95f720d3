"""The mailbox password encrypted at rest: what the database holds, the fetch with rotated and
lost keys (against the real Dovecot), the audit trail and the CLI, and the migration that
encrypted the passwords stored before."""

import json
import logging

import pytest
from django.db import connection
from django.test import override_settings

from salesline.accounts import services as accounts
from salesline.cli import main
from salesline.core import encryption
from salesline.core.models import AuditEvent
from salesline.enquiries import mail_intake
from salesline.enquiries.models import Enquiry, Mailbox
from tests.enquiries.test_mail_intake import _mail

NEW_KEY = "a-new-secret-key-after-rotation-" + "n" * 30
LOST_KEY = "a-key-nobody-has-any-more-" + "l" * 30


def _stored(mailbox) -> str:
    """The column as a database dump shows it (no model in between)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT password_encrypted FROM {Mailbox._meta.db_table} WHERE id = %s",  # noqa: S608
            [mailbox.pk],
        )
        return cursor.fetchone()[0]


def _set(world, **data):
    return mail_intake.mailbox_set(
        actor=accounts.system_actor(world.network.organisation, "test"),
        network=world.network,
        data=data,
    )


def test_the_database_holds_a_token_not_the_password(world):
    password = "correct horse battery staple"
    mailbox = _set(world, host="imap.x.test", username="in", password=password)
    stored = _stored(mailbox)
    assert password not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token
    assert encryption.decrypt(stored) == password
    assert not hasattr(mailbox, "password")


def test_the_fetch_logs_in_with_the_decrypted_password(world, imap):
    assert imap.password not in _stored(imap.mailbox)
    imap.append(_mail())
    report = mail_intake.mailbox_fetch(imap.mailbox)
    assert (report.fetched, report.created, report.errors) == (1, 1, [])


def test_after_rotating_secret_key_the_fallback_reads_it_and_a_save_reencrypts(world, imap):
    from django.conf import settings

    old_key = settings.SECRET_KEY
    old_token = _stored(imap.mailbox)
    imap.append(_mail())
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[old_key]):
        report = mail_intake.mailbox_fetch(Mailbox.objects.get(pk=imap.mailbox.pk))
        assert (report.created, report.errors) == (1, [])
        # Changing something else saves the password under the new key too.
        _set(world, folder="INBOX")
        new_token = _stored(imap.mailbox)
        assert new_token != old_token and encryption.is_current(new_token)
    imap.append(_mail(message_id="<2@bakery.test>"))
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        report = mail_intake.mailbox_fetch(Mailbox.objects.get(pk=imap.mailbox.pk))
        assert (report.created, report.errors) == (1, [])
    assert Enquiry.objects.filter(network=world.network).count() == 2


def test_a_password_no_key_decrypts_is_an_error_on_the_mailbox_not_a_crash(world, imap, caplog):
    imap.append(_mail())
    expected = (
        "The mailbox password cannot be decrypted (SECRET_KEY changed and the key it was "
        "encrypted with is not in SECRET_KEY_FALLBACKS): set it again with "
        "`salesline network mailbox cotech --password ...`."
    )
    with override_settings(SECRET_KEY=LOST_KEY, SECRET_KEY_FALLBACKS=[]):
        with caplog.at_level(logging.ERROR, logger="salesline.enquiries.mail_intake"):
            report = mail_intake.mailbox_fetch(Mailbox.objects.get(pk=imap.mailbox.pk))
        assert (report.fetched, report.created, report.errors) == (0, 0, [expected])
        assert expected in caplog.text
        mailbox = Mailbox.objects.get(pk=imap.mailbox.pk)
        assert mailbox.last_error == expected
        assert mailbox.last_fetched_at is not None
        # The worker's periodic fetch goes on (and claims it once a minute, not in a loop).
        Mailbox.objects.filter(pk=mailbox.pk).update(last_fetched_at=None)
        reports = mail_intake.fetch_due_mailboxes()
        assert reports["cotech"].errors == [expected]
        assert mail_intake.fetch_due_mailboxes() == {}
        # The CLI says the same, and exits 1.
        assert main(["network", "fetch-mail", "cotech"]) == 1
        assert Enquiry.objects.count() == 0
        assert ["\\Seen" in flags for flags in imap.flags()] == [False]

        # Set again, under the key in force: fetched.
        assert main(["network", "mailbox", "cotech", "--password", imap.password]) == 0
        report = mail_intake.mailbox_fetch(Mailbox.objects.get(pk=imap.mailbox.pk))
        assert (report.created, report.errors) == (1, [])
        assert Mailbox.objects.get(pk=imap.mailbox.pk).last_error == ""


def test_saving_other_settings_keeps_an_undecryptable_password_as_it_is(world):
    mailbox = _set(world, host="imap.x.test", username="in", password="pw")
    token = _stored(mailbox)
    with override_settings(SECRET_KEY=LOST_KEY, SECRET_KEY_FALLBACKS=[]):
        _set(world, folder="Enquiries")
    assert _stored(mailbox) == token
    assert Mailbox.objects.get(pk=mailbox.pk).folder == "Enquiries"


def test_the_password_is_never_in_the_audit_trail_or_the_cli_output(world, capsys):
    password = "Pa55-w0rd-for-the-audit-test"
    assert (
        main(
            [
                "network",
                "mailbox",
                "cotech",
                "--host",
                "imap.x.test",
                "--user",
                "in",
                "--password",
                password,
            ]
        )
        == 0
    )
    _set(world, password=password + "-changed")
    _set(world, password=password + "-changed")  # the same again: not a change
    _set(world, folder="Archive")
    out = capsys.readouterr()
    assert password not in out.out + out.err
    token = _stored(Mailbox.objects.get(network=world.network))
    events = list(AuditEvent.objects.filter(object_type="mailbox").order_by("pk"))
    assert [e.action for e in events] == ["create", "update", "update", "update"]
    assert [e.changes.get("password") for e in events] == [
        ["***", "***"],
        ["***", "***"],
        None,
        None,
    ]
    for event in events:
        text = json.dumps(event.changes) + event.object_repr
        assert password not in text
        assert token not in text and "gAAAAA" not in text
        assert "password_encrypted" not in text


def test_secrets_reencrypt_rewrites_what_a_fallback_key_made(world, capsys):
    from django.conf import settings

    old_key = settings.SECRET_KEY
    mailbox = _set(world, host="imap.x.test", username="in", password="pw")
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[old_key]):
        assert main(["secrets", "reencrypt"]) == 0
        assert capsys.readouterr().out == (
            "Re-encrypted 1 stored secrets under the current SECRET_KEY; 0 already were.\n"
        )
        assert encryption.is_current(_stored(mailbox))
        assert main(["secrets", "reencrypt"]) == 0
        assert "Re-encrypted 0 stored secrets under the current SECRET_KEY; 1 already were." in (
            capsys.readouterr().out
        )
    with override_settings(SECRET_KEY=NEW_KEY, SECRET_KEY_FALLBACKS=[]):
        assert encryption.decrypt(_stored(mailbox)) == "pw"
    with override_settings(SECRET_KEY=LOST_KEY, SECRET_KEY_FALLBACKS=[]):
        assert main(["secrets", "reencrypt"]) == 1
        assert capsys.readouterr().err == (
            "1 cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS (set them again): "
            f"enquiries.mailbox {mailbox.pk}\n"
        )


# ---------------------------------------------------------------- the migration

BEFORE = [("enquiries", "0005_bid_confirmation")]
AFTER = [("enquiries", "0006_mailbox_password_encrypted")]


def _migrate(targets):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_stored_passwords_and_back(world):
    try:
        old_apps = _migrate(BEFORE)
        OldMailbox = old_apps.get_model("enquiries", "Mailbox")
        OldMailbox.objects.create(
            network_id=world.network.pk, host="imap.x.test", username="in", password="plain pw"
        )
        second_network = world.network.__class__.objects.create(
            name="Second", slug="second", organisation=world.outsider.org
        )
        OldMailbox.objects.create(
            network_id=second_network.pk, host="imap.y.test", username="in", password=""
        )

        _migrate(AFTER)
        mailbox = Mailbox.objects.get(network=world.network)
        token = _stored(mailbox)
        assert "plain pw" not in token
        assert encryption.decrypt(token) == "plain pw"
        assert _stored(Mailbox.objects.get(network=second_network)) == ""

        old_apps = _migrate(BEFORE)
        OldMailbox = old_apps.get_model("enquiries", "Mailbox")
        passwords = dict(OldMailbox.objects.values_list("network_id", "password"))
        assert passwords == {world.network.pk: "plain pw", second_network.pk: ""}

        # Back again with a key that cannot decrypt: refused, named, nothing changed.
        _migrate(AFTER)
        lost = override_settings(SECRET_KEY=LOST_KEY, SECRET_KEY_FALLBACKS=[])
        with lost, pytest.raises(RuntimeError, match="cannot be decrypted with SECRET_KEY"):
            _migrate(BEFORE)
        assert encryption.decrypt(_stored(mailbox)) == "plain pw"
    finally:
        _migrate(AFTER)
