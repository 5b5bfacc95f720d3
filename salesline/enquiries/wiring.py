"""What this app hooks into at start-up: its process-definition section, its periodic work
(mail intake, overdue enquiries, hand-over reminders, votes whose deadline passed), jobs and
event handlers (referral outcomes from the pipeline's won and lost), and what it lets other
engine apps read (core.measures: "visible_enquiry")."""

from __future__ import annotations


def register() -> None:
    from salesline.core.tasks import register_periodic

    from . import deadlines, definition, mail_intake, membership

    definition.register()
    register_periodic("enquiries.mail_intake", mail_intake.fetch_due_mailboxes)
    register_periodic("enquiries.overdue", deadlines.flag_overdue_enquiries)
    register_periodic("enquiries.rota-reminders", rota_send_reminders)
    register_periodic("enquiries.applications_close_due", membership.applications_close_due)
    register_referral_outcomes()
    register_measures()


def register_measures() -> None:
    from salesline.core import measures

    from .selectors import visible_enquiry

    measures.provide("visible_enquiry", visible_enquiry)


def register_referral_outcomes() -> None:
    """A member's opportunity made from an accepted referral is won or lost: the referral's
    outcome (the pipeline's events, through the event seam)."""
    from salesline.core import events

    from .referrals import OUTCOME_EVENTS, outcome_wanted, referral_outcome_from_event

    for kind in OUTCOME_EVENTS:
        events.register(
            kind,
            referral_outcome_from_event,
            name=f"enquiries.referral_outcome.{kind}",
            wants=outcome_wanted,
        )


def rota_send_reminders() -> None:
    from .rota_services import rota_send_reminders as send

    send()
