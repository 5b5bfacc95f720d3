"""The triggers the partnerships template does not exercise, each run for real through the
worker (events) or the schedule (dates): leaving a stage, won and lost with their pipeline
filter, an agreement ending, a date reached before, after and on a custom field, a recurring
schedule counted from a custom date, a message step that sends without review; and a scheduled
playbook that fails stopping nothing else."""

from datetime import date

import pytest
import time_machine

from salesline.accounts import services as accounts
from salesline.core.models import AuditEvent
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_services, delivery, engine, schedules, task_services
from salesline.playbooks.models import Message, PlaybookRun, Task
from salesline.playbooks.selectors import playbook_overview
from salesline.process import services as process_services
from salesline.records.services import record_create
from salesline.web.selectors import record_timeline
from tests.playbooks.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

DEFINITION = """\
name: Engine test
custom_fields:
  - {record: opportunity, key: go_live, label: Go-live, type: date}
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: new, name: New, probability: 10}
      - {key: talk, name: Talk, probability: 40}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: lost, name: Lost, kind: lost, probability: 0}
  - key: renewals
    name: Renewals
    stages:
      - {key: due, name: Due, probability: 50}
      - {key: won, name: Renewed, kind: won, probability: 100}
      - {key: lost, name: Not renewed, kind: lost, probability: 0}
message_templates:
  - key: welcome
    name: Welcome
    subject: "Welcome aboard, {{ contact.name }}"
    body: "Dear {{ contact.name }},\\n\\nthank you for choosing {{ organisation.name }}."
playbooks:
"""


def task_playbook(key: str, trigger: str) -> str:
    return f"""\
  - key: {key}
    name: {key}
    trigger: {trigger}
    steps:
      - key: do
        task: {{title: "{key}: {{{{ opportunity.name }}}}"}}
"""


def load(actor, *playbooks: str) -> None:
    process_services.process_load(actor=actor, text=DEFINITION + "".join(playbooks))


@pytest.fixture
def organisation(db):
    return process_services.organisation_create(name="Engine Co", template="business-development")


@pytest.fixture
def admin(organisation):
    return accounts.system_actor(organisation)


@pytest.fixture
def seller(organisation):
    user = accounts.user_create(
        email="sam@engine.test", actor=accounts.system_actor(organisation), role="salesperson"
    )
    return accounts.actor_for(user, organisation)


def make_contact(seller):
    return record_create(
        actor=seller, kind="person", data={"name": "Kim Client", "email": "kim@client.example"}
    )


def deal(actor, name="Deal", **data):
    return opportunity_create(actor=actor, data={"name": name, **data})


def ran(opportunity) -> list[str]:
    """The playbooks that ran on the opportunity, in order."""
    return list(
        PlaybookRun.objects.filter(opportunity=opportunity)
        .order_by("id")
        .values_list("playbook", flat=True)
    )


# --- events ---------------------------------------------------------------------------------


def test_leaving_a_stage_runs_its_playbook_and_entering_it_does_not(admin, seller):
    load(admin, task_playbook("left-talk", "{stage_left: {pipeline: sales, stage: talk}}"))
    opportunity = deal(seller)
    opportunity_move(actor=seller, opportunity_id=opportunity.pk, stage="talk")
    run_pending_tasks()
    assert ran(opportunity) == []  # entering Talk, and leaving New, are not leaving Talk

    opportunity_move(actor=seller, opportunity_id=opportunity.pk, stage="new")
    run_pending_tasks()

    run = PlaybookRun.objects.get(opportunity=opportunity)
    assert (run.playbook, run.trigger, run.status) == ("left-talk", "stage_left", "done")
    task = Task.objects.get(opportunity=opportunity, playbook="left-talk")
    assert task.title == "left-talk: Deal" and task.assignee_id == seller.user.pk


def test_won_and_lost_run_their_playbooks_only_in_their_pipeline(admin, seller):
    load(
        admin,
        task_playbook("won-sales", "{opportunity_won: {pipeline: sales}}"),
        task_playbook("won-any", "opportunity_won"),
        task_playbook("lost-renewals", "{opportunity_lost: {pipeline: renewals}}"),
        task_playbook("lost-any", "opportunity_lost"),
    )
    won_sale = deal(seller, "Won sale")
    won_renewal = deal(seller, "Won renewal", pipeline="renewals")
    lost_sale = deal(seller, "Lost sale")
    lost_renewal = deal(seller, "Lost renewal", pipeline="renewals")
    for opportunity, stage in [
        (won_sale, "won"),
        (won_renewal, "won"),
        (lost_sale, "lost"),
        (lost_renewal, "lost"),
    ]:
        opportunity_move(actor=seller, opportunity_id=opportunity.pk, stage=stage)
    run_pending_tasks()

    assert ran(won_sale) == ["won-sales", "won-any"]
    assert ran(won_renewal) == ["won-any"]
    assert ran(lost_sale) == ["lost-any"]
    assert ran(lost_renewal) == ["lost-renewals", "lost-any"]
    run = PlaybookRun.objects.get(opportunity=won_sale, playbook="won-sales")
    assert run.trigger == "opportunity_won"
    assert Task.objects.get(opportunity=won_sale, playbook="won-sales").title == (
        "won-sales: Won sale"
    )


