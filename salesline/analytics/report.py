"""The weekly report: the dashboard of every pipeline as a PDF (charts as SVG by vl-convert,
laid out by WeasyPrint), mailed by the worker to each organisation's managers.

Sending (`send_weekly_reports`, a periodic callback of every worker): from Monday on, each
manager (a member with the admin or sales-support-manager role) of each organisation gets the
report of the week that ended, once. A delivery row, unique per organisation, week and address,
is created first; a worker then claims it with a conditional UPDATE, sends, and marks it sent
with an audit event. A worker that dies after claiming leaves the claim to go stale
(CLAIM_SECONDS): another takes it over and sends again — with the row's Message-ID, fixed when
the row was made, so a mail the server had already accepted arrives twice with one Message-ID
(what receivers dedupe on), the same guarantee as playbooks/delivery.py. A 5xx refusal fails
the delivery at once; other errors are retried after CLAIM_SECONDS, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import base64
import logging
import smtplib
from datetime import UTC, date, datetime, timedelta
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from salesline.accounts.models import Membership, Organisation, Role
from salesline.accounts.services import system_actor
from salesline.core import audit
from salesline.core.mail import (
    close_mail_connection,
    is_permanent,
    mail_connection,
    smtp_error_text,
)
from salesline.core.pdf import html_to_pdf
from salesline.pipeline.definition import pipelines_of
from salesline.pipeline.models import Opportunity
from salesline.process.selectors import definition_for

from . import dashboard_selectors
from .charts import figure_text
from .dashboard_selectors import Dashboard
from .filters import parse_metric_filters
from .report_models import WeeklyReportDelivery

logger = logging.getLogger(__name__)

MANAGER_ROLES = (Role.ADMIN, Role.SALES_SUPPORT_MANAGER)
REPORT_DAYS = 90
CLAIM_SECONDS = 15 * 60
MAX_ATTEMPTS = 5
WORKER_LABEL = "worker"
VEGA_LITE_VERSION = "6.4"  # the newest vl-convert knows; the page's vega-lite is 6.x too


# ---------------------------------------------------------------- the PDF


def chart_svg(spec: dict[str, Any]) -> str:
    import vl_convert  # loaded when first used: it brings a JavaScript engine

    return vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION)


def _data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def report_html(*, organisation: Organisation, dashboards: list[Dashboard], title: str) -> str:
    sections = []
    for dashboard in dashboards:
        charts = [
            {
                "chart": chart,
                "image": _data_url(chart_svg(chart.spec)) if chart.spec else None,
                # Long series (a day per row) are in the CSV; the PDF shows short tables only.
                "table": [[figure_text(cell) for cell in row] for row in chart.rows]
                if chart.spec is None or len(chart.rows) <= 12
                else None,
            }
            for chart in dashboard.charts
        ]
        numbers = [(name, figure_text(value)) for name, value in dashboard.key_numbers]
        sections.append({"dashboard": dashboard, "charts": charts, "numbers": numbers})
    return render_to_string(
        "analytics/weekly_report.html",
        {"organisation": organisation, "title": title, "sections": sections},
    )


def report_pdf(
    *, organisation: Organisation, dashboard: Dashboard | list[Dashboard], title: str = ""
) -> bytes:
    dashboards = dashboard if isinstance(dashboard, list) else [dashboard]
    title = title or f"{organisation.name}: dashboard"
    return html_to_pdf(report_html(organisation=organisation, dashboards=dashboards, title=title))


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_ending_before(moment: datetime) -> date:
    """The last day (a Sunday) of the ISO week before the one `moment` is in (UTC)."""
    today = moment.astimezone(UTC).date() if moment.tzinfo else moment.date()
    return today - timedelta(days=today.isoweekday())


def weekly_report_pdf(*, organisation: Organisation, week_end: date) -> bytes:
    """Every pipeline's dashboard for the REPORT_DAYS days up to `week_end`."""
    actor = system_actor(organisation, WORKER_LABEL)
    dashboards = []
    for pipeline in pipelines_of(definition_for(organisation)):
        params = {
            "pipeline": pipeline.key,
            "from": (week_end - timedelta(days=REPORT_DAYS - 1)).isoformat(),
            "to": week_end.isoformat(),
        }
        filters = parse_metric_filters(actor, params)
        dashboards.append(dashboard_selectors.dashboard_report(actor=actor, filters=filters))
    title = f"{organisation.name}: weekly report, week {iso_week(week_end)}"
    return report_pdf(organisation=organisation, dashboard=dashboards, title=title)


# ---------------------------------------------------------------- sending


def managers_of(organisation: Organisation) -> list[tuple[int, str]]:
    """(user id, address) of each active admin or sales-support manager, once each."""
    rows = (
        Membership.objects.filter(
            organisation=organisation, role__in=MANAGER_ROLES, user__is_active=True
        )
        .order_by("user__email")
        .values_list("user_id", "user__email")
        .distinct()
    )
    return list(dict.fromkeys(rows))


def _sender(organisation: Organisation) -> str:
    return organisation.from_email or settings.DEFAULT_FROM_EMAIL


