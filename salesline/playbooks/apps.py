from django.apps import AppConfig


class PlaybooksConfig(AppConfig):
    name = "salesline.playbooks"
    label = "playbooks"

    def ready(self) -> None:
        from salesline.core.jobs import register_job_kind

        from . import wiring

        wiring.register()
        # What the jobs page (Settings → Jobs) calls this app's background jobs.
        # Its arguments are the message id and the send's delivery token: show only the id.
        register_job_kind(
            "salesline.playbooks.delivery.message_deliver",
            "Message delivery",
            describe=lambda args, kwargs: f"message {args[0]}" if args else "",
        )