@pytest.fixture
def smtp(settings):
    sink = SmtpSink().start()
    settings.MAILERS = sink.mailer()
    yield sink
    delivery.close_mail_connection()
    sink.stop()


def test_a_message_step_with_send_is_delivered_without_review(admin, seller, smtp):
    load(
        admin,
        """\
  - key: welcome
    name: Welcome the client
    trigger: {opportunity_won: {pipeline: sales}}
    steps:
      - key: welcome
        message: {template: welcome, send: true}
""",
    )
    contact = make_contact(seller)
    organisation = seller.organisation
    organisation.from_email = "hello@engine.test"
    organisation.save(update_fields=["from_email"])
    opportunity = deal(seller, primary_contact_id=contact.pk)
    opportunity_move(actor=seller, opportunity_id=opportunity.pk, stage="won")

    run_pending_tasks()  # the playbook, then the delivery it queued

    message = Message.objects.get(opportunity=opportunity, template="welcome")
    assert message.status == Message.Status.SENT and message.sent_at is not None
    (received,) = smtp.accepted
    assert received.rcpt_tos == ["kim@client.example"]
    assert received.message["From"] == "hello@engine.test"
    assert received.message["Subject"] == "Welcome aboard, Kim Client"
    assert received.message["Message-ID"] == message.message_id
    body = received.message.get_body(preferencelist=("plain",)).get_content()
    assert "thank you for choosing Engine Co." in body
    (step,) = PlaybookRun.objects.get(opportunity=opportunity, playbook="welcome").steps.all()
    assert step.outcome == "done" and "queued to send" in step.detail
    assert step.object_type == "message" and step.object_id == str(message.pk)


# --- dates ----------------------------------------------------------------------------------


def at(day: str):
    return time_machine.travel(f"{day}T12:00:00+00:00", tick=False)


def signed_agreement(seller, opportunity, *, end: str, notice: int = 60):
    agreement = agreement_services.agreement_create(
        actor=seller,
        opportunity_id=opportunity.pk,
        data={
            "start_date": "2026-01-01",
            "end_date": end,
            "value": "1200",
            "renewal_notice_days": notice,
        },
    )
    return agreement_services.agreement_sign(
        actor=seller, agreement_id=agreement.pk, signed_on=date(2026, 1, 1)
    )


def test_agreement_ending_runs_n_days_before_the_end_once(admin, seller):
    load(
        admin,
        task_playbook("ending-30", "{agreement_ending: {days_before: 30}}"),
        task_playbook("ending-notice", "agreement_ending"),
    )
    opportunity = deal(seller)
    agreement = signed_agreement(seller, opportunity, end="2026-12-31", notice=45)

    with at("2026-11-15"):
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-11-16"):  # 45 days before: the agreement's own renewal notice
        assert engine.run_scheduled_playbooks() == 1
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-11-30"):
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-12-01"):  # 30 days before
        assert engine.run_scheduled_playbooks() == 1
    with at("2026-12-20"):  # the same occurrences, caught up on later: nothing again
        assert engine.run_scheduled_playbooks() == 0

    runs = PlaybookRun.objects.filter(opportunity=opportunity).order_by("id")
    assert [(r.playbook, r.occurrence) for r in runs] == [
        ("ending-notice", f"ending:{agreement.pk}:2026-11-16"),
        ("ending-30", f"ending:{agreement.pk}:2026-12-01"),
    ]
    assert Task.objects.filter(opportunity=opportunity, step="do").count() == 2


def test_an_ended_agreement_or_a_missed_window_runs_nothing(admin, seller):
    load(admin, task_playbook("ending-30", "{agreement_ending: {days_before: 30}}"))
    opportunity = deal(seller)
    signed_agreement(seller, opportunity, end="2026-03-31")
    # 30 days before was 1 March: a worker back after more than the catch-up window, or
    # after the end date, does not send a notice for an occurrence that long gone.
    with at("2026-04-05"):
        assert engine.run_scheduled_playbooks() == 0
    assert ran(opportunity) == []


