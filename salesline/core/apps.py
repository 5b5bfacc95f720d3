from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "salesline.core"
    label = "core"

    def ready(self) -> None:
        from .events import events_dispatch
        from .jobs import register_job_kind

        register_job_kind(
            events_dispatch,
            "Event handlers",
            describe=lambda args, kwargs: f"event {args[0]}" if args else "",
        )
