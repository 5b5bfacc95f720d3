"""The worker's jobs: background jobs and failed event handlers that concern the token's
organisation, and Retry. Admins only (staff may ask for every organisation's with `all=true`).
Not part of issue 11's contract; documented in docs/worker.md and docs/api.md."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import BaseModel

from salesline.core import jobs
from salesline.core.errors import Problem, ValidationFailed

from .common import actor_of

router = Router(tags=["jobs"])


class JobErrorOut(BaseModel):
    exception: str
    last_line: str
    traceback: str


class JobOut(BaseModel):
    id: str
    kind: str
    label: str
    status: str
    status_label: str
    attempt: int
    max_attempts: int | None
    arguments: str
    organisation_id: int | None
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    error: JobErrorOut | None
    retry_id: str | None
    retried_by: str
    retried_at: datetime | None
    worker: str
    can_retry: bool


class JobList(BaseModel):
    items: list[JobOut]
    limit: int
    offset: int
    has_more: bool


class DeliveryOut(BaseModel):
    id: int
    status: str
    event_id: int
    event_kind: str
    event_at: datetime
    object_type: str
    object_id: str
    handler: str
    attempts: int
    error: str
    will_retry: bool
    updated_at: datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    limit: int
    offset: int
    has_more: bool


class WorkerOut(BaseModel):
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen: datetime
    alive: bool


class JobQuery(Schema):
    status: str = Field("", description="failed, retried, scheduled, ready, running, succeeded")
    failed: bool = Field(False, description="Only the jobs that gave up (status=failed).")
    kind: str = Field(
        "", description="A task's dotted path, e.g. salesline.records.tasks.import_run"
    )
    limit: int = 50
    offset: int = 0
    all: bool = Field(False, description="Every organisation's jobs (staff only).")


class PageQuery(Schema):
    limit: int = 50
    offset: int = 0
    all: bool = False


def _job(job: jobs.Job) -> dict:
    return {
        **{name: getattr(job, name) for name in JobOut.model_fields if name != "error"},
        "status": job.status.value,
        "error": None if job.error is None else vars(job.error),
    }


def _delivery(delivery: jobs.Delivery) -> dict:
    return vars(delivery)


@router.get(
    "",
    response=JobList,
    operation_id="list_jobs",
    summary="The organisation's background jobs, newest first (admin)",
    description="One item per attempt. `status=failed` (or `failed=true`) lists the jobs that "
    "gave up: those `POST /jobs/{id}/retry` can queue again.",
)
def list_jobs(request: HttpRequest, query: Query[JobQuery]):
    status = query.status
    if query.failed:
        if status not in ("", jobs.JobStatus.FAILED):
            raise ValidationFailed(
                "The list query is not valid.",
                [Problem(loc=("query", "failed"), msg="'failed' asks for status=failed only.")],
            )
        status = jobs.JobStatus.FAILED.value
    items, more = jobs.job_list(
        actor=actor_of(request),
        filters=jobs.JobFilters(status=status, kind=query.kind),
        limit=query.limit,
        offset=query.offset,
        everything=query.all,
    )
    return {
        "items": [_job(job) for job in items],
        "limit": query.limit,
        "offset": query.offset,
        "has_more": more,
    }


@router.get(
    "/deliveries",
    response=DeliveryList,
    operation_id="list_failed_deliveries",
    summary="Event handlers that failed on the organisation's events (admin)",
)
def list_deliveries(request: HttpRequest, query: Query[PageQuery]):
    items, more = jobs.delivery_list(
        actor=actor_of(request), limit=query.limit, offset=query.offset, everything=query.all
    )
    return {
        "items": [_delivery(d) for d in items],
        "limit": query.limit,
        "offset": query.offset,
        "has_more": more,
    }


DeliveryId = Annotated[int, Field(ge=1, le=2**63 - 1)]


@router.post(
    "/deliveries/{delivery_id}/retry",
    response={202: DeliveryOut},
    operation_id="retry_delivery",
    summary="Dispatch a failed delivery's event again (admin)",
)
def retry_delivery(request: HttpRequest, delivery_id: DeliveryId, all: bool = False):
    delivery = jobs.delivery_retry(actor=actor_of(request), delivery_id=delivery_id, everything=all)
    return Status(202, _delivery(delivery))


@router.get(
    "/workers",
    response=list[WorkerOut],
    operation_id="list_workers",
    summary="The workers and when they were last seen (admin)",
)
def list_workers(request: HttpRequest):
    return [vars(worker) for worker in jobs.worker_list(actor=actor_of(request))]


@router.get("/{job_id}", response=JobOut, operation_id="get_job", summary="One job (admin)")
def get_job(request: HttpRequest, job_id: str, all: bool = False):
    return _job(jobs.job_get_for(actor=actor_of(request), job_id=job_id, everything=all))


@router.post(
    "/{job_id}/retry",
    response={202: JobOut},
    operation_id="retry_job",
    summary="Queue a job that gave up again, with its arguments (admin)",
    description="Answers the new job (202). 409 for a job that did not give up (waiting, "
    "running, succeeded, an attempt already retried automatically) or was retried before; "
    "404 for another organisation's job. Audited.",
)
def retry_job(request: HttpRequest, job_id: str, all: bool = False):
    job = jobs.job_retry(actor=actor_of(request), job_id=job_id, everything=all)
    return Status(202, _job(job))
