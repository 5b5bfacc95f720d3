"""GET /api/v1/jobs and POST /api/v1/jobs/{id}/retry (admin only), failed deliveries, workers."""

from django_tasks_db.models import DBTaskResult

from salesline.core import events
from salesline.core.models import AuditEvent, JobRetry
from salesline.core.tasks import enqueue_for, heartbeat_beat, run_pending_tasks
from tests.core import job_tasks


def gave_up(org, label: str = "weekly") -> str:
    enqueue_for(org, job_tasks.send_report, label, copies=2)
    run_pending_tasks()
    return str(
        DBTaskResult.objects.get(
            args_kwargs__args=[label], exception_class_path="builtins.ConnectionRefusedError"
        ).pk
    )


def test_an_admin_lists_the_jobs_that_gave_up_and_retries_one(admin_api, org):
    job_id = gave_up(org)
    job_tasks.fix("ok")
    enqueue_for(org, job_tasks.send_report, "ok")
    run_pending_tasks()

    everything = admin_api.get("/jobs").json()
    assert len(everything["items"]) == 3 and everything["has_more"] is False
    for query in ("?failed=true", "?status=failed"):
        response = admin_api.get(f"/jobs{query}")
        assert response.status_code == 200
        [item] = response.json()["items"]
        assert item["id"] == job_id
    assert item["kind"] == "tests.core.job_tasks.send_report"
    assert (item["status"], item["attempt"], item["max_attempts"]) == ("failed", 2, 2)
    assert item["error"]["exception"] == "ConnectionRefusedError"
    assert item["error"]["last_line"] == "ConnectionRefusedError: 550 mailbox unavailable"
    assert item["arguments"] == "'weekly', copies=2" and item["can_retry"] is True

    job_tasks.fix("weekly")
    response = admin_api.post(f"/jobs/{job_id}/retry")
    assert response.status_code == 202
    retry = response.json()
    assert (retry["status"], retry["attempt"], retry["arguments"]) == (
        "ready",
        1,
        "'weekly', copies=2",
    )
    assert run_pending_tasks() == 1
    assert admin_api.get(f"/jobs/{retry['id']}").json()["status"] == "succeeded"
    original = admin_api.get(f"/jobs/{job_id}").json()
    assert (original["retry_id"], original["retried_by"]) == (retry["id"], "boss@piql.test")
    assert AuditEvent.objects.filter(action="retry", object_type="job").count() == 1

    again = admin_api.post(f"/jobs/{job_id}/retry")
    assert again.status_code == 409
    assert "retried already" in again.json()["detail"]


def test_a_job_that_did_not_give_up_is_409(admin_api, org):
    job_tasks.fix("fine")
    result = enqueue_for(org, job_tasks.send_report, "fine")
    run_pending_tasks()
    response = admin_api.post(f"/jobs/{result.id}/retry")
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "Only a job that failed can be retried: this one is succeeded."
    )
    assert not JobRetry.objects.exists()


def test_another_organisations_job_is_404(admin_api, other_org):
    theirs = gave_up(other_org, "theirs")
    assert admin_api.get("/jobs").json()["items"] == []
    assert admin_api.get(f"/jobs/{theirs}").status_code == 404
    assert admin_api.post(f"/jobs/{theirs}/retry").status_code == 404
    assert admin_api.post("/jobs/not-a-uuid/retry").status_code == 404
    assert admin_api.get("/jobs?all=true").status_code == 403  # not staff
    assert not JobRetry.objects.exists()


def test_a_salesperson_is_refused(api, org):
    job_id = gave_up(org)
    assert api.get("/jobs").status_code == 403
    assert api.post(f"/jobs/{job_id}/retry").status_code == 403
    assert api.get("/jobs/deliveries").status_code == 403
    assert api.get("/jobs/workers").status_code == 403


def test_bad_filters_are_422_naming_them(admin_api):
    response = admin_api.get("/jobs?status=broken&limit=0")
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [
        ["query", "status"],
        ["query", "limit"],
    ]
    response = admin_api.get("/jobs?failed=true&status=running")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "failed"]
    assert admin_api.get("/jobs?limit=x").status_code == 422


def failing(event):
    raise RuntimeError("the handler broke")


def test_failed_deliveries_and_their_retry(admin_api, admin_actor, other_actor):
    with events.registered("test.jobs.ping", failing, name="tests.failing"):
        event = events.emit(actor=admin_actor, kind="test.jobs.ping")
        events.emit(actor=other_actor, kind="test.jobs.ping")
        run_pending_tasks(max_tasks=2)

        [delivery] = admin_api.get("/jobs/deliveries").json()["items"]
        assert (delivery["event_id"], delivery["handler"], delivery["status"]) == (
            event.pk,
            "tests.failing",
            "failed",
        )
        assert delivery["error"] == "RuntimeError: the handler broke"
        response = admin_api.post(f"/jobs/deliveries/{delivery['id']}/retry")
        assert response.status_code == 202
        assert admin_api.post(f"/jobs/deliveries/{delivery['id'] + 1}/retry").status_code == 404
        assert admin_api.post("/jobs/deliveries/0/retry").status_code == 422


def test_workers(admin_api):
    heartbeat_beat("w-1")
    [worker] = admin_api.get("/jobs/workers").json()
    assert worker["worker_id"] == "w-1" and worker["alive"] is True
