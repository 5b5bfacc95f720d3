from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "salesline.records"
    label = "records"

    def ready(self) -> None:
        from salesline.process.kinds import register_kind

        from .fields import COMPANY, LEAD, PERSON

        for kind in (COMPANY, PERSON, LEAD):
            register_kind(kind)
