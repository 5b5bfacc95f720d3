from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "salesline.core"
    label = "core"
