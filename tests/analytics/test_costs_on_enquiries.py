"""Time and expenses logged on network enquiries: a member organisation logs what network duty
costs it on an enquiry of its network (the enquiry itself is in the network's books); a
non-member's organisation gets 404; exactly one of lead, opportunity and enquiry; the list's
filter; the report's "Network enquiries" row; the enquiry page's panel."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from salesline.analytics import campaign_selectors, cost_selectors, cost_services
from salesline.analytics.cost_models import CostEntry
from salesline.core import measures
from salesline.core.errors import NotFound, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.enquiries.intake import enquiry_receive
from salesline.pipeline.services import opportunity_create
from salesline.records.services import record_create
from tests.conftest import LEAD
from tests.enquiries.conftest import world  # noqa: F401 (the network of three co-operatives)


def locs(error) -> set:
    return {problem.loc for problem in error.value.problems}


@pytest.fixture
def enquiry(world):  # noqa: F811
    return enquiry_receive(
        network=world.network,
        data={"name": "Zoe Client", "email": "zoe@client.test", "message": "A new website"},
        source="form",
    )


def log(member, enquiry, **data):
    return cost_services.cost_entry_create(
        actor=member.actor, data={"enquiry_id": enquiry.pk, **data}
    )


def test_a_member_logs_time_and_an_expense_on_an_enquiry_of_its_network(world, enquiry):  # noqa: F811
    time = log(
        world.webarch,
        enquiry,
        kind="time",
        minutes=90,
        hourly_rate="60",
        date="2026-03-02",
        description="First call",
    )
    expense = log(world.webarch, enquiry, kind="expense", amount="35.50", date="2026-03-03")
    # The entry is the member's (what network duty costs it), not the network's books'.
    assert enquiry.network.organisation_id != world.webarch.org.pk
    assert {time.organisation_id, expense.organisation_id} == {world.webarch.org.pk}
    assert (time.enquiry_id, time.enquiry_reference, time.amount) == (
        enquiry.pk,
        enquiry.reference,
        Decimal("90.00"),
    )
    assert (time.lead_id, time.opportunity_id) == (None, None)
    event = AuditEvent.objects.get(object_type="costentry", object_id=str(expense.pk))
    assert (event.organisation_id, event.action) == (world.webarch.org.pk, "create")
    assert event.changes["enquiry_id"] == [None, enquiry.pk]
    assert event.changes["enquiry_reference"] == [None, enquiry.reference]
    rows = cost_selectors.cost_entry_list(
        actor=world.webarch.actor, filters=cost_selectors.CostFilters(enquiry_id=enquiry.pk)
    )
    assert list(rows) == [expense, time]
    totals = cost_selectors.cost_totals(rows)
    assert [(t.currency, t.amount, t.minutes) for t in totals] == [("EUR", Decimal("125.50"), 90)]
    # Another member sees the enquiry but not Webarchitects' costs; it logs its own.
    assert not cost_selectors.cost_entry_list(actor=world.outlandish.actor).exists()
    log(world.outlandish, enquiry, kind="expense", amount="10")
    assert cost_selectors.cost_entry_list(actor=world.outlandish.actor).count() == 1
    assert cost_selectors.cost_entry_list(actor=world.webarch.actor).count() == 2


def test_an_organisation_outside_the_network_gets_404(world, enquiry):  # noqa: F811
    # What the enquiries app tells analytics through the read-side seam.
    seen = {"id": enquiry.pk, "reference": enquiry.reference, "network": world.network.slug}
    assert (
        measures.measure("visible_enquiry", actor=world.coordinator.actor, enquiry_id=enquiry.pk)
        == seen
    )
    assert (
        measures.measure("visible_enquiry", actor=world.outsider.actor, enquiry_id=enquiry.pk)
        is None
    )
    with pytest.raises(NotFound):
        log(world.outsider, enquiry, kind="expense", amount="10")
    with pytest.raises(NotFound):
        cost_services.cost_entry_create(
            actor=world.webarch.actor,
            data={"kind": "expense", "amount": "10", "enquiry_id": enquiry.pk + 1000},
        )
    assert not CostEntry.objects.exists()


def test_a_cost_is_on_exactly_one_of_lead_opportunity_and_enquiry(world, enquiry):  # noqa: F811
    actor = world.webarch.actor
    lead = record_create(actor=actor, kind="lead", data=LEAD)
    opportunity = opportunity_create(actor=actor, data={"name": "Site rebuild"})
    for other in ({"lead_id": lead.pk}, {"opportunity_id": opportunity.pk}):
        with pytest.raises(ValidationFailed) as error:
            log(world.webarch, enquiry, kind="expense", amount="5", **other)
        assert locs(error) == {("enquiry_id",)}
    with pytest.raises(ValidationFailed) as error:
        log(world.webarch, enquiry, kind="expense", amount="5", enquiry_id="x")
    assert locs(error) == {("enquiry_id",)}
    assert not CostEntry.objects.exists()
    # The database refuses an entry on two targets, whatever writes it.
    with pytest.raises(IntegrityError), transaction.atomic():
        CostEntry.objects.create(
            organisation=world.webarch.org,
            kind="expense",
            amount=Decimal("1"),
            currency="EUR",
            date=dt.date(2026, 3, 1),
            lead=lead,
            enquiry_id=enquiry.pk,
        )


def test_the_campaign_report_shows_enquiry_costs_as_their_own_row(world, enquiry):  # noqa: F811
    actor = world.webarch.actor
    lead = record_create(actor=actor, kind="lead", data=LEAD)
    cost_services.cost_entry_create(
        actor=actor, data={"kind": "expense", "amount": "100", "lead_id": lead.pk}
    )
    before = campaign_selectors.campaign_report_with_totals(actor=actor)
    log(world.webarch, enquiry, kind="time", minutes=120, hourly_rate="50")
    rows, totals = campaign_selectors.campaign_report_with_totals(actor=actor)
    # The unattributed lead's row (cost per lead 100) is as it was; the enquiry's 100 is apart.
    assert rows[0] == before[0][0]
    assert (rows[0]["name"], rows[0]["cost"], rows[0]["cost_per_lead"]) == (
        "No campaign",
        Decimal("100.00"),
        Decimal("100.00"),
    )
    enquiries = rows[1]
    assert (enquiries["name"], enquiries["kind"], enquiries["campaign_id"]) == (
        "Network enquiries",
        "network_enquiries",
        None,
    )
    assert (enquiries["cost"], enquiries["leads"], enquiries["cost_per_lead"]) == (
        Decimal("100.00"),
        0,
        None,
    )
    assert len(rows) == 2
    # The totals are of everything the organisation spent: 100 on the lead + 100 on duty.
    assert (totals[0]["cost"], totals[0]["leads"], totals[0]["cost_per_lead"]) == (
        Decimal("200.00"),
        1,
        Decimal("200.00"),
    )
    # Out of the period, the enquiry's row goes.
    rows, _ = campaign_selectors.campaign_report_with_totals(
        actor=actor, date_from=dt.date(2000, 1, 1), date_to=dt.date(2000, 1, 2)
    )
    assert rows == []


def _client(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def test_the_enquiry_page_shows_and_logs_the_members_time_and_expenses(world, enquiry):  # noqa: F811
    url = reverse("web:network_enquiry", args=[world.network.slug, enquiry.pk])
    client = _client(world.webarch)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Time and expenses" in html
    assert "No time or expenses logged on this enquiry yet." in html
    assert f'name="enquiry_id" value="{enquiry.pk}"' in html
    response = client.post(
        reverse("web:cost-add"),
        {
            "enquiry_id": str(enquiry.pk),
            "kind": "time",
            "hours": "1.5",
            "minutes": "",
            "amount": "",
            "currency": "EUR",
            "date": "2026-03-02",
            "description": "Call with Zoe",
            "next": url,
        },
    )
    # The rate: the organisation has none, so the time is refused, naming what is missing.
    assert response.status_code == 302 and response["Location"] == f"{url}#costs"
    assert not CostEntry.objects.exists()
    response = client.post(
        reverse("web:cost-add"),
        {"enquiry_id": str(enquiry.pk), "kind": "expense", "amount": "42.10", "next": url},
    )
    assert response.status_code == 302
    entry = CostEntry.objects.get()
    assert (entry.organisation_id, entry.enquiry_id, entry.amount) == (
        world.webarch.org.pk,
        enquiry.pk,
        Decimal("42.10"),
    )
    html = client.get(url).content.decode()
    assert "42.10" in html
    assert "No time or expenses logged" not in html
    # Another member sees the enquiry, but not Webarchitects' costs.
    other = _client(world.outlandish).get(url).content.decode()
    assert "No time or expenses logged on this enquiry yet." in other
    # An organisation outside the network cannot log on it.
    response = _client(world.outsider).post(
        reverse("web:cost-add"),
        {"enquiry_id": str(enquiry.pk), "kind": "expense", "amount": "1", "next": url},
    )
    assert response.status_code == 404
    assert CostEntry.objects.count() == 1
