from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
# Imports commit after every chunk in tests, so chunk boundaries are what tests see.
SALESLINE_IMPORT_COMMIT_SECONDS = 0.0

import tempfile  # noqa: E402

# Uploaded files of the tests never land in var/.
# A worker subprocess of a test is given the same folder through SALESLINE_MEDIA_ROOT.
MEDIA_ROOT = Path(  # noqa: F405
    os.environ.get("SALESLINE_MEDIA_ROOT") or tempfile.mkdtemp(prefix="salesline-test-media-")  # noqa: F405
)

# Each test process keeps its own cache, whatever CACHE_URL says: a shared or persistent one
# would carry rate-limit counts and cached reports from one test into the next.
CACHES = {"default": cache_from_url("locmem://")}  # noqa: F405

# The flow history is kept in memory only (tests that want the files set a folder).
ANALYTICS_CACHE_DIR = ""

# SQLite test databases live in files, not in memory, so a worker subprocess can open the same
# database as the test that started it; one per test process, so concurrent runs never share.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"salesline-test-{os.getpid()}.sqlite3")  # noqa: F405
    }

# A test-only app with an event handler, so worker subprocesses of the tests register it too.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.core.eventapp"]  # noqa: F405
