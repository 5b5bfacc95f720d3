from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "salesline.playbooks"
    label = "playbooks"

    def ready(self) -> None:
        from . import wiring

        wiring.register()
