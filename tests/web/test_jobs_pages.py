"""Settings → Jobs: an admin sees the organisation's jobs with their errors and retries one that
gave up after a confirmation; a salesperson gets the 403 page; another organisation's job is 404."""

import os
import socket

import pytest
from django.test import Client
from django_tasks_db.models import DBTaskResult

from salesline.accounts.models import User
from salesline.core import events
from salesline.core.models import AuditEvent, JobRetry
from salesline.core.tasks import enqueue_for, heartbeat_beat, run_pending_tasks
from tests.core import job_tasks


def signed_in(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def admin(admin_user):
    return signed_in(admin_user)


@pytest.fixture
def sales(user):
    return signed_in(user)


def gave_up(org, label: str = "weekly") -> DBTaskResult:
    enqueue_for(org, job_tasks.send_report, label, copies=2)
    run_pending_tasks()
    return DBTaskResult.objects.filter(
        task_path="tests.core.job_tasks.send_report", exception_class_path__contains="Refused"
    ).get(args_kwargs__args=[label])


def test_an_admin_sees_a_failed_job_with_its_error(admin, org):
    job = gave_up(org)
    heartbeat_beat("worker-host-1")

    page = admin.get("/settings/jobs/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'aria-current="page">Jobs</a>' in html
    row = html[html.index(f'id="job-{job.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Send report" in row and "&#x27;weekly&#x27;, copies=2" in row
    assert ">Failed<" in row and "2 of 2" in row
    assert "ConnectionRefusedError: 550 mailbox unavailable" in row
    assert '<details class="job-traceback"><summary>Traceback' in row
    assert f'href="/settings/jobs/{job.pk}/retry/"' in row
    assert "Attempt failed, retried" in html  # the first attempt
    workers = html[html.index("<h2>Workers</h2>") :]
    assert f'<td>{socket.gethostname()}</td><td class="num">{os.getpid()}</td>' in workers
    assert "<td>Running</td>" in workers


def test_the_empty_state_and_filters(admin, org):
    page = admin.get("/settings/jobs/").content.decode()
    assert "No background jobs yet" in page and "No failed event handlers." in page
    assert "No worker is running" in page

    gave_up(org)
    job_tasks.fix("ok")
    enqueue_for(org, job_tasks.send_report, "ok")
    run_pending_tasks()
    failed = admin.get("/settings/jobs/?status=failed")
    assert [job.status for job in failed.context["jobs"]] == ["failed"]
    assert admin.get("/settings/jobs/?status=succeeded").context["jobs"][0].arguments == "'ok'"
    kind = "tests.core.job_tasks.slow_to_retry"
    response = admin.get(f"/settings/jobs/?kind={kind}")
    assert response.status_code == 400  # not a registered kind: said beside the filter
    assert response.context["form"].errors["kind"]
    assert (
        "No job matches these filters."
        in admin.get("/settings/jobs/?kind=salesline.records.tasks.import_run").content.decode()
    )
    response = admin.get("/settings/jobs/?status=nonsense&page=0")
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"status", "page"}


def test_pages_of_jobs(admin, org):
    job_tasks.fix("many")
    for _ in range(27):
        enqueue_for(org, job_tasks.send_report, "many")
    first = admin.get("/settings/jobs/")
    assert len(first.context["jobs"]) == 25
    assert 'href="?page=2" rel="next">Older jobs' in first.content.decode()
    second = admin.get("/settings/jobs/?page=2")
    assert len(second.context["jobs"]) == 2
    assert 'href="?" rel="prev">Newer jobs' in second.content.decode()


def test_retry_asks_first_then_queues_the_job_again_audited(admin, org):
    job = gave_up(org)
    url = f"/settings/jobs/{job.pk}/retry/"

    confirm = admin.get(url)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Retry “Send report”?" in html and '<button type="submit">Retry job</button>' in html
    assert not JobRetry.objects.exists()  # asking changes nothing

    job_tasks.fix("weekly")
    response = admin.post(url)
    assert response.status_code == 302 and response["Location"] == "/settings/jobs/"
    retry = JobRetry.objects.get(job_id=job.pk)
    assert AuditEvent.objects.filter(action="retry", object_id=str(job.pk)).count() == 1
    page = admin.get("/settings/jobs/").content.decode()
    assert f"Send report is queued again, as job {retry.retry_id}." in page
    assert run_pending_tasks() == 1
    assert DBTaskResult.objects.get(pk=retry.retry_id).status == "SUCCESSFUL"

    again = admin.post(url)
    assert again.status_code == 409
    assert "was retried already, by boss@piql.test" in again.content.decode()
    assert JobRetry.objects.count() == 1


def test_a_job_that_did_not_fail_cannot_be_retried(admin, org):
    job_tasks.fix("fine")
    result = enqueue_for(org, job_tasks.send_report, "fine")
    run_pending_tasks()
    url = f"/settings/jobs/{result.id}/retry/"
    page = admin.get(url).content.decode()
    assert "Only a job that failed (gave up) can be retried: this one is succeeded." in page
    assert "Retry job</button>" not in page
    response = admin.post(url)
    assert response.status_code == 409
    assert "Only a job that failed can be retried" in response.content.decode()
    assert not JobRetry.objects.exists()


def test_another_organisations_job_is_404(admin, other_org):
    theirs = gave_up(other_org, "theirs")
    assert admin.get(f"/settings/jobs/{theirs.pk}/retry/").status_code == 404
    assert admin.post(f"/settings/jobs/{theirs.pk}/retry/").status_code == 404
    assert admin.get("/settings/jobs/nonsense/retry/").status_code == 404
    assert admin.get("/settings/jobs/").context["jobs"] == []
    assert admin.get("/settings/jobs/?all=1").context["everything"] is False  # not staff
    assert not JobRetry.objects.exists()


def test_staff_see_every_organisations_jobs(admin_user, org, other_org):
    gave_up(other_org, "theirs")
    User.objects.filter(pk=admin_user.pk).update(is_staff=True)
    staff = signed_in(User.objects.get(pk=admin_user.pk))
    page = staff.get("/settings/jobs/?all=1")
    assert page.context["everything"] is True
    assert {job.organisation_id for job in page.context["jobs"]} == {other_org.pk}
    assert f"organisation {other_org.pk}" in page.content.decode()


def test_a_salesperson_gets_the_403_page_and_no_link(sales, org):
    job = gave_up(org)
    for url in ("/settings/jobs/", f"/settings/jobs/{job.pk}/retry/"):
        response = sales.get(url)
        assert response.status_code == 403
        assert "Only an admin of Piql Archive" in response.content.decode()
    assert sales.post(f"/settings/jobs/{job.pk}/retry/").status_code == 403
    assert not JobRetry.objects.exists()
    assert "/settings/jobs/" not in sales.get("/settings/").content.decode()


def test_retry_needs_the_csrf_token(admin_user, org):
    job = gave_up(org)
    client = signed_in(admin_user, csrf=True)
    assert client.get(f"/settings/jobs/{job.pk}/retry/").status_code == 200
    assert client.post(f"/settings/jobs/{job.pk}/retry/").status_code == 403
    assert not JobRetry.objects.exists()


def failing(event):
    raise RuntimeError("the handler <b>broke</b>")


def test_a_failed_event_handler_is_listed_and_retried(admin, admin_actor, org):
    with events.registered("test.jobs.ping", failing, name="tests.failing"):
        event = events.emit(actor=admin_actor, kind="test.jobs.ping")
        run_pending_tasks(max_tasks=1)
        page = admin.get("/settings/jobs/").content.decode()
        assert "test.jobs.ping" in page and "tests.failing" in page
        assert "RuntimeError: the handler &lt;b&gt;broke&lt;/b&gt;" in page
        [delivery] = admin.get("/settings/jobs/").context["deliveries"]

        url = f"/settings/jobs/deliveries/{delivery.id}/retry/"
        assert "Retry handler</button>" in admin.get(url).content.decode()
        response = admin.post(url)
        assert response.status_code == 302
        assert AuditEvent.objects.filter(action="retry", object_type="event_delivery").exists()
        follow = admin.get("/settings/jobs/").content.decode()
        assert f"The test.jobs.ping event {event.pk} is dispatched again" in follow


def test_another_organisations_delivery_is_404(admin, other_actor):
    with events.registered("test.jobs.ping", failing, name="tests.failing"):
        events.emit(actor=other_actor, kind="test.jobs.ping")
        run_pending_tasks(max_tasks=1)
    from salesline.core.models import EventDelivery

    delivery = EventDelivery.objects.get()
    assert admin.get(f"/settings/jobs/deliveries/{delivery.pk}/retry/").status_code == 404
    assert admin.post(f"/settings/jobs/deliveries/{delivery.pk}/retry/").status_code == 404
