from django.apps import AppConfig


class EnquiriesConfig(AppConfig):
    name = "salesline.enquiries"
    label = "enquiries"
    verbose_name = "Networks and enquiries"

    def ready(self) -> None:
        from . import wiring

        wiring.register()
