from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "salesline.scheduling"
    label = "scheduling"
    verbose_name = "Scheduling"

    def ready(self) -> None:
        from . import wiring

        wiring.register()
