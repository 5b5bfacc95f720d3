"""Campaigns and the cost of business development: campaign services, time and expenses, first
touch attribution on conversion, a campaign for a whole import, and the campaign report with
hand-computed numbers."""

import datetime as dt
from decimal import Decimal

import pytest

from salesline.analytics import campaign_selectors, cost_selectors, cost_services
from salesline.analytics.campaign_figures import CampaignTally, figure_rows
from salesline.analytics.cost_models import CostEntry
from salesline.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.pipeline.conversion import lead_convert
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create
from salesline.records import campaign_services
from salesline.records.importing import services as imports
from salesline.records.models import Campaign, Lead
from salesline.records.services import record_create, record_delete
from tests.conftest import CONVERT_COMPANY, CONVERT_PERSON, LEAD
from tests.records.test_import import csv_bytes

UTC = dt.UTC


def locs(error) -> dict:
    return {problem.loc: problem.msg for problem in error.value.problems}


def campaign(actor, name, **fields):
    return campaign_services.campaign_create(actor=actor, data={"name": name, **fields})


def lead_in(actor, name, campaign=None, created=None, **fields):
    lead = record_create(
        actor=actor,
        kind="lead",
        data={
            **LEAD,
            "name": name,
            "email": f"{name.lower().replace(' ', '.')}@acme.no",
            "campaign_id": campaign.pk if campaign else None,
            **fields,
        },
    )
    if created:
        Lead.objects.filter(pk=lead.pk).update(created_at=created)
    return lead


def opportunity_in(actor, name, campaign=None, created=None, won=None, value=None, currency="EUR"):
    opportunity = opportunity_create(
        actor=actor,
        data={"name": name, "campaign_id": campaign.pk if campaign else None},
    )
    changes = {"currency": currency}
    if created:
        changes["created_at"] = created
    if won:
        changes.update(status="won", closed_at=won, value=Decimal(value))
    Opportunity.objects.filter(pk=opportunity.pk).update(**changes)
    return opportunity


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


# ---------------------------------------------------------------- campaign services


def test_a_campaign_is_created_audited_and_its_name_is_unique_ignoring_case(actor):
    expo = campaign(
        actor, "Archiving Expo 2026", kind="trade_show", cost="5000", starts_on="2026-03-10"
    )
    assert (expo.kind, expo.cost, expo.currency, expo.starts_on) == (
        "trade_show",
        Decimal("5000.00"),
        "EUR",
        dt.date(2026, 3, 10),
    )
    event = AuditEvent.objects.get(object_type="campaign", action="create")
    assert event.changes["name"] == [None, "Archiving Expo 2026"]
    with pytest.raises(Conflict) as error:
        campaign(actor, "archiving expo 2026")
    assert locs(error) == {("name",): "a campaign named 'archiving expo 2026' already exists"}


def test_every_problem_of_a_campaign_is_reported_at_once(actor):
    with pytest.raises(ValidationFailed) as error:
        campaign_services.campaign_create(
            actor=actor,
            data={
                "name": "",
                "kind": "billboard",
                "cost": "-3",
                "currency": "euros",
                "starts_on": "2026-05-01",
                "ends_on": "2026-04-01",
                "colour": "red",
            },
        )
    assert set(locs(error)) == {
        ("name",),
        ("kind",),
        ("cost",),
        ("currency",),
        ("ends_on",),
        ("colour",),
    }


