"""A large flow history is read by the worker, not inside a request: the API answers 202 with
the progress and Retry-After, the pages say how far the read got, and once the worker is done
every process answers from the files it wrote."""

import numpy as np
import pytest
from django.test import Client

from salesline.accounts.services import system_actor
from salesline.analytics import extract, history_reads
from salesline.analytics.extract import flow_history
from salesline.analytics.models import HistoryRead
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.models import Pipeline, StageChange
from salesline.process.services import process_load
from tests.analytics.test_extract import DEFINITION, as_rows, create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def small_inline_limit(settings, tmp_path):
    """Histories of more than 3 changes count as large; the files are shared by 'processes'."""
    settings.ANALYTICS_CACHE_DIR = str(tmp_path / "analytics")
    settings.ANALYTICS_INLINE_ROWS = 3
    extract.forget()
    yield
    extract.forget()


@pytest.fixture
def deals(actor):
    process_load(actor=system_actor(actor.organisation), text=DEFINITION)
    return [
        create(actor, "First", "qualify", "won"),
        create(actor, "Second", "qualify", "lost"),
        create(actor, "Third", "qualify"),
    ]


def history_jobs() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path__endswith="history_read_run").count()


def test_the_api_answers_202_with_progress_until_the_worker_has_read_it(api, org, deals):
    first = api.get("/metrics/flow")
    again = api.get("/metrics/flow")

    assert first.status_code == 202, first.content
    assert first["Retry-After"] == str(history_reads.RETRY_AFTER)
    body = first.json()
    assert body["progress"]["state"] == "queued"
    assert "waiting for a worker" in body["detail"]
    assert again.status_code == 202
    assert history_jobs() == 1, "asking twice queues one read"

    run_pending_tasks()
    read = HistoryRead.objects.get(organisation=org)
    assert read.state == HistoryRead.State.DONE
    assert read.rows_read == StageChange.objects.filter(organisation=org).count() == 8
    assert read.fraction_done == 1.0

    extract.forget()  # another app process: it has only the worker's files
    answered = api.get("/metrics/flow")
    assert answered.status_code == 200, answered.content
    stages = {row["stage"]: row for row in answered.json()["stages"]}
    assert stages["qualify"]["arrivals"] == 3
    assert stages["qualify"]["wip"] == 1


def test_the_report_page_shows_the_progress_and_looks_again(user, org, deals):
    client = Client()
    client.force_login(user)

    waiting = client.get("/reports/flow/")
    assert waiting.status_code == 202
    assert waiting["Retry-After"] == "5"
    page = waiting.content.decode()
    assert "Preparing the reports" in page
    assert '<meta http-equiv="refresh" content="5">' in page
    assert "waiting for a worker" in page

    HistoryRead.objects.filter(organisation=org).update(
        state=HistoryRead.State.RUNNING, rows_read=4_000_000, fraction_done=0.4
    )
    running = client.get("/reports/")
    assert running.status_code == 202
    assert "4,000,000 stage changes so far (40%)" in running.content.decode()
    assert history_jobs() == 1

    run_pending_tasks()
    assert client.get("/reports/flow/").status_code == 200
    assert client.get("/reports/").status_code == 200


def test_a_small_history_is_read_inside_the_request(api, org, deals, settings):
    settings.ANALYTICS_INLINE_ROWS = 100

    assert api.get("/metrics/flow").status_code == 200
    assert history_jobs() == 0
    assert not HistoryRead.objects.exists()


def test_without_shared_files_the_request_reads_it_itself(api, deals, settings):
    settings.ANALYTICS_CACHE_DIR = ""

    assert api.get("/metrics/flow").status_code == 200
    assert history_jobs() == 0


def test_outside_a_request_it_is_read_inline(actor, deals):
    history = flow_history(actor.organisation)  # the CLI, the worker's own jobs

    assert len(history) == 8
    assert history_jobs() == 0


def test_a_history_import_asks_for_a_new_read(api, org, deals):
    api.get("/metrics/flow")
    run_pending_tasks()
    assert api.get("/metrics/flow").status_code == 200

    # What a stage-history import or a purge does: the past is rewritten.
    Pipeline.objects.filter(organisation=org).update(history_revision=7)
    assert api.get("/metrics/flow").status_code == 202
    assert history_jobs() == 2
    run_pending_tasks()
    assert api.get("/metrics/flow").status_code == 200