def _ensure_rows(organisation: Organisation, week: str) -> None:
    domain = _sender(organisation).rpartition("@")[2] or "salesline.invalid"
    for user_id, email in managers_of(organisation):
        # The unique constraint decides between workers racing for the same row.
        with transaction.atomic():
            WeeklyReportDelivery.objects.get_or_create(
                organisation=organisation,
                week=week,
                email=email,
                defaults={"recipient_id": user_id, "message_id": make_msgid(domain=domain)},
            )


def _due(organisation: Organisation, week: str, now: datetime):
    stale = now - timedelta(seconds=CLAIM_SECONDS)
    return WeeklyReportDelivery.objects.filter(
        organisation=organisation,
        week=week,
        status=WeeklyReportDelivery.Status.PENDING,
    ).filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))


def _claim(delivery: WeeklyReportDelivery, now: datetime) -> bool:
    """Take the delivery for this worker: still pending and claimed as we read it."""
    claimed = (
        WeeklyReportDelivery.objects.filter(
            pk=delivery.pk,
            status=WeeklyReportDelivery.Status.PENDING,
            claimed_at=delivery.claimed_at,
        )
        if delivery.claimed_at is not None
        else WeeklyReportDelivery.objects.filter(
            pk=delivery.pk, status=WeeklyReportDelivery.Status.PENDING, claimed_at__isnull=True
        )
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    return claimed == 1


def _finish(delivery: WeeklyReportDelivery, *, status: str, error: str = "") -> None:
    with transaction.atomic():
        WeeklyReportDelivery.objects.filter(pk=delivery.pk).update(
            status=status,
            sent_at=timezone.now() if status == WeeklyReportDelivery.Status.SENT else None,
            error=error,
        )
        audit.record(
            actor=system_actor(delivery.organisation, WORKER_LABEL),
            action="weekly_report_sent"
            if status == WeeklyReportDelivery.Status.SENT
            else "weekly_report_failed",
            object_type="weekly_report_delivery",
            object_id=delivery.pk,
            object_repr=f"Weekly report {delivery.week} to {delivery.email}",
            changes={"status": [WeeklyReportDelivery.Status.PENDING, status]}
            | ({"error": ["", error]} if error else {}),
        )


def _mail(delivery: WeeklyReportDelivery, pdf: bytes) -> EmailMessage:
    organisation = delivery.organisation
    mail = EmailMessage(
        subject=f"{organisation.name}: weekly report, week {delivery.week}",
        body=(
            f"The dashboard of {organisation.name} for the {REPORT_DAYS} days up to the end of "
            f"week {delivery.week} is attached as a PDF.\n\nYou receive it as a manager in "
            "Salesline; the live dashboard is under Reports.\n"
        ),
        from_email=_sender(organisation),
        to=[delivery.email],
        headers={"Message-ID": delivery.message_id},
    )
    mail.attach(f"salesline-report-{delivery.week}.pdf", pdf, "application/pdf")
    return mail


def send_weekly_report(organisation: Organisation, *, now: datetime) -> dict[str, int]:
    """Mail this organisation's managers last week's report, each once."""
    outcome = {"sent": 0, "failed": 0, "retry": 0}
    if not Opportunity.objects.filter(organisation=organisation).exists():
        return outcome  # nothing to report on yet
    week_end = week_ending_before(now)
    week = iso_week(week_end)
    _ensure_rows(organisation, week)
    due = list(_due(organisation, week, now).select_related("organisation"))
    if not due:
        return outcome
    pdf: bytes | None = None
    for delivery in due:
        if not _claim(delivery, now):
            continue  # another worker has it
        if delivery.claimed_at is not None:
            logger.warning(
                "Weekly report %s: sending again after an interrupted attempt (Message-ID %s)",
                delivery.pk,
                delivery.message_id,
            )
        if pdf is None:
            pdf = weekly_report_pdf(organisation=organisation, week_end=week_end)
        try:
            mail_connection().send_messages([_mail(delivery, pdf)])
        except (OSError, smtplib.SMTPException) as error:
            close_mail_connection()
            text = smtp_error_text(error)
            if is_permanent(error) or delivery.attempts + 1 >= MAX_ATTEMPTS:
                _finish(delivery, status=WeeklyReportDelivery.Status.FAILED, error=text)
                outcome["failed"] += 1
            else:
                # The claim stays: the next try comes once it is stale (CLAIM_SECONDS).
                WeeklyReportDelivery.objects.filter(pk=delivery.pk).update(error=text)
                outcome["retry"] += 1
            continue
        _finish(delivery, status=WeeklyReportDelivery.Status.SENT)
        outcome["sent"] += 1
    return outcome


def send_weekly_reports(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic callback: every organisation's weekly report; one organisation's failure
    never stops the others (the log says why)."""
    now = now or timezone.now()
    total = {"sent": 0, "failed": 0, "retry": 0}
    for organisation in Organisation.objects.order_by("pk"):
        try:
            for name, count in send_weekly_report(organisation, now=now).items():
                total[name] += count
        except Exception:
            logger.exception("Weekly report of organisation %s failed", organisation.pk)
    return total
