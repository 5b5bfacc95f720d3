"""The flow history extract: equal to a plain ORM read, and kept up to date incrementally."""

import datetime as dt

import numpy as np
import pytest
from django.db import transaction

from salesline.accounts.services import system_actor
from salesline.analytics import extract
from salesline.analytics.extract import flow_history
from salesline.analytics.history import LOST, OPEN, WON, history_from_rows, stay_ends_of
from salesline.pipeline.models import Pipeline, StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.process.services import process_load
from salesline.records.services import record_delete, record_restore

BD = "business-development"
START = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
# The template's stages without their gates: these tests move freely.
DEFINITION = """
name: Flow
pipelines:
  - key: business-development
    name: Business development
    stages:
      - {key: identify, name: Identify, probability: 10}
      - {key: qualify, name: Qualify, probability: 25}
      - {key: develop, name: Develop, probability: 50}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: lost, name: Lost, kind: lost, probability: 0}
"""


@pytest.fixture(autouse=True)
def fresh_cache(settings, tmp_path):
    settings.ANALYTICS_CACHE_DIR = str(tmp_path / "analytics")
    extract.forget()
    yield
    extract.forget()


@pytest.fixture(autouse=True)
def gateless(org, other_org):
    for organisation in (org, other_org):
        process_load(actor=system_actor(organisation), text=DEFINITION)


@pytest.fixture
def reads(monkeypatch):
    """Counts the full reads of the history (as opposed to incremental refreshes)."""
    calls = []
    original = extract._read_all

    def counted(organisation, key):
        calls.append(organisation.pk)
        return original(organisation, key)

    monkeypatch.setattr(extract, "_read_all", counted)
    return calls


def dated(opportunity, *days: float) -> None:
    """Give the opportunity's changes, in order, the moments START + days."""
    changes = StageChange.objects.filter(opportunity=opportunity).order_by("at", "id")
    for change, day in zip(changes, days, strict=True):
        StageChange.objects.filter(pk=change.pk).update(at=START + dt.timedelta(days=day))


def orm_history(organisation):
    rows = [
        (ref, at, pipeline, stage, kind)
        for ref, at, pipeline, stage, kind in StageChange.objects.filter(
            organisation=organisation,
            opportunity__isnull=False,
            opportunity__deleted_at__isnull=True,
        )
        .order_by("opportunity_ref", "at", "id")
        .values_list("opportunity_ref", "at", "to_pipeline_key", "to_stage", "to_stage_kind")
    ]
    return history_from_rows(rows, as_of=0)


def as_rows(history) -> list[tuple]:
    return [
        (int(o), int(t), history.stages[s], int(k))
        for o, t, s, k in zip(
            history.opportunity, history.at, history.stage, history.kind, strict=True
        )
    ]


def create(actor, name: str, *moves: str):
    opportunity = opportunity_create(actor=actor, data={"name": name})
    for stage in moves:
        reason = "Closed" if stage in ("won", "lost") else ""
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage=stage, reason=reason)
    return opportunity