def test_a_campaign_is_updated_with_its_version_deleted_and_restored(actor):
    expo = campaign(actor, "Expo")
    updated = campaign_services.campaign_update(
        actor=actor, campaign_id=expo.pk, data={"cost": "1200.5"}, expected_version=1
    )
    assert (updated.cost, updated.version) == (Decimal("1200.50"), 2)
    with pytest.raises(Exception) as stale:
        campaign_services.campaign_update(
            actor=actor, campaign_id=expo.pk, data={"cost": "1"}, expected_version=1
        )
    assert stale.value.status == 412
    campaign_services.campaign_delete(actor=actor, campaign_id=expo.pk)
    # Its name is free again while it is in the trash; restoring it then is refused.
    again = campaign(actor, "Expo")
    with pytest.raises(Conflict):
        campaign_services.campaign_restore(actor=actor, campaign_id=expo.pk)
    campaign_services.campaign_delete(actor=actor, campaign_id=again.pk)
    restored = campaign_services.campaign_restore(actor=actor, campaign_id=expo.pk)
    assert restored.deleted_at is None
    actions = list(
        AuditEvent.objects.filter(object_type="campaign", object_id=str(expo.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete", "restore"]


def test_another_organisations_campaign_is_not_found(actor, other_actor):
    theirs = campaign(other_actor, "Their expo")
    with pytest.raises(NotFound):
        campaign_services.campaign_update(actor=actor, campaign_id=theirs.pk, data={"cost": 1})
    with pytest.raises(ValidationFailed) as error:
        record_create(actor=actor, kind="lead", data={**LEAD, "campaign_id": theirs.pk})
    assert "refers to no campaign" in locs(error)[("campaign_id",)]


# ---------------------------------------------------------------- attribution


def test_conversion_credits_the_opportunity_to_the_leads_campaign_and_source(actor):
    expo = campaign(actor, "Expo")
    lead = lead_in(actor, "Kari Hansen", expo, source="Trade show")
    converted = lead_convert(
        actor=actor,
        lead_id=lead.pk,
        person=CONVERT_PERSON,
        company=CONVERT_COMPANY,
        pipeline="business-development",
    )
    opportunity = converted.converted_opportunity
    assert (opportunity.campaign_id, opportunity.source) == (expo.pk, "Trade show")
    # The lead keeps its first touch.
    assert Lead.objects.get(pk=lead.pk).campaign_id == expo.pk


def test_conversion_leaves_out_a_campaign_deleted_since(actor):
    expo = campaign(actor, "Expo")
    lead = lead_in(actor, "Kari Hansen", expo)
    campaign_services.campaign_delete(actor=actor, campaign_id=expo.pk)
    converted = lead_convert(
        actor=actor,
        lead_id=lead.pk,
        person=CONVERT_PERSON,
        company=CONVERT_COMPANY,
        pipeline="business-development",
    )
    assert converted.converted_opportunity.campaign_id is None


def test_an_import_credits_every_row_to_the_campaign_named_or_refuses_an_unknown_one(
    actor, org, tmp_path
):
    expo = campaign(actor, "Archiving Expo 2026")
    path = tmp_path / "fair.csv"
    path.write_bytes(
        csv_bytes(
            [["Ann Berg", "ann@piql.com", "Piql AS"], ["Cy Dahl", "cy@piql.com", "Lund AS"]],
            ["Full name", "E-mail", "Company"],
        )
    )
    constants = {"source": "Expo", "business_unit": "Nordics", "details": "Met at the stand"}

    def start(**more):
        return imports.import_start(
            actor=actor,
            kind="leads",
            file=path,
            file_name=path.name,
            inline=True,
            constants={**constants, **more},
        ).job

    with pytest.raises(ValidationFailed) as error:
        start(campaign="Nope Expo")
    assert locs(error) == {
        ("constants", "campaign"): "No campaign 'Nope Expo' in this organisation "
        "(campaigns: Archiving Expo 2026)."
    }
    job = start(campaign="archiving expo 2026")
    assert (job.created, job.constants["campaign_id"]) == (2, str(expo.pk))
    assert list(Lead.objects.filter(organisation=org).values_list("campaign_id", flat=True)) == [
        expo.pk,
        expo.pk,
    ]
    with pytest.raises(ValidationFailed):
        start(campaign_id=999_999)


# ---------------------------------------------------------------- costs


def test_time_is_costed_at_the_organisations_rate_copied_onto_the_entry(actor, admin_actor, lead):
    with pytest.raises(ValidationFailed) as error:
        cost_services.cost_entry_create(
            actor=actor, data={"kind": "time", "minutes": 90, "lead_id": lead.pk}
        )
    assert ("hourly_rate",) in locs(error)
    with pytest.raises(PermissionDenied):
        cost_services.cost_settings_update(actor=actor, data={"hourly_rate": "60"})
    cost_services.cost_settings_update(actor=admin_actor, data={"hourly_rate": "60"})
    entry = cost_services.cost_entry_create(
        actor=actor,
        data={"kind": "time", "minutes": 90, "lead_id": lead.pk, "date": "2026-03-12"},
    )
    # 90 minutes at 60 an hour.
    assert (entry.amount, entry.hourly_rate, entry.currency) == (
        Decimal("90.00"),
        Decimal("60.00"),
        "EUR",
    )
    cost_services.cost_settings_update(actor=admin_actor, data={"hourly_rate": "80"})
    entry.refresh_from_db()
    assert entry.amount == Decimal("90.00")  # a new rate never rewrites what was logged
    # 25 minutes at its own 73.50 an hour: 30.625, to the cent 30.63.
    own = cost_services.cost_entry_create(
        actor=actor,
        data={"kind": "time", "minutes": 25, "hourly_rate": "73.50", "lead_id": lead.pk},
    )
    assert own.amount == Decimal("30.63")


def test_an_expense_is_checked_whole_and_belongs_to_exactly_one_live_record(
    actor, lead, opportunity, other_actor
):
    with pytest.raises(ValidationFailed) as error:
        cost_services.cost_entry_create(
            actor=actor,
            data={
                "kind": "expense",
                "minutes": 10,
                "currency": "E",
                "lead_id": lead.pk,
                "opportunity_id": opportunity.pk,
            },
        )
    assert set(locs(error)) == {("minutes",), ("amount",), ("currency",), ("lead_id",)}
    theirs = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    with pytest.raises(NotFound):
        cost_services.cost_entry_create(
            actor=actor, data={"kind": "expense", "amount": "5", "opportunity_id": theirs.pk}
        )
    entry = cost_services.cost_entry_create(
        actor=actor,
        data={
            "kind": "expense",
            "amount": "412.40",
            "description": "Train to Oslo",
            "opportunity_id": opportunity.pk,
        },
    )
    assert (entry.amount, entry.person_id, entry.created_by_id) == (
        Decimal("412.40"),
        actor.user.pk,
        actor.user.pk,
    )
    totals = cost_selectors.cost_totals(
        cost_selectors.cost_entry_list(
            actor=actor, filters=cost_selectors.CostFilters(opportunity_id=opportunity.pk)
        )
    )
    assert [(t.currency, t.amount, t.minutes) for t in totals] == [("EUR", Decimal("412.40"), 0)]


def test_a_cost_is_deleted_by_its_author_or_an_admin_and_audited(actor, admin_actor, org, lead):
    from salesline.accounts import services as accounts

    colleague = accounts.actor_for(
        accounts.user_create(
            email="cy@piql.test", actor=accounts.system_actor(org), role="salesperson"
        ),
        org,
    )
    entry = cost_services.cost_entry_create(
        actor=actor, data={"kind": "expense", "amount": "20", "lead_id": lead.pk}
    )
    with pytest.raises(PermissionDenied):
        cost_services.cost_entry_delete(actor=colleague, cost_entry_id=entry.pk)
    cost_services.cost_entry_delete(actor=admin_actor, cost_entry_id=entry.pk)
    assert not CostEntry.objects.exists()
    event = AuditEvent.objects.get(object_type="costentry", action="delete")
    assert event.changes["amount"] == ["20.00", None]


# ---------------------------------------------------------------- the report


@pytest.fixture
def history(actor, admin_actor):
    """Two campaigns over March-April 2026, with leads, deals, time and expenses; what falls
    outside the period or is deleted is there to be left out."""
    cost_services.cost_settings_update(actor=admin_actor, data={"hourly_rate": "60"})
    expo = campaign(
        actor, "Archiving Expo 2026", kind="trade_show", cost="5000", starts_on="2026-03-10"
    )
    webinar = campaign(actor, "Spring webinar", kind="webinar", cost="300", starts_on="2026-04-02")
    gone = campaign(actor, "Cancelled mailing", kind="mailing", cost="700", starts_on="2026-03-01")
    campaign(actor, "Summer fair", cost="900", starts_on="2026-06-01")  # after the period
    expo_leads = [lead_in(actor, f"Expo {n}", expo, at("2026-03-1" + str(n))) for n in range(4)]
    lead_in(actor, "Expo early", expo, at("2026-02-20"))  # before the period
    lead_in(actor, "Webinar 1", webinar, at("2026-04-03"))
    lead_in(actor, "Webinar 2", webinar, at("2026-04-04"))
    plain = lead_in(actor, "Walk in", None, at("2026-03-20"))
    lead_in(actor, "Mailed", gone, at("2026-03-05"))
    deleted = lead_in(actor, "Expo deleted", expo, at("2026-03-15"))
    won = opportunity_in(
        actor, "Expo deal", expo, at("2026-03-20"), won=at("2026-04-15"), value="20000"
    )
    opportunity_in(actor, "Expo open", expo, at("2026-03-25"))
    webinar_deal = opportunity_in(
        actor,
        "Webinar deal",
        webinar,
        at("2026-04-05"),
        won=at("2026-04-28"),
        value="1000",
        currency="USD",
    )
    campaign_services.campaign_delete(actor=actor, campaign_id=gone.pk)

    def log(**data):
        cost_services.cost_entry_create(actor=actor, data=data)

    log(kind="time", minutes=90, lead_id=expo_leads[0].pk, date="2026-03-12")  # 90.00 EUR
    log(kind="expense", amount="410", opportunity_id=won.pk, date="2026-04-01")
    log(kind="expense", amount="999", opportunity_id=won.pk, date="2026-05-02")  # after
    log(kind="expense", amount="200", currency="USD", opportunity_id=webinar_deal.pk,
        date="2026-04-20")  # fmt: skip
    log(kind="expense", amount="50", lead_id=plain.pk, date="2026-03-21")
    log(kind="expense", amount="75", lead_id=deleted.pk, date="2026-03-16")
    record_delete(actor=actor, kind="lead", record_id=deleted.pk)  # it and its cost leave
    return expo, webinar


def test_the_campaign_report_matches_the_hand_computed_figures(actor, history):
    expo, webinar = history
    rows, totals = campaign_selectors.campaign_report_with_totals(
        actor=actor, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 4, 30)
    )
    figures = [
        (
            row["name"],
            row["currency"],
            row["cost"],
            row["leads"],
            row["opportunities"],
            row["won"],
            row["won_value"],
            row["cost_per_lead"],
            row["cost_per_opportunity"],
            row["cost_per_won"],
            row["return"],
        )
        for row in rows
    ]
    D = Decimal
    assert figures == [
        # 5000 own + 90 time + 410 travel = 5500; (20000 - 5500) / 5500 = 2.6364
        ("Spring webinar", "EUR", D("300.00"), 2, 1, 1, D("0.00"), D("150.00"), D("300.00"),
         D("300.00"), -1.0),
        ("Spring webinar", "USD", D("200.00"), 2, 1, 1, D("1000.00"), D("100.00"), D("200.00"),
         D("200.00"), 4.0),
        ("Archiving Expo 2026", "EUR", D("5500.00"), 4, 2, 1, D("20000.00"), D("1375.00"),
         D("2750.00"), D("5500.00"), 2.6364),
        ("No campaign", "EUR", D("50.00"), 1, 0, 0, D("0.00"), D("50.00"), None, None, -1.0),
    ]  # fmt: skip
    assert [row["campaign_id"] for row in rows] == [webinar.pk, webinar.pk, expo.pk, None]
    # Everything: EUR 5500 + 300 + 50 = 5850 over 7 leads, 3 opportunities, 2 wins.
    assert [
        (
            t["currency"],
            t["cost"],
            t["leads"],
            t["opportunities"],
            t["won"],
            t["won_value"],
            t["cost_per_lead"],
            t["cost_per_opportunity"],
            t["cost_per_won"],
            t["return"],
        )
        for t in totals
    ] == [
        ("EUR", D("5850.00"), 7, 3, 2, D("20000.00"), D("835.71"), D("1950.00"), D("2925.00"),
         2.4188),
        ("USD", D("200.00"), 7, 3, 2, D("1000.00"), D("28.57"), D("66.67"), D("100.00"), 4.0),
    ]  # fmt: skip


def test_a_period_without_anything_lists_only_the_campaigns_running_in_it(actor, history):
    rows = campaign_selectors.campaign_report(
        actor=actor, date_from=dt.date(2026, 6, 1), date_to=dt.date(2026, 6, 30)
    )
    assert [(row["name"], row["cost"], row["cost_per_lead"], row["return"]) for row in rows] == [
        ("Summer fair", Decimal("900.00"), None, -1.0)
    ]
    assert (
        campaign_selectors.campaign_report(
            actor=actor, date_from=dt.date(2020, 1, 1), date_to=dt.date(2020, 1, 31)
        )
        == []
    )


def test_figures_are_null_where_nothing_divides():
    (row,) = figure_rows(CampaignTally(), "EUR")
    assert (row["cost"], row["cost_per_lead"], row["cost_per_won"], row["return"]) == (
        Decimal("0.00"),
        None,
        None,
        None,
    )


def test_another_organisations_campaigns_never_show(actor, other_actor, history):
    assert campaign_selectors.campaign_report(actor=other_actor) == []


def test_campaign_model_default_kind(actor):
    assert campaign(actor, "Plain").kind == Campaign.Kind.OTHER