def test_a_date_reached_with_days_before_and_after(admin, seller):
    load(
        admin,
        task_playbook(
            "week-before", "{date_reached: {field: expected_close_date, days_before: 7}}"
        ),
        task_playbook("days-after", "{date_reached: {field: expected_close_date, days_after: 3}}"),
    )
    opportunity = deal(seller, expected_close_date="2026-03-10")
    other = deal(seller, "Later", expected_close_date="2026-04-10")

    with at("2026-03-02"):
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-03-03"):
        assert engine.run_scheduled_playbooks() == 1
    with at("2026-03-12"):
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-03-13"):
        assert engine.run_scheduled_playbooks() == 1
        assert engine.run_scheduled_playbooks() == 0

    runs = PlaybookRun.objects.filter(opportunity=opportunity).order_by("id")
    assert [(r.playbook, r.occurrence) for r in runs] == [
        ("week-before", f"date:expected_close_date:{opportunity.pk}:2026-03-03"),
        ("days-after", f"date:expected_close_date:{opportunity.pk}:2026-03-13"),
    ]
    assert ran(other) == []


def test_a_closed_opportunity_reaching_its_date_runs_nothing(admin, seller):
    load(admin, task_playbook("reached", "{date_reached: {field: expected_close_date}}"))
    opportunity = deal(seller, expected_close_date="2026-03-10")
    opportunity_move(actor=seller, opportunity_id=opportunity.pk, stage="lost")
    with at("2026-03-10"):
        assert engine.run_scheduled_playbooks() == 0


def test_a_date_reached_on_a_custom_date_field(admin, seller):
    load(admin, task_playbook("go-live-soon", "{date_reached: {field: go_live, days_before: 2}}"))
    opportunity = deal(seller, custom_fields={"go_live": "2026-05-04"})
    deal(seller, "No go-live")  # no value: never due

    with at("2026-05-01"):
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-05-02"):
        assert engine.run_scheduled_playbooks() == 1
    with at("2026-05-04"):
        assert engine.run_scheduled_playbooks() == 0

    run = PlaybookRun.objects.get(opportunity=opportunity)
    assert run.occurrence == f"date:go_live:{opportunity.pk}:2026-05-02"
    assert Task.objects.get(opportunity=opportunity).title == "go-live-soon: Deal"


def test_a_recurring_schedule_counts_from_a_custom_date_field(admin, seller):
    load(admin, task_playbook("monthly", "{every: {months: 1, after: go_live, times: 2}}"))
    opportunity = deal(seller, custom_fields={"go_live": "2026-01-31"})
    deal(seller, "No go-live")

    with at("2026-02-27"):
        assert engine.run_scheduled_playbooks() == 0
    with at("2026-02-28"):  # a month after 31 January: the last day of February
        assert engine.run_scheduled_playbooks() == 1
    Task.objects.filter(opportunity=opportunity).update(status="done")
    with at("2026-03-31"):
        assert engine.run_scheduled_playbooks() == 1
    with at("2026-04-30"):  # at most twice
        assert engine.run_scheduled_playbooks() == 0

    runs = PlaybookRun.objects.filter(opportunity=opportunity).order_by("id")
    assert [r.occurrence for r in runs] == [
        f"every:{opportunity.pk}:2026-02-28",
        f"every:{opportunity.pk}:2026-03-31",
    ]
    assert Task.objects.filter(opportunity=opportunity).count() == 2


# --- failures stop only what they concern ---------------------------------------------------


@pytest.fixture
def two_organisations(admin, seller):
    """This organisation's playbooks, and another's, both due on 2026-05-02."""
    with at("2026-05-01"):
        load(
            admin,
            task_playbook("first", "{date_reached: {field: go_live, days_before: 2}}"),
            task_playbook("second", "{every: {days: 1, after: go_live}}"),
        )
        opportunity = deal(seller, custom_fields={"go_live": "2026-05-01"})
        later = process_services.organisation_create(
            name="Later Co", template="business-development"
        )
        later_admin = accounts.system_actor(later)
        load(
            later_admin, task_playbook("theirs", "{date_reached: {field: go_live, days_before: 1}}")
        )
        theirs = deal(later_admin, "Theirs", custom_fields={"go_live": "2026-05-03"})
    return opportunity, theirs


