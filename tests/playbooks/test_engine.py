"""The process engine: playbooks started by events and dates, run by the worker, once per
occurrence, with idempotent steps and every outcome on the record's timeline."""

import threading
from datetime import date

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core import events
from salesline.core.models import DomainEvent
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_services, engine
from salesline.playbooks.definition import playbooks_of
from salesline.playbooks.message_services import message_draft
from salesline.playbooks.models import (
    Agreement,
    Document,
    Message,
    MessageTemplate,
    PlaybookRun,
    StepRun,
    Task,
)
from salesline.playbooks.task_services import task_create, task_update
from salesline.process import services as process_services
from salesline.process.definition import template_text
from salesline.process.selectors import definition_for
from salesline.records.services import record_create
from salesline.web.selectors import record_timeline


def dispatch_tasks() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path__endswith="events_dispatch").count()


@pytest.fixture
def contact(partners_actor):
    return record_create(
        actor=partners_actor,
        kind="person",
        data={"name": "Ola Nordmann", "email": "ola@library.example"},
    )


@pytest.fixture
def lead_deal(partners_actor, contact):
    """An opportunity created in Lead (creating in a stage counts as entering it)."""
    return opportunity_create(
        actor=partners_actor,
        data={"name": "City library hub", "primary_contact_id": contact.pk, "value": "12000"},
    )


def runs_of(opportunity):
    return list(PlaybookRun.objects.filter(opportunity=opportunity).order_by("id"))


def test_creating_an_opportunity_in_lead_runs_the_lead_playbooks(partners_actor, lead_deal):
    assert runs_of(lead_deal) == []  # nothing happens until the worker runs
    run_pending_tasks()

    runs = runs_of(lead_deal)
    assert [r.playbook for r in runs] == ["hail-the-lead", "prep-first-meeting"]
    assert all(r.status == PlaybookRun.Status.DONE for r in runs)
    hail = Message.objects.get(opportunity=lead_deal, template="hail-the-lead")
    assert hail.status == Message.Status.DRAFT
    assert hail.to == ["ola@library.example"]
    assert hail.from_email == "partnerships@example.org"
    assert [d.template for d in hail.attachments.all()] == ["service-description"]
    notes = Document.objects.get(opportunity=lead_deal, template="running-notes")
    assert notes.format == "docx" and notes.version == 1
    tasks = Task.objects.filter(opportunity=lead_deal).order_by("id")
    assert [t.step for t in tasks] == ["send-hail", "prep", "meet"]
    assert tasks[0].title == "Review and send “Hail the lead” to Ola Nordmann"
    assert all(t.assignee_id == lead_deal.owner_id and t.due_date for t in tasks)
    steps = StepRun.objects.filter(run=runs[1]).order_by("id")
    assert [(s.step, s.outcome) for s in steps] == [
        ("running-notes", "done"),
        ("invite-to-notes", "done"),
        ("prep", "done"),
        ("meet", "done"),
    ]


def test_every_run_and_step_shows_on_the_timeline(partners_actor, lead_deal):
    run_pending_tasks()

    entries = [e for e in record_timeline(actor=partners_actor, kind="opportunity", obj=lead_deal)]
    runs = [e for e in entries if e.kind == "playbook"]
    assert {e.text for e in runs} == {
        "Ran “SOP: Hail the lead” (entering partnerships/lead)",
        "Ran “SOP: Prep for first meeting with lead” (entering partnerships/lead)",
    }
    hail = next(e for e in runs if "Hail" in e.text)
    assert hail.details[0].startswith('Canned message "Hail the lead": done — “')
    assert "drafted for review" in hail.details[0]


def test_re_entering_a_stage_duplicates_nothing_still_pending(partners_actor, lead_deal):
    run_pending_tasks()
    opportunity_move(
        actor=partners_actor,
        opportunity_id=lead_deal.pk,
        stage="prospect",
        checks=["verbal_close_yes"],
    )
    opportunity_move(actor=partners_actor, opportunity_id=lead_deal.pk, stage="lead")
    run_pending_tasks()

    again = [r for r in runs_of(lead_deal) if r.playbook == "hail-the-lead"]
    assert len(again) == 2  # a new occurrence runs ...
    outcomes = {s.step: (s.outcome, s.detail) for s in again[1].steps.all()}
    # ... but what is still pending is not made twice.
    assert outcomes["hail"][0] == "skipped" and "still unsent" in outcomes["hail"][1]
    assert outcomes["send-hail"][0] == "skipped" and "still open" in outcomes["send-hail"][1]
    assert Message.objects.filter(opportunity=lead_deal, template="hail-the-lead").count() == 1
    assert Task.objects.filter(opportunity=lead_deal, step="send-hail").count() == 1
    assert Document.objects.filter(opportunity=lead_deal, template="running-notes").count() == 1


