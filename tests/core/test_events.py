"""The event seam: events written with their change, handlers run once each, failures retried
and shown."""

import pytest
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.core import events
from salesline.core.actors import Actor
from salesline.core.models import DomainEvent, EventDelivery
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline import conversion
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.records import services as records
from tests.conftest import CONVERT_COMPANY, CONVERT_PERSON, LEAD
from tests.core.eventapp.apps import PING
from tests.core.eventapp.handlers import handled


def run_now() -> int:
    """Run what is queued, retries included (their back-off is not waited for)."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    return run_pending_tasks()


def kinds_of(obj) -> list[str]:
    return list(
        DomainEvent.objects.filter(object_type=obj._meta.model_name, object_id=str(obj.pk))
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def test_an_event_commits_with_its_change_and_a_rollback_leaves_neither_event_nor_task(org):
    actor = Actor(organisation=org, system_label="test")
    with pytest.raises(RuntimeError), transaction.atomic():
        events.emit(actor=actor, kind=PING)
        raise RuntimeError("the change failed")
    assert not DomainEvent.objects.filter(kind=PING).exists()
    assert not DBTaskResult.objects.exists()

    event = events.emit(actor=actor, kind=PING, object_type="thing", object_id=7)
    assert (event.organisation, event.object_id, event.actor_label) == (org, "7", "test")
    assert DBTaskResult.objects.count() == 1


def test_an_event_without_handlers_enqueues_nothing(actor):
    events.emit(actor=actor, kind="nobody.listens")
    assert DomainEvent.objects.filter(kind="nobody.listens").count() == 1
    assert not DBTaskResult.objects.exists()


def test_each_kind_of_change_records_its_events(actor):
    lead = records.record_create(actor=actor, kind="lead", data=LEAD)
    assert kinds_of(lead) == ["record_changed", "lead_created"]
    records.record_update(actor=actor, kind="lead", record_id=lead.pk, data={"source": "Web"})
    assert kinds_of(lead)[-1] == "record_changed"
    assert DomainEvent.objects.filter(kind="record_changed").last().payload == {
        "change": "updated",
        "fields": ["source"],
    }
    conversion.lead_convert(
        actor=actor, lead_id=lead.pk, person=CONVERT_PERSON, company=CONVERT_COMPANY
    )
    assert kinds_of(lead)[-1] == "lead_converted"

    opportunity = opportunity_create(actor=actor, data={"name": "Archive 1"})
    assert kinds_of(opportunity) == ["opportunity_created", "stage_entered"]
    entered = DomainEvent.objects.filter(object_id=str(opportunity.pk), kind="stage_entered").get()
    assert entered.payload["stage"] == "identify" and entered.payload["from_stage"] is None

    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="No budget")
    assert kinds_of(opportunity)[-3:] == ["stage_left", "stage_entered", "opportunity_lost"]
    left = DomainEvent.objects.filter(object_id=str(opportunity.pk), kind="stage_left").get()
    assert (left.payload["from_stage"], left.payload["stage"]) == ("identify", "lost")
    assert left.payload["from_stage_kind"] == "open" and left.payload["stage_kind"] == "lost"

    records.record_delete(actor=actor, kind="lead", record_id=lead.pk)
    assert DomainEvent.objects.filter(kind="record_changed").last().payload["change"] == "deleted"


def test_a_refused_move_records_no_event(actor):
    opportunity = opportunity_create(actor=actor, data={"name": "Archive 2"})
    before = DomainEvent.objects.count()
    with pytest.raises(Exception, match="not changed"):
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="develop")
    assert DomainEvent.objects.count() == before


def test_a_handler_runs_once_per_event_however_often_the_event_is_dispatched(org):
    actor = Actor(organisation=org)
    event = events.emit(actor=actor, kind=PING)
    assert run_pending_tasks() == 1
    assert handled([event.pk]) == [str(event.pk)]
    events.dispatch(event.pk)  # a duplicate dispatch (a retry, a second worker)
    assert handled([event.pk]) == [str(event.pk)]
    delivery = EventDelivery.objects.get(event=event)
    assert (delivery.handler, delivery.status, delivery.attempts) == (
        "tests.record_handled",
        "done",
        1,
    )


def test_a_failing_handler_is_retried_with_back_off_shown_and_the_others_not_run_again(org):
    actor = Actor(organisation=org)
    calls = []

    def flaky(event):
        calls.append(event.pk)
        if len(calls) == 1:
            raise RuntimeError("the mail server is down")

    with events.registered(PING, flaky, name="tests.flaky"):
        event = events.emit(actor=actor, kind=PING)
        run_pending_tasks(max_tasks=1)
        failed = events.failed_deliveries().get()
        assert (failed.event, failed.handler, failed.attempts) == (event, "tests.flaky", 1)
        assert "RuntimeError: the mail server is down (will be retried)" in failed.last_error
        first = DBTaskResult.objects.order_by("enqueued_at").first()
        assert first.status == "FAILED"
        retry = DBTaskResult.objects.exclude(pk=first.pk).get()
        assert retry.status == "READY" and retry.run_after > first.finished_at  # backs off
        run_now()
    assert calls == [event.pk, event.pk]
    assert handled([event.pk]) == [str(event.pk)]  # the other handler ran once, not twice
    assert not events.failed_deliveries().exists()
    assert EventDelivery.objects.get(event=event, handler="tests.flaky").attempts == 2


def test_a_handler_that_keeps_failing_stays_visible_and_can_be_retried(org):
    actor = Actor(organisation=org)

    def broken(event):
        raise ValueError("bad template")

    with events.registered(PING, broken, name="tests.broken"):
        event = events.emit(actor=actor, kind=PING)
        for _ in range(events.DISPATCH_ATTEMPTS):
            run_now()
        failed = events.failed_deliveries().get()
        assert failed.attempts == events.DISPATCH_ATTEMPTS
        assert failed.last_error == "ValueError: bad template"
    fixed = []
    with events.registered(PING, fixed.append, name="tests.broken"):  # the fix is deployed
        assert events.deliveries_retry(event_ids=[event.pk]) == 1
        run_pending_tasks()
    assert fixed == [event] and not events.failed_deliveries().exists()
