from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "salesline.web"
    label = "web"