def test_a_finished_task_is_made_again_on_re_entry(partners_actor, lead_deal):
    run_pending_tasks()
    Task.objects.filter(opportunity=lead_deal, step="send-hail").update(status="done")
    opportunity_move(
        actor=partners_actor,
        opportunity_id=lead_deal.pk,
        stage="prospect",
        checks=["verbal_close_yes"],
    )
    opportunity_move(actor=partners_actor, opportunity_id=lead_deal.pk, stage="lead")
    run_pending_tasks()

    assert Task.objects.filter(opportunity=lead_deal, step="send-hail").count() == 2


def test_the_same_occurrence_never_runs_twice(partners_actor, lead_deal):
    playbook = playbooks_of(definition_for(partners_actor.organisation))[0]
    first = engine.run_playbook(
        organisation=partners_actor.organisation,
        playbook=playbook,
        occurrence="event:test",
        record=lead_deal,
    )
    second = engine.run_playbook(
        organisation=partners_actor.organisation,
        playbook=playbook,
        occurrence="event:test",
        record=lead_deal,
    )
    assert first is not None and second is None
    assert PlaybookRun.objects.filter(opportunity=lead_deal, occurrence="event:test").count() == 1


def test_a_step_that_cannot_be_done_is_recorded_and_the_others_run(partners_actor, lead_deal):
    MessageTemplate.objects.filter(
        organisation=partners_actor.organisation, key="hail-the-lead"
    ).delete()
    run_pending_tasks()

    run = PlaybookRun.objects.get(opportunity=lead_deal, playbook="hail-the-lead")
    assert run.status == PlaybookRun.Status.FAILED
    hail, send = run.steps.order_by("id")
    assert hail.outcome == "failed" and "hail-the-lead" in hail.detail
    assert send.outcome == "done"


def test_signing_the_agreement_starts_the_launch_playbook(partners_actor, lead_deal):
    opportunity_move(
        actor=partners_actor,
        opportunity_id=lead_deal.pk,
        stage="prospect",
        checks=["verbal_close_yes"],
    )
    run_pending_tasks()
    agreement = Agreement.objects.get(opportunity=lead_deal)  # drafted by "send draft contract"
    assert agreement.status == Agreement.Status.DRAFT
    assert agreement.value == 12000 and agreement.billing_frequency == "monthly"
    assert Document.objects.filter(opportunity=lead_deal, template="service-agreement").exists()
    assert Document.objects.filter(opportunity=lead_deal, template="statement-of-work").exists()

    agreement_services.agreement_sign(
        actor=partners_actor, agreement_id=agreement.pk, signed_on=timezone.localdate()
    )
    run_pending_tasks()

    lead_deal.refresh_from_db()
    assert lead_deal.stage.key == "partner"
    launch = PlaybookRun.objects.get(opportunity=lead_deal, playbook="launch")
    assert launch.trigger == "agreement_signed"
    task = Task.objects.get(opportunity=lead_deal, step="launch-meeting")
    assert task.queue == "project_leader" and task.assignee_id is None
    # The first check-in waits for the launch meeting to be held.
    assert not Task.objects.filter(opportunity=lead_deal, step="first-check-in").exists()


def signed_partner(actor, opportunity):
    opportunity_move(
        actor=actor, opportunity_id=opportunity.pk, stage="prospect", checks=["verbal_close_yes"]
    )
    run_pending_tasks()
    agreement = Agreement.objects.get(opportunity=opportunity)
    agreement_services.agreement_sign(
        actor=actor, agreement_id=agreement.pk, signed_on=timezone.localdate()
    )
    run_pending_tasks()
    return Task.objects.get(opportunity=opportunity, step="launch-meeting")


