from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "salesline.api"
    label = "api"