def test_a_playbook_whose_occurrences_cannot_be_found_stops_nothing_else(
    two_organisations, seller, monkeypatch
):
    opportunity, theirs = two_organisations
    found = engine._due

    def due(organisation, trigger, today):
        if trigger.kind == "date_reached" and organisation == seller.organisation:
            raise RuntimeError("the database said no")
        return found(organisation, trigger, today)

    monkeypatch.setattr(engine, "_due", due)
    with at("2026-05-02"):
        report = schedules.schedules_run_report()

    assert report.ran["playbooks"] == 2
    assert ran(opportunity) == ["second"]  # the organisation's other playbook ran
    assert ran(theirs) == ["theirs"]  # and so did the next organisation's
    (failure,) = report.failures
    assert (failure.schedule, failure.object_type, failure.object_id) == (
        "playbooks",
        "playbook",
        "first",
    )
    assert failure.reason == "RuntimeError: the database said no"
    event = AuditEvent.objects.get(action="schedule_failed")
    assert event.organisation == seller.organisation
    assert event.changes["playbook"] == "first"
    # The settings page's overview of the playbooks says so, for a day.
    with at("2026-05-02"):
        overview = {item.playbook.key: item for item in playbook_overview(actor=seller)}
    assert overview["first"].failure == "RuntimeError: the database said no"
    assert overview["second"].failure == "" and overview["second"].failed_at is None
    with at("2026-05-04"):
        assert {item.failure for item in playbook_overview(actor=seller)} == {""}


def test_an_occurrence_that_fails_is_on_the_record_and_runs_again(
    two_organisations, seller, monkeypatch
):
    opportunity, theirs = two_organisations
    real_run = engine.run_playbook

    def run_playbook(*, playbook, **kwargs):
        if playbook.key == "first":
            raise RuntimeError("disk full")
        return real_run(playbook=playbook, **kwargs)

    monkeypatch.setattr(engine, "run_playbook", run_playbook)
    with at("2026-05-02"):
        report = schedules.schedules_run_report()
        assert report.ran["playbooks"] == 2
        schedules.schedules_run_report()  # a minute later, the same failure

    assert ran(opportunity) == ["second"]
    assert ran(theirs) == ["theirs"]
    # Recorded on the opportunity, once however often it fails in a day.
    event = AuditEvent.objects.get(action="schedule_failed")
    assert (event.object_type, event.object_id) == ("opportunity", str(opportunity.pk))
    assert event.changes == {
        "schedule": "playbooks",
        "due_on": "2026-04-29",
        "error": "RuntimeError: disk full",
        "playbook": "first",
    }
    texts = [e.text for e in record_timeline(actor=seller, kind="opportunity", obj=opportunity)]
    assert (
        "Playbook “first” failed (due 2026-04-29): RuntimeError: disk full; "
        "it is tried again every minute"
    ) in texts

    monkeypatch.setattr(engine, "run_playbook", real_run)
    with at("2026-05-02"):
        assert schedules.schedules_run_report().failures == []
    assert ran(opportunity) == ["second", "first"]


def test_a_custom_date_that_is_not_a_date_is_skipped(admin, seller):
    load(admin, task_playbook("monthly", "{every: {months: 1, after: go_live}}"))
    good = deal(seller, "Good", custom_fields={"go_live": "2026-01-15"})
    bad = deal(seller, "Bad")
    # Kept from when the field was text, say: not a date, so no anchor.
    type(bad).objects.filter(pk=bad.pk).update(custom_fields={"go_live": "soon"})
    with at("2026-02-15"):
        report = schedules.schedules_run_report()
    assert report.failures == [] and report.ran["playbooks"] == 1
    assert ran(good) == ["monthly"] and ran(bad) == []


def test_a_task_done_trigger_runs_on_the_completed_task_s_lead(admin, seller):
    load(
        admin,
        """\
  - key: new-lead
    name: New lead
    trigger: lead_created
    steps:
      - {key: call, task: {title: "Call {{ lead.name }}", queue: inside_sales}}
  - key: called
    name: Called
    trigger: {task_done: {playbook: new-lead, step: call}}
    steps:
      - {key: follow-up, task: {title: "Follow up {{ lead.name }}", assignee: owner}}
""",
    )
    lead = record_create(actor=seller, kind="lead", data={"name": "Nina Berg"})
    run_pending_tasks()
    call = Task.objects.get(lead=lead, step="call")
    assert not Task.objects.filter(lead=lead, step="follow-up").exists()

    task_services.task_update(actor=seller, task_id=call.pk, data={"status": "done"})
    run_pending_tasks()

    run = PlaybookRun.objects.get(lead=lead, playbook="called")
    assert (run.trigger, run.status, run.opportunity_id) == ("task_done", "done", None)
    follow_up = Task.objects.get(lead=lead, step="follow-up")
    assert (follow_up.title, follow_up.assignee_id) == ("Follow up Nina Berg", seller.user.pk)
    overview = {item.playbook.key: item.when for item in playbook_overview(actor=seller)}
    assert overview["called"] == "The task of step call in New lead is done"
