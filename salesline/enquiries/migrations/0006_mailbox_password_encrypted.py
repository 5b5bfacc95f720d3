"""The mailbox password encrypted at rest (salesline.core.encryption): the column is renamed to
`password_encrypted` and every plain-text value becomes a Fernet token under SECRET_KEY. Back
again, every token is decrypted (with SECRET_KEY or a fallback)."""

from django.db import migrations

import salesline.core.encryption
from salesline.core.encryption import Undecryptable, decrypt, encrypt


def encrypt_passwords(apps, schema_editor):
    Mailbox = apps.get_model("enquiries", "Mailbox")
    for mailbox in Mailbox.objects.exclude(password_encrypted="").only("pk", "password_encrypted"):
        mailbox.password_encrypted = encrypt(mailbox.password_encrypted)
        mailbox.save(update_fields=["password_encrypted"])


def decrypt_passwords(apps, schema_editor):
    Mailbox = apps.get_model("enquiries", "Mailbox")
    for mailbox in Mailbox.objects.exclude(password_encrypted="").only("pk", "password_encrypted"):
        try:
            plain = decrypt(mailbox.password_encrypted)
        except Undecryptable:
            # Going back must not write a token where a password is expected (it would be sent
            # to the IMAP server as the password).
            raise RuntimeError(
                f"The password of mailbox {mailbox.pk} cannot be decrypted with SECRET_KEY or "
                "SECRET_KEY_FALLBACKS: restore the key it was encrypted with, or set the "
                "password again, before migrating back."
            ) from None
        mailbox.password_encrypted = plain
        mailbox.save(update_fields=["password_encrypted"])


class Migration(migrations.Migration):
    dependencies = [
        ("enquiries", "0005_bid_confirmation"),
    ]

    operations = [
        migrations.RenameField(
            model_name="mailbox", old_name="password", new_name="password_encrypted"
        ),
        migrations.AlterField(
            model_name="mailbox",
            name="password_encrypted",
            field=salesline.core.encryption.EncryptedTextField(blank=True),
        ),
        migrations.RunPython(encrypt_passwords, decrypt_passwords, elidable=False),
    ]
