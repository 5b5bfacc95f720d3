"""The rota's bounds and edits: dates outside the rota's window are refused naming the field
(never a 500), periods are changed (PATCH) and removed (DELETE) by the coordinator under the
same overlap and gap rules, the rota page's change and remove buttons (with a confirmation, no
JavaScript), and which network the rota is about when an organisation is in several."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesline.core.models import AuditEvent
from salesline.enquiries.models import RotaPeriod
from salesline.enquiries.network_services import network_add_member, network_create
from salesline.enquiries.rota import (
    Period,
    change_problems,
    default_end,
    removal_problems,
    successor,
)


def _post(member, org, person, starts_on, ends_on=None, **extra):
    body = {"org": org.slug, "person": person.email, "starts_on": starts_on, **extra}
    if ends_on is not None:
        body["ends_on"] = ends_on
    return member.api.post("/rota", body)


def _period(world, member, starts_on, ends_on):
    return RotaPeriod.objects.create(
        network=world.network,
        organisation=member.org,
        person=member.user,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def _msgs(response):
    return [problem["msg"] for problem in response.json()["detail"]]


def _locs(response):
    return [problem["loc"][-1] for problem in response.json()["detail"]]


@pytest.fixture
def three(world):
    """Three consecutive quarters of 2027: Webarchitects, Outlandish, Agile."""
    return [
        _period(world, world.webarch, date(2027, 1, 1), date(2027, 3, 31)),
        _period(world, world.outlandish, date(2027, 4, 1), date(2027, 6, 30)),
        _period(world, world.agile, date(2027, 7, 1), date(2027, 9, 30)),
    ]


# ------------------------------------------------------------------------- bounds


def test_a_start_in_year_9999_is_422_naming_starts_on_not_a_500(world):
    response = _post(world.coordinator, world.webarch.org, world.webarch.user, "9999-12-01")
    assert response.status_code == 422, response.content
    assert "starts_on" in _locs(response)
    assert any("outside the rota's dates" in msg for msg in _msgs(response))
    assert RotaPeriod.objects.count() == 0


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field"),
    [
        ("2027-01-01", "9999-12-31", "ends_on"),
        ("1999-12-31", "2000-03-31", "starts_on"),
        ("0202-01-01", "2027-03-31", "starts_on"),
        ("2100-12-01", "2101-01-01", "ends_on"),
    ],
)
def test_dates_outside_the_window_are_refused_naming_the_field(world, starts_on, ends_on, field):
    response = _post(world.coordinator, world.webarch.org, world.webarch.user, starts_on, ends_on)
    assert response.status_code == 422, response.content
    assert field in _locs(response)
    assert RotaPeriod.objects.count() == 0


def test_a_default_end_past_the_window_is_refused_naming_the_start(world):
    response = _post(world.coordinator, world.webarch.org, world.webarch.user, "2100-12-01")
    assert response.status_code == 422
    assert _locs(response) == ["starts_on"]
    ok = _post(world.coordinator, world.webarch.org, world.webarch.user, "2100-10-01")
    assert ok.status_code == 201
    assert ok.json()["ends_on"] == "2100-12-31"


def test_the_rota_page_and_acknowledge_survive_a_period_ending_at_the_end_of_time(world):
    """Rows written before the window existed (or by hand) must not break the pages."""
    period = _period(world, world.webarch, date(2027, 1, 1), date.max)
    period.handover_notes = "Notes"
    period.handover_written_at = timezone.now()
    period.save()
    client = Client()
    client.force_login(world.coordinator.user)
    page = client.get(reverse("web:network_rota", args=["cotech"]))
    assert page.status_code == 200
    assert world.webarch.api.get("/rota/current").status_code == 200
    response = world.outlandish.api.post(f"/rota/{period.pk}/acknowledge")
    assert response.status_code == 403  # nobody comes after it: not the incoming chair
    assert (
        successor([Period(date(2027, 1, 1), date.max, id=1)], Period(date(2027, 1, 1), date.max))
        is None
    )


def test_pure_default_end_never_overflows():
    assert default_end(date(9999, 12, 1), 3) == date.max
    assert default_end(date(2027, 1, 1), 3) == date(2027, 3, 31)


# ------------------------------------------------------------------------- PATCH


def test_the_coordinator_changes_the_person(world, three):
    colleague_email = "ben@webarch.test"
    from salesline.accounts import services as accounts

    accounts.user_create(
        email=colleague_email, actor=accounts.system_actor(world.webarch.org), role="salesperson"
    )
    response = world.coordinator.api.patch(f"/rota/{three[0].pk}", {"person": colleague_email})
    assert response.status_code == 200, response.content
    assert response.json()["person"] == colleague_email
    event = AuditEvent.objects.get(
        organisation=world.network.organisation, object_type="rotaperiod", action="update"
    )
    assert event.changes["person"] == ["bob@webarch.test", colleague_email]
    # Somebody of another organisation cannot be put on Webarchitects' period.
    wrong = world.coordinator.api.patch(f"/rota/{three[0].pk}", {"person": "cat@outlandish.test"})
    assert wrong.status_code == 422
    assert _locs(wrong) == ["person"]


def test_only_the_rotas_ends_move_alone_and_a_gap_or_overlap_is_422(world, three):
    api = world.coordinator.api
    # The last period's end moves freely.
    moved = api.patch(f"/rota/{three[2].pk}", {"ends_on": "2027-12-31"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["ends_on"] == "2027-12-31"
    # The first period's start moves freely too.
    assert api.patch(f"/rota/{three[0].pk}", {"starts_on": "2026-10-01"}).status_code == 200
    # Shortening a middle period leaves a gap: 422 naming it.
    gap = api.patch(f"/rota/{three[1].pk}", {"ends_on": "2027-06-15"})
    assert gap.status_code == 422
    assert any("gap between" in msg for msg in _msgs(gap))
    # Lengthening it overlaps the next one.
    overlap = api.patch(f"/rota/{three[1].pk}", {"ends_on": "2027-07-15"})
    assert overlap.status_code == 422
    assert any("overlaps the period 2027-07-01" in msg for msg in _msgs(overlap))
    # Backwards, and out of the window.
    assert api.patch(f"/rota/{three[1].pk}", {"ends_on": "2027-03-01"}).status_code == 422
    far = api.patch(f"/rota/{three[2].pk}", {"ends_on": "9999-12-31"})
    assert far.status_code == 422 and _locs(far) == ["ends_on"]
    three[1].refresh_from_db()
    assert three[1].ends_on == date(2027, 6, 30)


def test_moving_a_boundary_takes_both_neighbours_in_two_steps(world, three):
    api = world.coordinator.api
    # Remove the last, then the middle one can end later, then the last is added back.
    assert api.delete(f"/rota/{three[2].pk}").status_code == 204
    assert api.patch(f"/rota/{three[1].pk}", {"ends_on": "2027-07-31"}).status_code == 200
    again = _post(world.coordinator, world.agile.org, world.agile.user, "2027-08-01")
    assert again.status_code == 201


def test_only_the_coordinator_edits_and_outsiders_get_404(world, three):
    path = f"/rota/{three[0].pk}"
    assert world.webarch.api.patch(path, {"ends_on": "2027-03-30"}).status_code == 403
    assert world.webarch.api.delete(path).status_code == 403
    assert world.outsider.api.patch(path, {"ends_on": "2027-03-30"}).status_code == 404
    assert world.outsider.api.delete(path).status_code == 404
    assert world.coordinator.api.patch("/rota/999999", {"ends_on": "2027-03-30"}).status_code == 404


# ------------------------------------------------------------------------- DELETE


def test_removing_a_middle_period_is_refused_and_the_last_one_is_allowed(world, three):
    api = world.coordinator.api
    middle = api.delete(f"/rota/{three[1].pk}")
    assert middle.status_code == 409
    assert (
        "gap" in middle.json()["detail"][0]["msg"]
        if isinstance(middle.json().get("detail"), list)
        else "gap" in str(middle.json())
    )
    assert api.delete(f"/rota/{three[2].pk}").status_code == 204
    assert list(RotaPeriod.objects.values_list("pk", flat=True).order_by("starts_on")) == [
        three[0].pk,
        three[1].pk,
    ]
    event = AuditEvent.objects.get(
        organisation=world.network.organisation, object_type="rotaperiod", action="delete"
    )
    assert event.changes["starts_on"] == ["2027-07-01", None]
    assert world.webarch.api.get(f"/rota/{three[2].pk}/acknowledge").status_code in (404, 405)


def test_a_started_period_stays_unless_it_is_the_last(world):
    today = timezone.localdate()
    started = _period(world, world.webarch, today - timedelta(days=10), today + timedelta(days=10))
    later = _period(world, world.outlandish, today + timedelta(days=11), today + timedelta(days=40))
    api = world.coordinator.api
    refused = api.delete(f"/rota/{started.pk}")
    assert refused.status_code == 409
    assert "has started" in str(refused.json())
    # The first period, not started yet, of a rota may go (it leaves no gap between two).
    assert api.delete(f"/rota/{later.pk}").status_code == 204
    # Now the started one is the last: it may go.
    assert api.delete(f"/rota/{started.pk}").status_code == 204
    assert RotaPeriod.objects.count() == 0


def test_pure_change_and_removal_rules():
    a = Period(date(2027, 1, 1), date(2027, 3, 31), "A", 1)
    b = Period(date(2027, 4, 1), date(2027, 6, 30), "B", 2)
    c = Period(date(2027, 7, 1), date(2027, 9, 30), "C", 3)
    rota = [a, b, c]
    assert change_problems(Period(date(2027, 4, 1), date(2027, 6, 29), "B", 2), rota)
    assert not change_problems(Period(date(2027, 7, 1), date(2028, 1, 31), "C", 3), rota)
    assert removal_problems(b, rota, date(2026, 1, 1))
    assert not removal_problems(c, rota, date(2027, 8, 1))  # started, but the last
    assert not removal_problems(a, rota, date(2026, 1, 1))  # not started, first
    assert removal_problems(a, rota, date(2027, 2, 1))  # started, not the last


# ------------------------------------------------------------------------- the page


def test_the_rota_page_changes_and_removes_with_a_confirmation(world, three):
    client = Client()
    client.force_login(world.coordinator.user)
    url = reverse("web:network_rota", args=["cotech"])
    page = client.get(url)
    assert b"Change the period" in page.content and b"Remove the period" in page.content
    changed = client.post(
        url,
        {"action": "update", "period": three[2].pk, "ends_on": "2027-10-31"},
        follow=True,
    )
    assert changed.status_code == 200
    three[2].refresh_from_db()
    assert three[2].ends_on == date(2027, 10, 31)
    refused = client.post(url, {"action": "update", "period": three[1].pk, "ends_on": "2027-06-01"})
    assert refused.status_code == 422
    assert b"gap between" in refused.content
    middle = client.post(url, {"action": "delete", "period": three[1].pk})
    assert middle.status_code == 409
    assert b"would leave a gap" in middle.content
    confirm = client.get(f"{url}?remove={three[2].pk}")
    assert b"Yes, remove the period" in confirm.content
    assert RotaPeriod.objects.filter(pk=three[2].pk).exists()  # asking removes nothing
    client.post(url, {"action": "delete", "period": three[2].pk})
    assert not RotaPeriod.objects.filter(pk=three[2].pk).exists()
    # A member who is not the coordinator sees no buttons and cannot post them.
    member = Client()
    member.force_login(world.webarch.user)
    assert b"Change the period" not in member.get(url).content
    assert b"Yes, remove" not in member.get(f"{url}?remove={three[0].pk}").content
    assert member.post(url, {"action": "delete", "period": three[1].pk}).status_code == 403


def test_the_page_refuses_a_far_start_naming_it(world):
    client = Client()
    client.force_login(world.coordinator.user)
    url = reverse("web:network_rota", args=["cotech"])
    response = client.post(
        url,
        {
            "action": "add",
            "org": world.webarch.org.slug,
            "person": "bob@webarch.test",
            "starts_on": "9999-12-01",
        },
    )
    assert response.status_code == 422
    assert b"outside the rota" in response.content


# ------------------------------------------------------------------------- several networks


@pytest.fixture
def second_network(world):
    """Agile is in a second network too, coordinated by someone else."""
    from salesline.accounts import services as accounts
    from salesline.process import services as process_services

    other_home = process_services.organisation_create(name="Other Home", template="partnerships")
    accounts.user_create(
        email="zed@other.test", actor=accounts.system_actor(other_home), role="admin"
    )
    network = network_create(
        name="Second Net", coordinator_email="zed@other.test", org_slug=other_home.slug
    )
    network_add_member(network_slug=network.slug, org_slug=world.agile.org.slug)
    return network


def test_the_rota_picks_the_one_network_the_caller_coordinates(world, second_network):
    listed = world.coordinator.api.get("/rota")
    assert listed.status_code == 200
    created = _post(world.coordinator, world.webarch.org, world.webarch.user, "2027-01-01")
    assert created.status_code == 201, created.content
    assert created.json()["network"] == "cotech"
    assert world.coordinator.api.get("/rota/current").json()["network"] == "cotech"
    # Ann of Agile coordinates neither: she must name one.
    ambiguous = world.agile.api.get("/rota")
    assert ambiguous.status_code == 422
    assert world.agile.api.get(f"/rota?network={second_network.slug}").status_code == 200
    # Naming the other network is honoured (and the coordinator may not add there).
    other = _post(
        world.coordinator,
        world.agile.org,
        world.agile.user,
        "2027-01-01",
        network=second_network.slug,
    )
    assert other.status_code == 403
