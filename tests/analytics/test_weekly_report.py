"""The weekly PDF report mailed by the worker's periodic callback to each manager once per week,
through a real SMTP server on loopback (aiosmtpd). Runs on SQLite and PostgreSQL."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from pypdf import PdfReader

from salesline.accounts import services as accounts
from salesline.analytics import report
from salesline.analytics.models import WeeklyReportDelivery
from salesline.core import mail
from salesline.core.models import AuditEvent
from salesline.core.tasks import _PERIODIC
from tests.analytics.dashboard_history import make_history
from tests.playbooks.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

# Wednesday of ISO week 2 of 2026: the report is that of week 1 (29 Dec 2025 – 4 Jan 2026).
WEDNESDAY = datetime(2026, 1, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    mail.close_mail_connection()
    sink.stop()


@pytest.fixture
def managers(org, admin_user):
    """The admin (boss@) and a sales-support manager; a salesperson (ann@) gets nothing."""
    manager = accounts.user_create(
        email="mia@piql.test", actor=accounts.system_actor(org), role="sales_support_manager"
    )
    return [admin_user, manager]


def pdf_text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_periodic_callback_is_registered():
    assert _PERIODIC["analytics.weekly_report"] is report.send_weekly_reports


def test_each_manager_gets_last_weeks_report_once(actor, managers, smtp, org):
    org.from_email = "reports@piql.test"
    org.save()
    make_history(actor)

    assert report.send_weekly_reports(now=WEDNESDAY) == {"sent": 2, "failed": 0, "retry": 0}
    # Again the same week (another worker, the next minute): nothing more.
    assert report.send_weekly_reports(now=WEDNESDAY + timedelta(hours=1)) == {
        "sent": 0,
        "failed": 0,
        "retry": 0,
    }

    assert sorted(received.rcpt_tos[0] for received in smtp.accepted) == [
        "boss@piql.test",
        "mia@piql.test",
    ]
    message = smtp.accepted[0].message
    assert message["Subject"] == "Piql Archive: weekly report, week 2026-W01"
    assert message["From"] == "reports@piql.test"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "salesline-report-2026-W01.pdf"
    text = pdf_text(attachment.get_content())
    assert "Piql Archive: weekly report, week 2026-W01" in text
    # The report's period is the 90 days up to Sunday 4 Jan: Alpha (d0), Beta (d1), Gamma (d3)
    # arrived in identify by then; Delta (d6) not yet.
    assert "Identify 3" in text
    rows = WeeklyReportDelivery.objects.filter(organisation=org)
    assert {(row.week, row.email, row.status) for row in rows} == {
        ("2026-W01", "boss@piql.test", "sent"),
        ("2026-W01", "mia@piql.test", "sent"),
    }
    assert AuditEvent.objects.filter(organisation=org, action="weekly_report_sent").count() == 2

    # The next week brings the next report.
    assert report.send_weekly_reports(now=WEDNESDAY + timedelta(days=7))["sent"] == 2
    assert len(smtp.accepted) == 4


def test_an_interrupted_send_is_sent_again_with_the_same_message_id(actor, managers, smtp, org):
    make_history(actor)
    report._ensure_rows(org, "2026-W01")
    # A worker claimed boss@'s delivery and died before marking it sent.
    delivery = WeeklyReportDelivery.objects.get(organisation=org, email="boss@piql.test")
    WeeklyReportDelivery.objects.filter(pk=delivery.pk).update(claimed_at=WEDNESDAY, attempts=1)

    # While the claim is fresh, only mia@ is sent.
    report.send_weekly_reports(now=WEDNESDAY + timedelta(minutes=1))
    assert [received.rcpt_tos for received in smtp.accepted] == [["mia@piql.test"]]
    # Once it is stale, another worker takes it over with the row's Message-ID.
    stale = WEDNESDAY + timedelta(seconds=report.CLAIM_SECONDS + 1)
    assert report.send_weekly_reports(now=stale)["sent"] == 1
    assert smtp.accepted[-1].message_id == delivery.message_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)


def test_a_permanent_refusal_fails_the_delivery_and_a_temporary_one_retries(
    actor, managers, smtp, org
):
    make_history(actor)
    smtp.handler.refuse = "451 4.3.0 try again later"
    assert report.send_weekly_reports(now=WEDNESDAY) == {"sent": 0, "failed": 0, "retry": 2}
    assert set(WeeklyReportDelivery.objects.values_list("status", flat=True)) == {"pending"}

    smtp.handler.refuse = "550 5.1.1 no such user"
    later = WEDNESDAY + timedelta(seconds=report.CLAIM_SECONDS + 1)
    assert report.send_weekly_reports(now=later) == {"sent": 0, "failed": 2, "retry": 0}
    failed = WeeklyReportDelivery.objects.get(email="boss@piql.test")
    assert failed.status == "failed"
    assert failed.error == "550 5.1.1 no such user"
    assert AuditEvent.objects.filter(action="weekly_report_failed").count() == 2


def test_an_organisation_without_opportunities_gets_no_report(managers, smtp, org):
    assert report.send_weekly_reports(now=WEDNESDAY)["sent"] == 0
    assert not WeeklyReportDelivery.objects.exists()


def test_the_week_is_the_iso_week_that_ended():
    assert report.week_ending_before(WEDNESDAY).isoformat() == "2026-01-04"
    assert report.iso_week(report.week_ending_before(WEDNESDAY)) == "2026-W01"
    monday = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    assert report.week_ending_before(monday).isoformat() == "2026-01-04"
