from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Flow metrics, forecasts, the quality rating, campaigns and reports. It reads the pipeline
    and never writes it; it learns what happened from events and from the flow history."""

    name = "salesline.analytics"
    label = "analytics"

    def ready(self) -> None:
        from . import wiring

        wiring.register()
