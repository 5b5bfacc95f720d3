"""Event handlers run by real `salesline worker` processes (SQLite file or PostgreSQL)."""

import signal
import subprocess
import sys
from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.core import events
from salesline.core.actors import Actor
from salesline.core.models import DomainEvent, EventDelivery, WorkerHeartbeat
from tests.core.eventapp.apps import PING
from tests.core.eventapp.handlers import handled
from tests.core.test_worker import finish, start_worker, wait_for
from tests.subprocesses import ROOT, subprocess_env


def test_two_workers_racing_run_each_handler_once_per_event(transactional_db, org):
    actor = Actor(organisation=org, system_label="test")
    emitted = []
    for _ in range(120):
        event = events.emit(actor=actor, kind=PING)
        # A second dispatch of every event, as a recovered task or a hand-made retry would be:
        # the two workers race over the same deliveries, not only over tasks.
        events.events_dispatch.enqueue(event.pk)
        emitted.append(event.pk)

    workers = [start_worker("--once", "--interval", "0.05") for _ in range(2)]
    for code, _, err in (finish(worker) for worker in workers):
        assert code == 0, err

    assert sorted(map(int, handled())) == emitted
    assert set(EventDelivery.objects.values_list("status", "attempts")) == {("done", 1)}
    assert EventDelivery.objects.count() == len(emitted)
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()


def test_a_worker_killed_mid_handler_loses_nothing_and_runs_it_once(transactional_db, org):
    actor = Actor(organisation=org, system_label="test")
    event = events.emit(actor=actor, kind=PING, payload={"sleep": 2.0})
    task = DBTaskResult.objects.get()
    worker = start_worker("--interval", "0.05")

    def running() -> bool:
        task.refresh_from_db()
        return task.status == "RUNNING"

    wait_for(running, what="the dispatch to start")
    worker.send_signal(signal.SIGKILL)
    finish(worker)
    # The handler's transaction died with its worker: nothing half-done, nothing marked done.
    assert handled() == [] and not EventDelivery.objects.exists()

    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=5))
    code, _, err = finish(start_worker("--once", "--interval", "0.05"))

    assert code == 0, err
    assert handled() == [str(event.pk)]
    assert EventDelivery.objects.get(event=event).status == "done"


def test_an_event_committed_by_a_process_killed_right_after_its_commit_is_handled(
    transactional_db, org
):
    emitter = subprocess.run(  # noqa: S603 - this interpreter, our own module
        [sys.executable, "-m", "tests.core.eventapp.emit_and_die", str(org.pk)],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert emitter.returncode == -signal.SIGKILL, emitter.stderr
    # The dispatch task committed with the event: no on-commit hook had to run for it.
    event = DomainEvent.objects.get(kind=PING)
    assert DBTaskResult.objects.get().status == "READY"

    code, _, err = finish(start_worker("--once", "--interval", "0.05"))

    assert code == 0, err
    assert handled() == [str(event.pk)]
