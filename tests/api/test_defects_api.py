"""/api/v1/defects/{id}: read, edit (If-Match), mark fixed and reopen, delete and restore;
the log lists open defects first; other organisations' defects are 404."""

import datetime as dt

import pytest
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.playbooks import defects
from salesline.playbooks.models import Defect
from salesline.playbooks.task_services import task_create


def detail_locs(response) -> list:
    return [tuple(d["loc"]) for d in response.json()["detail"]]


@pytest.fixture
def defect(actor):
    return defects.defect_create(
        actor=actor,
        data={"description": "Quote with last year's prices", "found_on": "2026-11-02"},
    )


def test_get_answers_the_defect_with_its_state_and_etag(api, defect):
    response = api.get(f"/defects/{defect.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == defect.pk and body["description"] == "Quote with last year's prices"
    assert (body["state"], body["fixed_on"], body["version"]) == ("open", None, 1)
    assert response["ETag"] == f'"{defect.pk}-1"'
    assert api.get("/defects/999999").status_code == 404


def test_patch_adds_cause_and_fix_later_and_marks_it_fixed(api, actor, defect, opportunity):
    task = task_create(actor=actor, title="Order 12", queue="customer_service")
    response = api.patch(
        f"/defects/{defect.pk}",
        {
            "cause": "The quote template pointed at the old price list",
            "fix": "Price list replaced",
            "fixed_on": "2026-11-05",
            "task_id": task.pk,
            "opportunity_id": opportunity.pk,
            "queue": "inside_sales",
        },
        HTTP_IF_MATCH=f'"{defect.pk}-1"',
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "fixed" and body["fixed_on"] == "2026-11-05"
    assert (body["task_id"], body["opportunity_id"], body["queue"]) == (
        task.pk,
        opportunity.pk,
        "inside_sales",
    )
    assert body["description"] == "Quote with last year's prices"  # not sent: unchanged
    assert body["version"] == 2 and response["ETag"] == f'"{defect.pk}-2"'
    event = AuditEvent.objects.get(action="update", object_type="defect")
    assert event.changes["fixed_on"] == [None, "2026-11-05"]
    assert event.changes["task_id"] == [None, task.pk]
    # Reopen it, clear the fix.
    reopened = api.patch(f"/defects/{defect.pk}", {"fixed_on": None, "fix": ""})
    assert reopened.status_code == 200
    assert (reopened.json()["state"], reopened.json()["fix"]) == ("open", "")


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(api, defect):
    api.patch(f"/defects/{defect.pk}", {"cause": "First"})
    stale = api.patch(
        f"/defects/{defect.pk}", {"cause": "Second"}, HTTP_IF_MATCH=f'"{defect.pk}-1"'
    )
    assert stale.status_code == 412
    assert Defect.objects.get(pk=defect.pk).cause == "First"


def test_patch_names_each_bad_field(api, actor, defect, other_actor):
    theirs = task_create(actor=other_actor, title="Theirs")
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    refused = api.patch(
        f"/defects/{defect.pk}",
        {"description": " ", "queue": "warehouse", "task_id": theirs.pk, "fixed_on": future},
    )
    assert refused.status_code == 422
    assert set(detail_locs(refused)) == {
        ("body", "description"),
        ("body", "queue"),
        ("body", "task_id"),
        ("body", "fixed_on"),
    }
    before = api.patch(f"/defects/{defect.pk}", {"fixed_on": "2026-11-01"})
    assert before.status_code == 422 and detail_locs(before) == [("body", "fixed_on")]
    assert "before the day it was found" in before.json()["detail"][0]["msg"]
    no_date = api.patch(f"/defects/{defect.pk}", {"found_on": None})
    assert no_date.status_code == 422 and detail_locs(no_date) == [("body", "found_on")]
    unknown = api.patch(f"/defects/{defect.pk}", {"severity": "high"})
    assert unknown.status_code == 422 and detail_locs(unknown) == [("body", "severity")]
    assert Defect.objects.get(pk=defect.pk).version == 1


def test_patch_that_changes_nothing_keeps_the_version(api, defect):
    same = api.patch(f"/defects/{defect.pk}", {"description": "Quote with last year's prices"})
    assert same.status_code == 200 and same.json()["version"] == 1
    assert not AuditEvent.objects.filter(action="update", object_type="defect").exists()


def test_delete_hides_it_and_restore_brings_it_back(api, defect):
    assert api.delete(f"/defects/{defect.pk}").status_code == 204
    assert api.get(f"/defects/{defect.pk}").status_code == 404
    assert api.patch(f"/defects/{defect.pk}", {"cause": "x"}).status_code == 404
    assert api.get("/defects").json()["count"] == 0
    deleted = api.get("/defects?deleted=true").json()
    assert [d["id"] for d in deleted["items"]] == [defect.pk]
    restored = api.post(f"/defects/{defect.pk}/restore")
    assert restored.status_code == 200, restored.content
    assert restored.json()["id"] == defect.pk
    assert api.get("/defects").json()["count"] == 1
    assert api.post(f"/defects/{defect.pk}/restore").status_code == 404  # not deleted
    actions = list(
        AuditEvent.objects.filter(object_type="defect", object_id=str(defect.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "delete", "restore"]


def test_other_organisations_defects_are_404(other_api, defect):
    assert other_api.get(f"/defects/{defect.pk}").status_code == 404
    assert other_api.patch(f"/defects/{defect.pk}", {"cause": "x"}).status_code == 404
    assert other_api.delete(f"/defects/{defect.pk}").status_code == 404
    assert other_api.post(f"/defects/{defect.pk}/restore").status_code == 404
    assert Defect.objects.get(pk=defect.pk).deleted_at is None


def test_the_log_lists_open_defects_first_and_filters_by_state(api, actor):
    old_open = defects.defect_create(
        actor=actor, data={"description": "A", "found_on": "2026-10-01"}
    )
    new_fixed = defects.defect_create(
        actor=actor,
        data={"description": "B", "found_on": "2026-11-10", "fixed_on": "2026-11-11"},
    )
    new_open = defects.defect_create(
        actor=actor, data={"description": "C", "found_on": "2026-11-12"}
    )
    listed = api.get("/defects").json()
    assert [d["id"] for d in listed["items"]] == [new_open.pk, old_open.pk, new_fixed.pk]
    assert [d["id"] for d in api.get("/defects?state=open").json()["items"]] == [
        new_open.pk,
        old_open.pk,
    ]
    assert [d["id"] for d in api.get("/defects?state=fixed").json()["items"]] == [new_fixed.pk]
    assert api.get("/defects?state=bogus").status_code == 422