def test_the_read_in_parts_equals_the_read_at_once(actor, org, deals, monkeypatch):
    monkeypatch.setattr(extract, "MIN_PART_IDS", 2)
    reported = []

    extract.read_and_keep(org, progress=lambda rows, done: reported.append((rows, done)))
    in_parts = flow_history(org)
    extract.forget()
    whole = extract._live(extract._read_all(org, extract._key(org)))

    assert as_rows(in_parts) == as_rows(whole)
    assert len(reported) > 2
    rows = [count for count, _ in reported]
    fractions = [done for _, done in reported]
    assert rows == sorted(rows) and rows[-1] == 8
    assert fractions == sorted(fractions) and fractions[-1] == 0.95
    assert np.all(np.diff(in_parts.opportunity) >= 0)


def test_a_failed_read_is_recorded_and_tried_again(api, org, deals, monkeypatch):
    def broken(organisation, *, progress=None):
        raise OSError("disk full")

    monkeypatch.setattr(extract, "read_and_keep", broken)
    api.get("/metrics/flow")
    for _ in range(3):  # the task's attempts
        run_pending_tasks()
    read = HistoryRead.objects.get(organisation=org)
    assert read.state == HistoryRead.State.FAILED
    assert read.error == "OSError: disk full"

    monkeypatch.undo()
    retried = api.get("/metrics/flow")
    assert retried.status_code == 202
    assert (
        "The last read failed (OSError: disk full); it is tried again."
        in (retried.json()["detail"])
    )
    run_pending_tasks()
    assert api.get("/metrics/flow").status_code == 200


def test_another_organisation_is_not_held_up(api, other_api, deals, other_actor):
    assert api.get("/metrics/flow").status_code == 202
    # The other organisation has no history at all: nothing to read in the background.
    assert other_api.get("/metrics/flow").status_code == 200
    assert not HistoryRead.objects.filter(organisation=other_actor.organisation).exists()


def test_a_filter_swap_on_the_dashboard_gets_the_notice_alone(user, deals):
    client = Client()
    client.force_login(user)

    swapped = client.get("/reports/", headers={"HX-Request": "true"})

    assert swapped.status_code == 202
    fragment = swapped.content.decode()
    assert fragment.lstrip().startswith('<section class="preparing" id="dashboard-results"')
    assert "<html" not in fragment


def test_the_swapped_notice_polls_its_url_until_the_results_replace_it(user, deals):
    client = Client()
    client.force_login(user)
    url = "/reports/?pipeline=business-development&from=2020-01-01"
    htmx = {"HX-Request": "true"}

    notice = client.get(url, headers=htmx)

    assert notice.status_code == 202
    fragment = notice.content.decode()
    opening = fragment[: fragment.index(">", fragment.index("<section")) + 1]
    # htmx looks again at the same URL (filters included) and swaps whatever answers in its place.
    assert f'hx-get="{url.replace("&", "&amp;")}"' in opening
    assert 'hx-trigger="every 5s"' in opening
    assert 'hx-target="this"' in opening
    assert 'hx-swap="outerHTML"' in opening
    assert 'hx-select="#dashboard-results"' in opening
    # The CSP allows no inline code: the polling is attributes only.
    assert "<script" not in fragment and "style=" not in fragment
    assert "'unsafe-inline'" not in notice["Content-Security-Policy"]
    # A whole page keeps its meta refresh and does not poll with htmx as well.
    assert 'hx-trigger="every' not in client.get(url).content.decode()

    run_pending_tasks()
    ready = client.get(url, headers=htmx)

    assert ready.status_code == 200
    results = ready.content.decode()
    assert results.lstrip().startswith('<div id="dashboard-results"')
    assert "Preparing the reports" not in results and 'hx-trigger="every' not in results


def test_inside_a_transaction_it_is_read_inline(actor, deals):
    from django.db import transaction

    with history_reads.cold_reads_in_background(), transaction.atomic():
        history = flow_history(actor.organisation)

    assert len(history) == 8
    assert history_jobs() == 0
