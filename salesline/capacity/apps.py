from django.apps import AppConfig


class CapacityConfig(AppConfig):
    name = "salesline.capacity"
    label = "capacity"
    verbose_name = "Capacity planning"