def test_the_extract_equals_a_plain_orm_read(actor):
    first = create(actor, "First", "qualify", "identify", "lost")
    second = create(actor, "Second", "won")
    trashed = create(actor, "Trashed", "qualify")
    dated(first, 0, 2.5, 3, 10)
    dated(second, 1, 4)
    dated(trashed, 0, 1)
    record_delete(actor=actor, kind="opportunity", record_id=trashed.pk)

    history = flow_history(actor.organisation)

    assert as_rows(history) == as_rows(orm_history(actor.organisation))
    start = int(START.timestamp())
    day = 86_400
    assert as_rows(history) == [
        (first.pk, start, (BD, "identify"), OPEN),
        (first.pk, start + 2 * day + day // 2, (BD, "qualify"), OPEN),
        (first.pk, start + 3 * day, (BD, "identify"), OPEN),
        (first.pk, start + 10 * day, (BD, "lost"), LOST),
        (second.pk, start + day, (BD, "identify"), OPEN),
        (second.pk, start + 4 * day, (BD, "won"), WON),
    ]
    assert history.as_of >= start


def test_a_stage_that_no_longer_exists_keeps_its_key(actor):
    opportunity = create(actor, "Old", "qualify")
    StageChange.objects.filter(opportunity=opportunity, to_stage="qualify").update(
        to_stage="assess"
    )

    history = flow_history(actor.organisation)

    assert [history.stages[s] for s in history.stage] == [(BD, "identify"), (BD, "assess")]


@pytest.mark.django_db(transaction=True)
def test_a_new_move_is_merged_in_without_reading_everything_again(actor, reads):
    first = create(actor, "First", "qualify")
    second = create(actor, "Second")
    assert len(flow_history(actor.organisation)) == 3
    assert len(reads) == 1

    opportunity_move(actor=actor, opportunity_id=first.pk, stage="develop")
    opportunity_move(actor=actor, opportunity_id=second.pk, stage="lost", reason="No budget")
    history = flow_history(actor.organisation)

    assert len(reads) == 1
    assert as_rows(history) == as_rows(orm_history(actor.organisation))
    assert [history.stages[s][1] for s in history.stage] == [
        "identify",
        "qualify",
        "develop",
        "identify",
        "lost",
    ]
    # Read again within the commit window: the same rows are not merged twice.
    assert len(flow_history(actor.organisation)) == 5
    assert len(reads) == 1


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_late_with_a_smaller_id_is_still_found(actor, reads, settings):
    settings.ANALYTICS_COMMIT_WINDOW = 3600
    first = create(actor, "First", "qualify")
    second = create(actor, "Second", "qualify")
    # First's move has an id below Second's rows: as if its transaction had committed after
    # the read, it is not there at first, then comes with its own id. (Moves of one
    # opportunity lock it, so only different opportunities' ids commit out of order.)
    late = StageChange.objects.get(opportunity=first, to_stage="qualify")
    late_values = {f.attname: getattr(late, f.attname) for f in StageChange._meta.concrete_fields}
    late.delete()
    assert len(flow_history(actor.organisation)) == 3
    StageChange.objects.create(**late_values)

    history = flow_history(actor.organisation)

    assert len(reads) == 1
    assert as_rows(history) == as_rows(orm_history(actor.organisation))
    assert history.opportunity.tolist() == [first.pk, first.pk, second.pk, second.pk]


@pytest.mark.django_db(transaction=True)
def test_a_deleted_opportunity_drops_out_and_comes_back_when_restored(actor, reads):
    kept = create(actor, "Kept", "qualify")
    trashed = create(actor, "Trashed", "qualify", "develop")
    assert len(flow_history(actor.organisation)) == 5

    record_delete(actor=actor, kind="opportunity", record_id=trashed.pk)
    history = flow_history(actor.organisation)
    assert set(history.opportunity.tolist()) == {kept.pk}
    assert len(history) == 2

    record_restore(actor=actor, kind="opportunity", record_id=trashed.pk)
    history = flow_history(actor.organisation)
    assert len(history) == 5
    assert as_rows(history) == as_rows(orm_history(actor.organisation))
    assert len(reads) == 1


@pytest.mark.django_db(transaction=True)
def test_a_bumped_history_revision_reads_everything_again(actor, reads):
    opportunity = create(actor, "Imported", "qualify")
    flow_history(actor.organisation)
    # What a history import does: rewrite the past, then raise the revision.
    StageChange.objects.filter(opportunity=opportunity, to_stage="qualify").update(
        to_stage="develop", at=START
    )
    # Unseen until the revision says so: no query re-reads the past on every call.
    stale = flow_history(actor.organisation)
    assert [stale.stages[s][1] for s in stale.stage] == ["identify", "qualify"]
    Pipeline.objects.filter(organisation=actor.organisation).update(history_revision=1)

    history = flow_history(actor.organisation)

    assert len(reads) == 2
    assert as_rows(history) == as_rows(orm_history(actor.organisation))
    assert [history.stages[s][1] for s in history.stage] == ["develop", "identify"]


@pytest.mark.django_db(transaction=True)
def test_another_process_maps_the_file_and_refreshes_from_it(actor, reads):
    opportunity = create(actor, "Shared", "qualify")
    flow_history(actor.organisation)
    extract.forget()  # a process that never read it
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="develop")

    history = flow_history(actor.organisation)

    assert len(reads) == 1
    assert [history.stages[s][1] for s in history.stage] == ["identify", "qualify", "develop"]


def test_two_organisations_never_mix(actor, other_actor):
    mine = create(actor, "Mine", "qualify")
    theirs = create(other_actor, "Theirs", "won")

    history = flow_history(actor.organisation)
    other = flow_history(other_actor.organisation)

    assert set(history.opportunity.tolist()) == {mine.pk}
    assert set(other.opportunity.tolist()) == {theirs.pk}
    assert other.kind.tolist() == [OPEN, WON]


