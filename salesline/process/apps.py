from django.apps import AppConfig


class ProcessConfig(AppConfig):
    name = "salesline.process"
    label = "process"