def test_holding_the_launch_meeting_starts_the_first_check_in_once(partners_actor, lead_deal):
    organisation = partners_actor.organisation
    organisation.country = "US"
    organisation.save(update_fields=["country"])
    launch_meeting = signed_partner(partners_actor, lead_deal)

    with time_machine.travel("2026-12-14 15:00Z", tick=False):  # a Monday
        task_update(actor=partners_actor, task_id=launch_meeting.pk, data={"status": "done"})
        run_pending_tasks()
    event = DomainEvent.objects.get(kind="task_done", object_id=str(launch_meeting.pk))
    assert event.payload == {
        "task_id": launch_meeting.pk,
        "playbook": "launch",
        "step": "launch-meeting",
        "opportunity_id": lead_deal.pk,
        "lead_id": None,
    }

    run = PlaybookRun.objects.get(opportunity=lead_deal, playbook="after-launch")
    assert (run.trigger, run.occurrence, run.status) == ("task_done", f"event:{event.pk}", "done")
    check_in = Task.objects.get(opportunity=lead_deal, step="first-check-in")
    assert check_in.playbook == "after-launch" and check_in.status == "open"
    assert check_in.assignee_id == lead_deal.owner_id == partners_actor.user.pk
    # 20 working days, Christmas and New Year's Day (both Fridays) not counted.
    assert check_in.due_date == date(2027, 1, 13)

    # Completing it again (a second tab) changes nothing: no event, no run.
    task_update(actor=partners_actor, task_id=launch_meeting.pk, data={"status": "done"})
    run_pending_tasks()
    assert DomainEvent.objects.filter(kind="task_done").count() == 1
    assert PlaybookRun.objects.filter(playbook="after-launch").count() == 1

    # Reopened and done again: a new completion, a new occurrence; the check-in still open is
    # not made twice.
    task_update(actor=partners_actor, task_id=launch_meeting.pk, data={"status": "open"})
    task_update(actor=partners_actor, task_id=launch_meeting.pk, data={"status": "done"})
    run_pending_tasks()
    runs = PlaybookRun.objects.filter(playbook="after-launch").order_by("id")
    assert runs.count() == 2
    (step,) = runs.last().steps.all()
    assert (step.outcome, step.detail) == ("skipped", f"task #{check_in.pk} is still open")
    assert Task.objects.filter(step="first-check-in").count() == 1


def test_completing_another_task_starts_nothing_and_queues_no_job(partners_actor, lead_deal):
    run_pending_tasks()
    manual = task_create(actor=partners_actor, title="Call back", opportunity_id=lead_deal.pk)
    prep = Task.objects.get(opportunity=lead_deal, step="prep")
    before = dispatch_tasks()
    for task in (manual, prep):
        task_update(actor=partners_actor, task_id=task.pk, data={"status": "done"})
    assert DomainEvent.objects.filter(kind="task_done").count() == 2
    assert dispatch_tasks() == before  # no playbook waits for these tasks
    run_pending_tasks()
    assert not PlaybookRun.objects.filter(trigger="task_done").exists()


def test_events_no_playbook_wants_queue_no_job(org, actor, monkeypatch):
    # The business-development template has no playbook for entering Identify. (The quality
    # rating wants every opportunity's events: it is kept out of this question.)
    for kind in ("record_changed", "stage_entered"):
        monkeypatch.setitem(events._WANTS[kind], "analytics.quality.rate", lambda event: False)
    before = dispatch_tasks()
    opportunity_create(actor=actor, data={"name": "1 TB - Records - Preservation"})
    assert dispatch_tasks() == before


def test_entering_qualify_makes_the_gate_work_due_in_working_days(org, actor):
    company = record_create(
        actor=actor,
        kind="company",
        data={
            "name": "Acme",
            "contact_type": "Customer",
            "business_unit": "Nordics",
            "market": "Norway",
            "life_cycle": "Prospect",
            "sector": "Government",
            "segment": "National",
        },
    )
    person = record_create(
        actor=actor,
        kind="person",
        data={
            "name": "Kari Nordmann",
            "email": "k@acme.example",
            "phone": "+47 22 00 00 00",
            "business_unit": "Nordics",
            "company_id": company.pk,
            "title": "Archivist",
        },
    )
    accounts_org = org
    accounts_org.country = "GB"
    accounts_org.save(update_fields=["country"])
    with time_machine.travel("2026-12-23T10:00:00+00:00", tick=False):
        deal = opportunity_create(actor=actor, data={"name": "3 TB - Personnel - Preservation"})
        opportunity_move(
            actor=actor,
            opportunity_id=deal.pk,
            stage="qualify",
            fields={
                "company_id": company.pk,
                "primary_contact_id": person.pk,
                "expected_close_date": "2027-03-01",
                "value": "5000",
                "data_volume": "3 TB",
                "sector": "public",
            },
        )
        run_pending_tasks()

    tasks = {t.step: t for t in Task.objects.filter(opportunity=deal)}
    verify = tasks["verify-use-case"]
    assert verify.title == "Verify the use-case with Kari Nordmann"
    # Five working days from Wednesday 23 December in England: 24th, 29th, 30th, 31st and
    # 4 January — Christmas, Boxing Day (observed on Monday 28th), New Year's Day and the
    # weekends do not count.
    assert verify.due_date == date(2027, 1, 4)
    assert tasks["business-case"].due_date == date(2027, 1, 11)


