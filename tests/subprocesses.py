"""What a subprocess of a test (a real `salesline worker`) needs to work on the test's database."""

import os
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """DATABASE_URL of the database this test uses."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = quote(db["USER"] or "")
    if db["PASSWORD"]:
        user += ":" + quote(db["PASSWORD"])
    return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a worker subprocess: the test database, settings and files."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SALESLINE_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # Test task functions (tests.core.jobs) are imported from the repository.
        "PYTHONPATH": str(ROOT),
        **extra,
    }
