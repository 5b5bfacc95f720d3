"""What this app hooks into at start-up: its process-definition section, its periodic work
(mail intake, overdue enquiries, hand-over reminders, votes whose deadline passed) and jobs."""

from __future__ import annotations


def register() -> None:
    from salesline.core.tasks import register_periodic

    from . import deadlines, definition, mail_intake, membership

    definition.register()
    register_periodic("enquiries.mail_intake", mail_intake.fetch_due_mailboxes)
    register_periodic("enquiries.overdue", deadlines.flag_overdue_enquiries)
    register_periodic("enquiries.rota-reminders", rota_send_reminders)
    register_periodic("enquiries.applications_close_due", membership.applications_close_due)


def rota_send_reminders() -> None:
    from .rota_services import rota_send_reminders as send

    send()
