"""The schedules framework: claims, one transaction per occurrence, failures retried."""

from datetime import date

import pytest

from salesline.core import tasks
from salesline.core.models import AuditEvent
from salesline.playbooks import schedules
from salesline.playbooks.models import ScheduleOccurrence


@pytest.fixture
def only_these_schedules(monkeypatch):
    """The registry holds just what the test registers."""
    monkeypatch.setattr(schedules, "_SCHEDULES", {})


def test_a_claim_is_taken_once(org):
    due = date(2026, 3, 1)
    claim = dict(organisation=org, schedule="check-in", object_type="opportunity", due_on=due)
    assert schedules.schedule_claim(**claim, object_id=7) is True
    assert schedules.schedule_claim(**claim, object_id=7) is False
    assert schedules.schedule_claim(**claim, object_id=8) is True
    assert schedules.schedule_claim(**{**claim, "due_on": date(2026, 6, 1)}, object_id=7)
    assert ScheduleOccurrence.objects.count() == 3


def test_a_failed_occurrence_keeps_nothing_and_runs_again(org, only_these_schedules):
    attempts = []

    def runner(today):
        ran = 0
        for object_id in (1, 2):

            def work(object_id=object_id):
                attempts.append(object_id)
                AuditEvent.objects.create(organisation=org, action="work", object_id=object_id)
                if object_id == 1 and attempts.count(1) < 3:
                    raise RuntimeError("the printer is on fire")
                return f"did {object_id}"

            outcome = schedules.occurrence_run(
                organisation=org,
                schedule="test",
                object_type="thing",
                object_id=object_id,
                due_on=today,
                work=work,
            )
            ran += outcome == schedules.RAN
        return ran

    schedules.register_schedule("test", runner)
    report = schedules.schedules_run_report(today=date(2026, 2, 1))

    # One bad occurrence does not stop the other; its work and its claim are rolled back.
    assert report.ran == {"test": 1}
    assert report.done == ["did 2"]
    assert [(f.object_id, f.reason) for f in report.failures] == [
        ("1", "RuntimeError: the printer is on fire")
    ]
    assert list(AuditEvent.objects.filter(action="work").values_list("object_id", flat=True)) == [
        "2"
    ]
    failure = AuditEvent.objects.get(action="schedule_failed")
    assert (failure.object_type, failure.object_id, failure.actor_label) == (
        "thing",
        "1",
        "schedules",
    )
    assert failure.changes["error"] == "RuntimeError: the printer is on fire"
    assert ScheduleOccurrence.objects.get().outcome == "did 2"

    # The next run tries the failed one again (and fails); the one after succeeds; then nothing.
    assert schedules.schedules_run(today=date(2026, 2, 1)) == {"test": 0}
    assert schedules.schedules_run(today=date(2026, 2, 1)) == {"test": 1}
    assert schedules.schedules_run(today=date(2026, 2, 1)) == {"test": 0}
    assert sorted(ScheduleOccurrence.objects.values_list("object_id", flat=True)) == ["1", "2"]


def test_a_broken_runner_does_not_stop_the_others(only_these_schedules):
    def broken(today):
        raise LookupError("no such table")

    schedules.register_schedule("broken", broken)
    schedules.register_schedule("fine", lambda today: 3)
    report = schedules.schedules_run_report(today=date(2026, 1, 1))
    assert report.ran == {"broken": 0, "fine": 3}
    assert report.failures[0].reason == "LookupError: no such table"


def test_registering_another_runner_under_a_taken_name_is_refused(only_these_schedules):
    def runner(today):
        return 0

    schedules.register_schedule("x", runner)
    schedules.register_schedule("x", runner)
    with pytest.raises(ValueError, match="registered already"):
        schedules.register_schedule("x", lambda today: 0)


def test_the_workers_periodic_callbacks_run_the_schedules(db, only_these_schedules):
    seen = []
    schedules.register_schedule("seen", lambda today: seen.append(today) or 1)
    assert "schedules" in tasks._PERIODIC
    assert tasks.run_periodic()["schedules"] is True
    assert len(seen) == 1
