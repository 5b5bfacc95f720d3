"""salesline.core.encryption: Fernet under keys derived from SECRET_KEY and its fallbacks."""

import base64

import pytest
from cryptography.fernet import Fernet, InvalidToken

from salesline.core import encryption

OLD_KEY = "old-secret-key-" + "o" * 40
NEW_KEY = "new-secret-key-" + "n" * 40


@pytest.fixture
def old_key(settings):
    settings.SECRET_KEY = OLD_KEY
    settings.SECRET_KEY_FALLBACKS = []
    return settings


def test_a_value_comes_back_as_it_went_in(old_key):
    for plain in ["pw", "", "Grüße, 密码 🗝", "x" * 255, "  spaces and\nnewline "]:
        token = encryption.encrypt(plain)
        assert plain not in token or plain == ""
        assert encryption.decrypt(token) == plain


def test_the_same_value_encrypted_twice_gives_two_tokens(old_key):
    first, second = encryption.encrypt("hunter2"), encryption.encrypt("hunter2")
    assert first != second
    assert encryption.decrypt(first) == encryption.decrypt(second) == "hunter2"


def test_a_255_character_password_fits_the_column_types_we_use(old_key):
    # Longer than the CharField(255) the plain value was kept in: hence a TextField.
    token = encryption.encrypt("é" * 255)
    assert 255 < len(token) < 1000
    assert encryption.decrypt(token) == "é" * 255


def test_the_key_is_derived_not_the_secret_key_itself(old_key):
    token = encryption.encrypt("pw")
    # A Fernet key made naively from SECRET_KEY's bytes does not open it.
    naive = Fernet(base64.urlsafe_b64encode(OLD_KEY.encode()[:32]))
    with pytest.raises(InvalidToken):
        naive.decrypt(token.encode())


def test_another_secret_key_cannot_decrypt(old_key, settings):
    token = encryption.encrypt("pw")
    settings.SECRET_KEY = NEW_KEY
    with pytest.raises(encryption.Undecryptable):
        encryption.decrypt(token)
    assert not encryption.is_current(token)
    with pytest.raises(encryption.Undecryptable):
        encryption.reencrypt(token)


@pytest.mark.parametrize("garbage", ["", "not a token", "gAAAAA" + "A" * 80, "ünïcode"])
def test_what_encrypt_did_not_write_is_undecryptable(old_key, garbage):
    with pytest.raises(encryption.Undecryptable):
        encryption.decrypt(garbage)
    assert not encryption.is_current(garbage)


def test_rotation_the_django_way_keeps_old_values_readable_and_reencrypts_them(old_key, settings):
    token = encryption.encrypt("pw")
    assert encryption.is_current(token)
    assert encryption.reencrypt(token) == token  # already under the current key

    settings.SECRET_KEY = NEW_KEY
    settings.SECRET_KEY_FALLBACKS = [OLD_KEY]
    assert encryption.decrypt(token) == "pw"
    assert not encryption.is_current(token)
    fresh = encryption.reencrypt(token)
    assert fresh != token and encryption.is_current(fresh)
    # New values are made with the new key.
    assert encryption.is_current(encryption.encrypt("other"))

    # Once the old key is dropped, only re-encrypted values are readable.
    settings.SECRET_KEY_FALLBACKS = []
    assert encryption.decrypt(fresh) == "pw"
    with pytest.raises(encryption.Undecryptable):
        encryption.decrypt(token)


def test_bytes_secret_keys_work_like_strings(settings):
    settings.SECRET_KEY = OLD_KEY.encode()
    settings.SECRET_KEY_FALLBACKS = []
    token = encryption.encrypt("pw")
    settings.SECRET_KEY = OLD_KEY
    assert encryption.decrypt(token) == "pw"


def test_encrypted_columns_are_found_by_their_field_type():
    from salesline.enquiries.models import Mailbox

    assert (Mailbox, "password_encrypted") in encryption.encrypted_columns()
