"""Secrets Salesline must read back (a network's IMAP password), encrypted at rest.

A database dump alone does not give them away: each value is stored as a Fernet token
(AES-128-CBC with an HMAC-SHA256, from `cryptography`), under a key derived with HKDF from
Django's SECRET_KEY. Values are encrypted with the key of SECRET_KEY and decrypted with it or
with any of SECRET_KEY_FALLBACKS, so rotating SECRET_KEY the Django way (the old key moved to the
fallbacks) keeps them readable; `reencrypt` (on save, and `salesline secrets reencrypt` for every
column) rewrites them under the new key before the old one is dropped (docs/deployment.md).

Secrets that are only compared (API tokens, calendar feed tokens, login passwords) are hashed
instead and never need this module.

Columns that hold tokens are `EncryptedTextField`s: the field stores and returns the token as it
is (no decryption on load, so a row whose key was lost still loads); code that needs the plain
value calls `decrypt` where it uses it, and handles `Undecryptable` there."""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models
from django.utils.encoding import force_bytes

# HKDF's salt and info make the derived key independent of every other use of SECRET_KEY
# (Django's signing salts its HMACs differently); changing them would make every stored value
# unreadable.
_HKDF_SALT = b"salesline.core.encryption"
_HKDF_INFO = b"fernet key for secrets at rest, v1"


class Undecryptable(Exception):
    """A stored token that none of SECRET_KEY and SECRET_KEY_FALLBACKS opens (the key it was
    made with is gone, or the value was not written by `encrypt`)."""


class EncryptedTextField(models.TextField):
    """A column of Fernet tokens made by `encrypt` (see the module's docstring). The type marks
    the column, so `reencrypt_all` finds every one of them."""


def _fernet(secret_key: str | bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
        force_bytes(secret_key)
    )
    return Fernet(base64.urlsafe_b64encode(derived))


@functools.lru_cache(maxsize=8)
def _keys(secret_keys: tuple[str | bytes, ...]) -> tuple[Fernet, MultiFernet]:
    fernets = [_fernet(key) for key in secret_keys]
    return fernets[0], MultiFernet(fernets)


def _current() -> tuple[Fernet, MultiFernet]:
    # Read from settings on every call (cached per value): tests and a reloaded configuration
    # change SECRET_KEY without restarting the process.
    return _keys((settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS))


def encrypt(plain: str) -> str:
    """`plain` as a Fernet token under SECRET_KEY (a new random IV each time: the same value
    encrypted twice gives two different tokens)."""
    primary, _ = _current()
    return primary.encrypt(plain.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """The plain value of `token`, opened with SECRET_KEY or one of SECRET_KEY_FALLBACKS;
    `Undecryptable` when none opens it."""
    _, every = _current()
    try:
        return every.decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise Undecryptable(
            "The value cannot be decrypted with SECRET_KEY or its fallbacks."
        ) from exc


def is_current(token: str) -> bool:
    """Whether `token` was made with the current SECRET_KEY (not with a fallback)."""
    primary, _ = _current()
    try:
        primary.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def reencrypt(token: str) -> str:
    """`token` made again under the current SECRET_KEY (the same when it already is);
    `Undecryptable` when no key opens it."""
    if is_current(token):
        return token
    return encrypt(decrypt(token))


def encrypted_columns() -> list[tuple[type[models.Model], str]]:
    """Every (model, field name) of an `EncryptedTextField`, in every installed app."""
    from django.apps import apps

    return [
        (model, column.name)
        for model in apps.get_models()
        for column in model._meta.concrete_fields
        if isinstance(column, EncryptedTextField)
    ]


@dataclass
class ReencryptReport:
    rewritten: int = 0
    current: int = 0
    # "app_label.model pk" of every value no key opens (to be set again by hand).
    undecryptable: list[str] = field(default_factory=list)


def reencrypt_all() -> ReencryptReport:
    """Rewrite every stored token that a fallback key made under the current SECRET_KEY, so the
    fallback can be dropped. The plain values do not change (hence no audit event). A row
    changed meanwhile is left to its writer: the UPDATE applies only to the token it read."""
    report = ReencryptReport()
    for model, name in encrypted_columns():
        rows = model._default_manager.exclude(**{name: ""}).values_list("pk", name)
        for pk, token in rows.iterator():
            try:
                fresh = reencrypt(token)
            except Undecryptable:
                report.undecryptable.append(f"{model._meta.label_lower} {pk}")
                continue
            if fresh == token:
                report.current += 1
                continue
            model._default_manager.filter(pk=pk, **{name: token}).update(**{name: fresh})
            report.rewritten += 1
    return report