def test_a_recurring_check_in_runs_once_per_occurrence(partners_actor, lead_deal):
    agreement = agreement_services.agreement_create(
        actor=partners_actor,
        opportunity_id=lead_deal.pk,
        data={"start_date": "2026-01-15", "end_date": "2027-01-14", "value": "1200"},
    )
    opportunity_move(
        actor=partners_actor,
        opportunity_id=lead_deal.pk,
        stage="prospect",
        checks=["verbal_close_yes"],
    )
    agreement_services.agreement_sign(
        actor=partners_actor, agreement_id=agreement.pk, signed_on=date(2026, 1, 10)
    )
    with time_machine.travel("2026-04-14T12:00:00+00:00", tick=False):
        assert engine.run_scheduled_playbooks() == 0  # three months are not up
    with time_machine.travel("2026-04-15T12:00:00+00:00", tick=False):
        assert engine.run_scheduled_playbooks() == 1
        assert engine.run_scheduled_playbooks() == 0  # the same occurrence: once
    with time_machine.travel("2026-05-20T12:00:00+00:00", tick=False):
        assert engine.run_scheduled_playbooks() == 0
    with time_machine.travel("2026-07-16T12:00:00+00:00", tick=False):
        assert engine.run_scheduled_playbooks() == 1

    runs = PlaybookRun.objects.filter(opportunity=lead_deal, playbook="satisfaction-check-in")
    assert sorted(r.occurrence for r in runs) == [
        f"every:{lead_deal.pk}:2026-04-15",
        f"every:{lead_deal.pk}:2026-07-15",
    ]
    # The first check-in task was still open: the second occurrence did not add another.
    assert Task.objects.filter(opportunity=lead_deal, step="check-in").count() == 1


def test_a_date_trigger_runs_when_the_date_is_reached(org, actor):
    deal = opportunity_create(
        actor=actor,
        data={"name": "1 TB - Records - Preservation", "expected_close_date": "2026-03-02"},
    )
    with time_machine.travel("2026-03-01T12:00:00+00:00", tick=False):
        assert engine.run_scheduled_playbooks() == 0
    with time_machine.travel("2026-03-02T12:00:00+00:00", tick=False):
        assert engine.run_scheduled_playbooks() == 1
    task = Task.objects.get(opportunity=deal, step="review-close-date")
    assert task.title == "1 TB - Records - Preservation: expected to close on 2 Mar 2026"


# Appended to the business-development template, whose last section is its playbooks.
LEAD_PLAYBOOK = """
  - key: call-new-leads
    name: Call new leads
    trigger: lead_created
    steps:
      - key: call
        task: {title: "Call {{ lead.name }}", queue: inside_sales, due_in_working_days: 1}
"""


def test_a_lead_created_trigger_puts_a_task_in_a_queue(org, admin_actor, actor):
    text = template_text("business-development") + LEAD_PLAYBOOK
    process_services.process_load(actor=admin_actor, text=text)
    lead = record_create(
        actor=actor,
        kind="lead",
        data={
            "name": "Nina Berg",
            "company_name": "Berg AS",
            "email": "nina@berg.example",
            "business_unit": "Nordics",
            "source": "Web",
            "details": "Asked about digitisation",
        },
    )
    run_pending_tasks()

    task = Task.objects.get(lead=lead)
    assert (task.title, task.queue, task.assignee_id) == ("Call Nina Berg", "inside_sales", None)
    event = DomainEvent.objects.get(kind="lead_created", object_id=str(lead.pk))
    assert PlaybookRun.objects.get(lead=lead).occurrence == f"event:{event.pk}"


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_occurrence_run_it_once(partners_org):
    actor = accounts.system_actor(partners_org)
    person = record_create(
        actor=actor, kind="person", data={"name": "Rita Race", "email": "rita@race.example"}
    )
    deal = opportunity_create(actor=actor, data={"name": "Race", "primary_contact_id": person.pk})
    playbook = playbooks_of(definition_for(partners_org))[0]
    barrier = threading.Barrier(2)
    results = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(
                engine.run_playbook(
                    organisation=partners_org,
                    playbook=playbook,
                    occurrence="event:race",
                    record=engine.opportunity_for(partners_org, deal.pk),
                )
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r is None for r in results) == [False, True]
    assert PlaybookRun.objects.filter(occurrence="event:race").count() == 1
    assert Message.objects.filter(opportunity=deal, template="hail-the-lead").count() == 1
    assert Task.objects.filter(opportunity=deal, step="send-hail").count() == 1
    if connection.vendor == "sqlite":
        connection.close()


def test_a_message_about_an_opportunity_speaks_of_its_agreement(partners_actor, lead_deal):
    agreement_services.agreement_create(
        actor=partners_actor,
        opportunity_id=lead_deal.pk,
        data={"start_date": "2026-01-15", "end_date": "2027-01-14", "value": "1200"},
    )
    message = message_draft(
        actor=partners_actor, template_key="renewal-notice", opportunity_id=lead_deal.pk
    )
    assert message.subject.endswith("ends on 14 Jan 2027")
    assert "ends on 14 Jan 2027. The" in " ".join(message.body.split())
