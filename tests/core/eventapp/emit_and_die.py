"""`python -m tests.core.eventapp.emit_and_die ORG_ID`: emit one event, commit, die at once
(SIGKILL: no on-commit hook, no clean-up), as a web process killed after its commit would."""

import os
import signal
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from django.db import transaction  # noqa: E402

from salesline.accounts.models import Organisation  # noqa: E402
from salesline.core import events  # noqa: E402
from salesline.core.actors import Actor  # noqa: E402
from tests.core.eventapp.apps import PING  # noqa: E402

with transaction.atomic():
    organisation = Organisation.objects.get(pk=int(sys.argv[1]))
    events.emit(actor=Actor(organisation=organisation, system_label="emitter"), kind=PING)
os.kill(os.getpid(), signal.SIGKILL)
