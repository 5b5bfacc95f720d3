from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "salesline.records"
    label = "records"
