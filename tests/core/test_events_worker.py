"""Event handlers run by real `salesline worker` processes (SQLite file or PostgreSQL)."""

import signal
from datetime import timedelta

from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from salesline.core import events
from salesline.core.actors import Actor
from salesline.core.models import EventDelivery, WorkerHeartbeat
from tests.core.eventapp.apps import PING
from tests.core.eventapp.handlers import handled
from tests.core.test_worker import finish, start_worker, wait_for


def test_two_workers_racing_run_each_handler_once_per_event(transactional_db, org):
    actor = Actor(organisation=org, system_label="test")
    emitted = [events.emit(actor=actor, kind=PING).pk for _ in range(120)]

    workers = [start_worker("--once", "--interval", "0.05") for _ in range(2)]
    for code, _, err in (finish(worker) for worker in workers):
        assert code == 0, err

    assert sorted(map(int, handled())) == emitted
    assert EventDelivery.objects.filter(status="done").count() == len(emitted)
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
