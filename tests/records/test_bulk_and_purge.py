"""Bulk assign, delete and restore (all or nothing, audited per record, opportunities
included) and the purge, which keeps an opportunity's flow history anonymised."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.models import Opportunity, StageChange
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.records import services as records
from salesline.records.models import Lead
from tests.conftest import LEAD


def leads(actor, count):
    return [
        records.record_create(actor=actor, kind="lead", data={**LEAD, "email": f"l{i}@piql.com"})
        for i in range(count)
    ]


def test_bulk_assign_changes_every_record_and_audits_each(actor, admin_user):
    batch = leads(actor, 3)
    ids = [lead.pk for lead in batch]
    changed = records.records_bulk_assign(actor=actor, kind="lead", ids=ids, owner_id=admin_user.pk)
    assert [obj.pk for obj in changed] == ids
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {
        admin_user.pk
    }
    events = AuditEvent.objects.filter(action="update", object_type="lead")
    assert sorted(int(e.object_id) for e in events) == ids
    assert all(e.changes == {"owner_id": [actor.user.pk, admin_user.pk]} for e in events)


def test_bulk_assign_to_no_one(actor):
    ids = [lead.pk for lead in leads(actor, 2)]
    records.records_bulk_assign(actor=actor, kind="lead", ids=ids, owner_id=None)
    assert set(Lead.objects.filter(pk__in=ids).values_list("owner_id", flat=True)) == {None}


def test_bulk_assign_includes_opportunities(actor, admin_user, opportunity):
    second = opportunity_create(actor=actor, data={"name": "Second project"})
    records.records_bulk_assign(
        actor=actor, kind="opportunity", ids=[opportunity.pk, second.pk], owner_id=admin_user.pk
    )
    owners = Opportunity.objects.filter(pk__in=[opportunity.pk, second.pk]).values_list(
        "owner_id", flat=True
    )
    assert set(owners) == {admin_user.pk}
    assert AuditEvent.objects.filter(action="update", object_type="opportunity").count() == 2


def test_bulk_changes_are_all_or_nothing_naming_the_record(actor, other_actor):
    mine = leads(actor, 2)
    theirs = records.record_create(actor=other_actor, kind="lead", data=LEAD)
    ids = [mine[0].pk, theirs.pk, mine[1].pk]
    with pytest.raises(ValidationFailed) as refused:
        records.records_bulk_delete(actor=actor, kind="lead", ids=ids)
    assert str(refused.value) == f"Lead {theirs.pk} was not found (deleted meanwhile?)."
    assert [p.loc for p in refused.value.problems] == [("ids", theirs.pk)]
    assert Lead.objects.filter(pk__in=ids, deleted_at=None).count() == 3
    assert not AuditEvent.objects.filter(action="delete").exists()


def test_bulk_assign_refusal_names_the_record_and_the_reason(actor, other_user):
    batch = leads(actor, 2)
    with pytest.raises(ValidationFailed) as refused:
        records.records_bulk_assign(
            actor=actor, kind="lead", ids=[b.pk for b in batch], owner_id=other_user.pk
        )
    assert str(refused.value).startswith(f"Lead {batch[0].pk}: Owner refers to no user")
    assert refused.value.problems[0].loc == ("ids", batch[0].pk, "owner_id")
    assert set(
        Lead.objects.filter(pk__in=[b.pk for b in batch]).values_list("owner", flat=True)
    ) == {actor.user.pk}


def test_bulk_delete_then_restore(actor):
    ids = [lead.pk for lead in leads(actor, 3)]
    records.records_bulk_delete(actor=actor, kind="lead", ids=ids)
    assert not Lead.objects.filter(pk__in=ids, deleted_at=None).exists()
    assert AuditEvent.objects.filter(action="delete", object_type="lead").count() == 3
    restored = records.records_bulk_restore(actor=actor, kind="lead", ids=ids)
    assert [obj.pk for obj in restored] == ids
    assert Lead.objects.filter(pk__in=ids, deleted_at=None).count() == 3
    assert AuditEvent.objects.filter(action="restore", object_type="lead").count() == 3


def test_bulk_restore_past_the_window_is_a_conflict_for_the_batch(actor):
    ids = [lead.pk for lead in leads(actor, 2)]
    records.record_delete(actor=actor, kind="lead", record_id=ids[0])
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        records.record_delete(actor=actor, kind="lead", record_id=ids[1])
        with pytest.raises(Conflict):
            records.records_bulk_restore(actor=actor, kind="lead", ids=ids)
    assert Lead.objects.filter(pk__in=ids, deleted_at=None).count() == 0


# ------------------------------------------------------------------ purge


def later():
    return time_machine.travel(timezone.now() + dt.timedelta(days=31))


def test_purge_keeps_the_flow_history_anonymised(actor, opportunity):
    opportunity_move(actor=actor, opportunity_id=opportunity.pk, stage="lost", reason="Ann left")
    moves = list(StageChange.objects.filter(opportunity=opportunity).values_list("pk", flat=True))
    assert moves
    records.record_delete(actor=actor, kind="opportunity", record_id=opportunity.pk)
    with later():
        removed = records.records_purge(actor=accounts.system_actor(None, "purge"))
    assert removed["opportunity"] == 1
    assert not Opportunity.objects.filter(pk=opportunity.pk).exists()
    kept = StageChange.objects.filter(pk__in=moves)
    assert kept.count() == len(moves)
    assert {(m.opportunity_id, m.opportunity_ref, m.reason) for m in kept} == {
        (None, opportunity.pk, "")
    }


def test_purge_leaves_the_history_of_live_opportunities(actor, opportunity):
    other = opportunity_create(actor=actor, data={"name": "Other project"})
    opportunity_move(actor=actor, opportunity_id=other.pk, stage="lost", reason="Budget")
    records.record_delete(actor=actor, kind="opportunity", record_id=opportunity.pk)
    with later():
        records.records_purge(actor=accounts.system_actor(None, "purge"))
    assert StageChange.objects.get(opportunity=other, reason="Budget")


def test_purge_of_one_organisation_leaves_the_others(actor, other_actor):
    mine = records.record_create(actor=actor, kind="lead", data=LEAD)
    theirs = records.record_create(actor=other_actor, kind="lead", data=LEAD)
    for who, lead in ((actor, mine), (other_actor, theirs)):
        records.record_delete(actor=who, kind="lead", record_id=lead.pk)
    with later():
        removed = records.records_purge(actor=accounts.system_actor(actor.organisation, "purge"))
    assert removed["lead"] == 1
    assert not Lead.objects.filter(pk=mine.pk).exists()
    assert Lead.objects.filter(pk=theirs.pk).exists()
    event = AuditEvent.objects.get(action="purge", object_type="lead")
    assert (event.organisation_id, event.actor_label) == (actor.organisation.pk, "purge")


def test_purge_needs_the_system_or_an_admin(actor, admin_actor):
    with pytest.raises(PermissionDenied):
        records.records_purge(actor=actor)
    with pytest.raises(PermissionDenied):
        records.records_purge(actor=Actor(organisation=None, user=admin_actor.user))
    assert records.records_purge(actor=admin_actor)["company"] == 0
