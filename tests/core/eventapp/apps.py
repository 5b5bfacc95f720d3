"""A test-only app (config.settings.test installs it) whose handler a worker subprocess has too."""

from django.apps import AppConfig


class EventTestConfig(AppConfig):
    name = "tests.core.eventapp"
    label = "eventtest"

    def ready(self) -> None:
        from salesline.core import events

        from .handlers import record_handled

        events.register(PING, record_handled, name="tests.record_handled")


PING = "test.ping"
