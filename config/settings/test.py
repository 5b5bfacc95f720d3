from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

import tempfile  # noqa: E402

# Uploaded files of the tests never land in var/.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="salesline-test-media-"))  # noqa: F405
