"""A stage-history import rewrites stage, status and creation time with raw SQL and no move
events: it names the rewritten opportunities in `stage_history_imported` events (one per slice
of ids, in the chunk's transaction) and the analytics app rates them again in the worker."""

import pytest

from salesline.analytics.models import QualityRating
from salesline.core.models import DomainEvent
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline import history_import
from salesline.pipeline.services import opportunity_create
from tests.pipeline.test_history_import import run_import

pytestmark = pytest.mark.django_db(transaction=True)


def rating_of(opportunity) -> QualityRating:
    return QualityRating.objects.get(opportunity=opportunity)


def imported_ids() -> list[list[int]]:
    return [
        event.payload["opportunity_ids"]
        for event in DomainEvent.objects.filter(kind="stage_history_imported").order_by("pk")
    ]


@pytest.fixture
def rated(actor):
    deals = [opportunity_create(actor=actor, data={"name": f"Archive {n}"}) for n in range(3)]
    run_pending_tasks()
    assert all(rating_of(deal).is_open for deal in deals)
    return deals


def test_a_closing_import_closes_the_rating_once_the_worker_runs(admin_actor, tmp_path, rated):
    won, lost, still_open = rated
    rated_before = rating_of(won).rated_at
    job, report = run_import(
        admin_actor,
        tmp_path,
        [
            (won.pk, "identify", "2024-01-10T09:00:00Z", ""),
            (won.pk, "won", "2024-03-05T12:00:00Z", ""),
            (lost.pk, "identify", "2024-01-11T09:00:00Z", ""),
            (lost.pk, "lost", "2024-02-01T09:00:00Z", ""),
            (still_open.pk, "qualify", "2024-01-12T09:00:00Z", ""),
        ],
    )
    assert report["updated"] == 3
    assert imported_ids() == [sorted([won.pk, lost.pk, still_open.pk])]
    event = DomainEvent.objects.get(kind="stage_history_imported")
    assert (event.object_type, event.object_id) == ("import_job", str(job.pk))
    assert rating_of(won).is_open, "stale until the worker runs the handlers"

    run_pending_tasks()

    assert not rating_of(won).is_open
    assert not rating_of(lost).is_open
    assert rating_of(still_open).is_open
    assert rating_of(won).rated_at > rated_before  # rated again, not only the copy cleared


def test_many_ids_are_named_in_slices(admin_actor, tmp_path, rated, monkeypatch):
    monkeypatch.setattr(history_import, "IDS_PER_EVENT", 2)
    run_import(
        admin_actor,
        tmp_path,
        [(deal.pk, "lost", "2024-02-01T09:00:00Z", "") for deal in rated],
    )
    ids = sorted(deal.pk for deal in rated)
    assert imported_ids() == [ids[:2], ids[2:]]

    run_pending_tasks()

    assert not QualityRating.objects.filter(opportunity__in=rated, is_open=True).exists()


def test_a_dry_run_and_rejected_rows_announce_nothing(admin_actor, actor, tmp_path, rated):
    run_import(
        admin_actor, tmp_path, [(rated[0].pk, "won", "2024-03-05T12:00:00Z", "")], dry_run=True
    )
    run_import(admin_actor, tmp_path, [(rated[1].pk, "nowhere", "2024-03-05T12:00:00Z", "")])

    assert imported_ids() == []
    run_pending_tasks()
    assert all(rating_of(deal).is_open for deal in rated)
