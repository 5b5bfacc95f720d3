"""Settings → Jobs in a real browser: a failed job listed with its error and traceback, Retry
after a confirmation, accessibility (axe) on both pages."""

from playwright.sync_api import expect

from salesline.core.models import JobRetry
from salesline.core.tasks import enqueue_for, run_pending_tasks
from tests.core import job_tasks

from .conftest import PHONE, axe_violations


def test_a_failed_job_is_listed_with_its_error_and_retried_after_confirming(admin_signed_in, org):
    enqueue_for(org, job_tasks.send_report, "weekly", copies=2)
    run_pending_tasks()
    page = admin_signed_in

    page.goto("/settings/")
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Jobs").click()
    expect(page.get_by_role("heading", name="Jobs", level=1)).to_be_visible()
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show").click()
    jobs = page.get_by_role("region", name="Background jobs")
    row = jobs.get_by_role("row").filter(has_text="Send report")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("ConnectionRefusedError: 550 mailbox unavailable")
    expect(row).to_contain_text("2 of 2")
    traceback = row.locator("pre")
    expect(traceback).to_be_hidden()
    row.locator("summary").click()
    expect(traceback).to_be_visible()
    expect(traceback).to_contain_text("Traceback (most recent call last):")
    assert axe_violations(page) == []

    row.get_by_role("link", name="Retry").click()
    expect(page.get_by_role("heading", name="Retry “Send report”?")).to_be_visible()
    assert not JobRetry.objects.exists()  # only asked so far
    assert axe_violations(page) == []
    job_tasks.fix("weekly")
    page.get_by_role("button", name="Retry job").click()

    expect(page.get_by_role("status")).to_contain_text("Send report is queued again, as job")
    retried = JobRetry.objects.get()
    assert run_pending_tasks() == 1
    page.goto("/settings/jobs/?status=succeeded")
    expect(page.get_by_role("region", name="Background jobs")).to_contain_text("Succeeded")
    page.goto("/settings/jobs/?status=failed")
    expect(page.get_by_role("region", name="Background jobs")).to_contain_text(
        "Failed, retried by hand"
    )
    assert str(retried.retry_id)[:8] in page.content()


def test_the_jobs_page_on_a_phone_has_no_axe_violations(admin_signed_in, org):
    page = admin_signed_in
    page.set_viewport_size(PHONE)
    page.goto("/settings/jobs/")
    expect(page.get_by_text("No background jobs yet")).to_be_visible()
    assert axe_violations(page) == []
