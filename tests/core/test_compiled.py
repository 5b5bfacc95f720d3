"""core.compiled: SQL compiled once per shape gives exactly the rows `.values()` gives."""

import datetime as dt

import pytest
from django.db import connections
from django.utils import timezone

from salesline.core import compiled
from salesline.records import matching
from salesline.records.models import Lead


def _leads(org, low, high, limit=10):
    return (
        Lead.objects.filter(organisation_id=org, search_name__gte=low, search_name__lt=high)
        .order_by("search_name", "id")[:limit]
        .values("id", "name", "custom_fields", "created_at", "deleted_at")
    )


def test_rows_equal_the_querysets_for_every_set_of_values(actor, other_actor):
    now = timezone.now()
    rows = [(actor, "Ann Berg"), (actor, "Anna Lie"), (actor, "Bo Ek"), (other_actor, "Ann Other")]
    Lead.objects.bulk_create(
        Lead(
            organisation=owner.organisation,
            name=name,
            search_name=matching.search_key(name),
            created_at=now,
            updated_at=now,
        )
        for owner, name in rows
    )
    Lead.objects.filter(name="Anna Lie").update(custom_fields={"size": 3, "tags": ["a"]})
    connections["default"].__dict__.pop("_salesline_compiled", None)

    for org, low in [
        (actor.organisation.pk, "ann"),
        (actor.organisation.pk, "b"),
        (other_actor.organisation.pk, "ann"),
        (actor.organisation.pk, "zz"),
    ]:
        values = [org, low, low + "\U0010ffff"]
        rows = compiled.values_rows("leads", _leads, values)
        assert rows == list(_leads(*values))
    assert (
        len(connections["default"].__dict__["_salesline_compiled"]) == 1
    )  # one shape, compiled once
    anna = compiled.values_rows("leads", _leads, [actor.organisation.pk, "anna", "annb"])
    assert anna[0]["custom_fields"] == {"size": 3, "tags": ["a"]}  # converted as .values() does
    assert isinstance(anna[0]["created_at"], dt.datetime)


def test_a_value_that_reaches_the_sql_changed_is_refused(actor):
    def changed(org, low):
        return _leads(org, low, low + "\U0010ffff")

    with pytest.raises(compiled.NotTemplatable):
        compiled.values_rows("changed", changed, [actor.organisation.pk, "ann"])
    with pytest.raises(compiled.NotTemplatable):
        compiled.values_rows("float", _leads, [actor.organisation.pk, "a", 1.5])