@pytest.mark.django_db(transaction=True)
def test_two_organisations_never_mix_in_the_kept_extracts(actor, other_actor, reads):
    create(actor, "Mine", "qualify")
    flow_history(actor.organisation)
    theirs = create(other_actor, "Theirs", "won")

    other = flow_history(other_actor.organisation)
    mine = flow_history(actor.organisation)

    assert set(other.opportunity.tolist()) == {theirs.pk}
    assert theirs.pk not in set(mine.opportunity.tolist())
    assert len(mine) == 2


@pytest.mark.django_db(transaction=True)
def test_nothing_read_inside_a_transaction_is_kept(actor, reads):
    opportunity = create(actor, "Rolled back", "qualify")
    flow_history(actor.organisation)
    with transaction.atomic():
        opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="develop")
        assert len(flow_history(actor.organisation)) == 3
        transaction.set_rollback(True)

    history = flow_history(actor.organisation)

    assert len(history) == 2
    assert len(reads) == 1


def test_an_empty_organisation_has_an_empty_history(org):
    history = flow_history(org)
    assert len(history) == 0
    assert history.opportunity.dtype == np.int64


def test_copy_output_decoded_in_small_pieces_gives_the_same_columns(actor, monkeypatch):
    # PostgreSQL decodes COPY's rows a few megabytes at a time: a piece of 100 bytes cuts
    # rows (66 bytes each) at every possible place. SQLite reads through a cursor either way.
    for index in range(12):
        create(actor, f"Deal {index}", "qualify", "develop")
    expected = as_rows(orm_history(actor.organisation))
    monkeypatch.setattr(extract, "COPY_DECODE_BYTES", 100)

    assert as_rows(flow_history(actor.organisation)) == expected


@pytest.mark.django_db(transaction=True)
def test_merged_moves_are_written_back_to_the_file_once_enough(actor, reads, monkeypatch):
    monkeypatch.setattr(extract, "REWRITE_AFTER_ROWS", 1)
    opportunity = create(actor, "Rewritten", "qualify")
    flow_history(actor.organisation)
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="develop")
    flow_history(actor.organisation)  # merges the move and writes the files again
    extract.forget()

    history = flow_history(actor.organisation)  # from the new files: the move is not doubled

    assert len(reads) == 1
    assert [history.stages[s][1] for s in history.stage] == ["identify", "qualify", "develop"]
    assert len(list((extract._cache_dir()).glob("*.opportunity.npy"))) == 1


def stay_end_rows(history) -> list[tuple]:
    ends = history.stay_ends
    assert ends is not None
    return list(
        zip(
            ends.left.tolist(),
            ends.to_stage.tolist(),
            ends.to_kind.tolist(),
            ends.first.tolist(),
            strict=True,
        )
    )


def derived_stay_end_rows(history) -> list[tuple]:
    ends = stay_ends_of(history.opportunity, history.at, history.stage, history.kind)
    return list(
        zip(
            ends.left.tolist(),
            ends.to_stage.tolist(),
            ends.to_kind.tolist(),
            ends.first.tolist(),
            strict=True,
        )
    )


@pytest.mark.django_db(transaction=True)
def test_the_kept_stay_ends_follow_merges_deletions_and_the_file(actor, reads):
    first = create(actor, "First", "qualify")
    second = create(actor, "Second", "qualify", "won")
    history = flow_history(actor.organisation)
    assert stay_end_rows(history) == derived_stay_end_rows(history)

    opportunity_move(actor=actor, opportunity_id=first.pk, stage="develop")
    merged = flow_history(actor.organisation)
    assert len(merged) == len(history) + 1
    assert stay_end_rows(merged) == derived_stay_end_rows(merged)

    record_delete(actor=actor, kind="opportunity", record_id=second.pk)
    masked = flow_history(actor.organisation)
    assert set(masked.opportunity.tolist()) == {first.pk}
    assert stay_end_rows(masked) == derived_stay_end_rows(masked)

    extract.forget()  # another process: the ends come from the file
    mapped = flow_history(actor.organisation)
    assert stay_end_rows(mapped) == derived_stay_end_rows(mapped)
    assert reads == [actor.organisation.pk]


def test_a_moment_just_before_a_whole_second_counts_in_that_second(actor):
    # SQLite's date functions round a fraction to milliseconds; the extract must floor as the
    # rest of analytics does (a flaky mismatch with the ORM's reading of the same rows).
    opportunity = create(actor, "Late in the second", "qualify")
    StageChange.objects.filter(opportunity=opportunity).update(
        at=START + dt.timedelta(microseconds=999_999)
    )

    history = flow_history(actor.organisation)

    assert set(history.at.tolist()) == {int(START.timestamp())}
    assert as_rows(history) == as_rows(orm_history(actor.organisation))
