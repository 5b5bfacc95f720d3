"""The demo data: three organisations, seeded counts, gates met, a year of monotonic history."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.validators import validate_email
from django.test import Client
from django.utils import timezone

from salesline import demo, demo_network
from salesline.accounts.models import Membership, Organisation
from salesline.accounts.services import system_actor
from salesline.analytics.forecast_selectors import forecast_accuracy
from salesline.analytics.forecast_services import week_start
from salesline.analytics.models import ForecastSnapshot
from salesline.core.errors import Conflict
from salesline.core.models import AuditEvent
from salesline.pipeline.definition import pipelines_of
from salesline.pipeline.facts import fact_values
from salesline.pipeline.gates import MoveFacts, evaluate_move, is_blank
from salesline.pipeline.models import ChecklistTick, Opportunity, StageChange
from salesline.process.selectors import definition_for
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.matching import company_match_name, fold, search_key
from salesline.records.models import Company, Lead, Note, Person
from salesline.records.selectors import record_list
from salesline.records.services import search_text_of

TEMPLATES = {
    "Piql Archive": "business-development",
    "2i2c Partnerships": "partnerships",
    "CoTech Network": "network-enquiries",
}
# Seeded, so exact: (companies, people, leads, opportunities, notes) per organisation. Piql's
# leads include the 24 its demo import creates.
COUNTS = {
    "Piql Archive": (120, 300, 624, 182, 150),
    "2i2c Partnerships": (40, 100, 200, 64, 50),
    "CoTech Network": (40, 100, 200 + 1, 60, 50),
}
# The network's feasible sales enquiry, triaged into its pipeline by the demo (demo_network).
NETWORK_LEADS = 1
# The deals the demo then works through the services (playbooks at work), beyond the plan's.
WORKED = {
    "Piql Archive": len(demo.ARCHIVE_DEALS),
    "2i2c Partnerships": len(demo.PARTNERSHIP_DEALS),
    "CoTech Network": 0,
}


def _planned_opportunities():
    """The opportunities the plan wrote in bulk (the worked ones were created by the service,
    which audits each creation)."""
    worked = AuditEvent.objects.filter(action="create", object_type="opportunity").values_list(
        "object_id", flat=True
    )
    return Opportunity.objects.exclude(pk__in=[int(pk) for pk in worked])


@pytest.fixture
def summary(db):
    return demo.load_demo()


def _demo_organisations():
    """The demo's three organisations (the network's member co-operatives are demo_network's)."""
    return Organisation.objects.filter(name__in=TEMPLATES)


def _count(model, organisation) -> int:
    return model.objects.filter(organisation=organisation).count()


def test_three_organisations_on_the_three_templates_with_exact_counts(summary):
    assert summary.organisations == ("piql-archive", "2i2c-partnerships", "cotech-network")
    for name, template in TEMPLATES.items():
        organisation = Organisation.objects.get(name=name)
        assert organisation.template == template
        assert pipelines_of(definition_for(organisation))[0].key == template
        counts = tuple(
            _count(model, organisation) for model in (Company, Person, Lead, Opportunity, Note)
        )
        assert counts == COUNTS[name]
        roles = set(
            Membership.objects.filter(organisation=organisation).values_list("role", flat=True)
        )
        # The division of labour: coordinators, and the queues' customer service, inside sales
        # and the special-projects coordinator inside sales escalates complex jobs to.
        assert roles == {
            "admin",
            "salesperson",
            "sales_coordinator",
            "customer_service",
            "inside_sales",
            "special_projects_coordinator",
        }
        event = AuditEvent.objects.get(organisation=organisation, action="demo.load")
        assert event.changes["opportunities"] == [0, COUNTS[name][3] - WORKED[name]]
        assert event.changes["leads"] == [
            0,
            COUNTS[name][2] - {"Piql Archive": 24, "CoTech Network": NETWORK_LEADS}.get(name, 0),
        ]
    assert (summary.companies, summary.people, summary.leads, summary.opportunities) == (
        200,
        500,
        1000,
        300,
    )
    assert summary.notes == Note.objects.count() == 250
    assert summary.converted_leads == Lead.objects.exclude(converted_at=None).count() == 120
    planned = _planned_opportunities()
    assert summary.stage_changes == StageChange.objects.filter(opportunity__in=planned).count()
    assert summary.checklist_ticks == ChecklistTick.objects.filter(opportunity__in=planned).count()
    assert AuditEvent.objects.filter(action="demo.load").count() == 3


def test_the_demo_login_and_token_work(summary):
    client = Client()
    signed_in = client.post(
        "/login/", {"username": summary.login_email, "password": summary.login_password}
    )
    assert signed_in.status_code == 302 and client.get("/").status_code == 200
    api = Client(HTTP_AUTHORIZATION=f"Bearer {summary.token}")
    response = api.get("/api/v1/companies")
    assert response.status_code == 200
    piql = Organisation.objects.get(slug="piql-archive")
    assert {c["id"] for c in response.json()["items"]} <= set(
        Company.objects.filter(organisation=piql).values_list("id", flat=True)
    )


def test_every_opportunity_meets_the_gates_of_every_stage_it_entered(summary):
    for organisation in _demo_organisations():
        spec = definition_for(organisation)
        stages = pipelines_of(spec)[0].stages
        opportunities = Opportunity.objects.filter(organisation=organisation).select_related(
            "stage"
        )
        ticks: dict[int, set[str]] = {}
        for opportunity_id, item in ChecklistTick.objects.filter(
            organisation=organisation
        ).values_list("opportunity_id", "item"):
            ticks.setdefault(opportunity_id, set()).add(item)
        history: dict[int, list[StageChange]] = {}
        for change in StageChange.objects.filter(organisation=organisation).order_by("at", "id"):
            history.setdefault(change.opportunity_id, []).append(change)
        # Every stage of the pipeline holds opportunities, closed ones included.
        assert {o.stage.key for o in opportunities} == {s.key for s in stages}
        for opportunity in opportunities:
            fields = {
                name: getattr(opportunity, field.attr)
                for name, field in KINDS["opportunity"].fields.items()
            }
            fields.update(opportunity.custom_fields)
            fields.update(fact_values(opportunity, stages))  # the signed agreement
            facts = MoveFacts(
                fields=fields,
                ticked=frozenset(ticks.get(opportunity.pk, ())),
                reason=opportunity.close_reason,
            )
            assert evaluate_move(stages, None, opportunity.stage.key, facts) == [], opportunity
            for change in history[opportunity.pk]:
                unmet = evaluate_move(stages, change.from_stage or None, change.to_stage, facts)
                assert unmet == [], (opportunity.name, change)
            if opportunity.stage.kind == "open":
                assert opportunity.status == "open"
                assert opportunity.closed_at is None
            else:
                assert opportunity.status == opportunity.stage.kind
                assert opportunity.closed_at == history[opportunity.pk][-1].at


def test_stage_history_is_a_year_long_chain_ending_in_the_current_stage(summary):
    now = timezone.now()
    history: dict[int, list[StageChange]] = {}
    for change in StageChange.objects.order_by("at", "id"):
        history.setdefault(change.opportunity_id, []).append(change)
    assert set(history) == set(Opportunity.objects.values_list("pk", flat=True))
    # The plan's history (the deals worked through the services were created today).
    opportunities = _planned_opportunities().select_related("stage")
    first_moves = []
    for opportunity in opportunities:
        changes = history[opportunity.pk]
        assert changes[0].from_stage == ""
        assert changes[0].at == opportunity.created_at
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_stage == before.to_stage
            assert after.from_stage_kind == before.to_stage_kind
            assert after.at > before.at
        # The columns the flow metrics read, as the services write them.
        for change in changes:
            assert change.opportunity_ref == opportunity.pk
            assert change.to_pipeline_key == opportunity.pipeline.key
        assert changes[-1].to_stage_kind == opportunity.stage.kind
        assert changes[-1].to_stage == opportunity.stage.key
        assert changes[-1].at == opportunity.stage_entered_at
        assert now - timedelta(days=365) <= changes[0].at <= changes[-1].at <= now
        closed = opportunity.stage.kind != "open"
        assert bool(changes[-1].reason) == closed
        first_moves.append(changes[0].at)
    # Spread over the year, not bunched: every quarter has opportunities starting in it.
    quarters = Counter(int((now - at).days // 91.25) for at in first_moves)
    assert set(quarters) >= {0, 1, 2, 3}


def test_records_are_valid_and_searchable_as_the_services_would_leave_them(summary):
    for organisation in Organisation.objects.all():
        minimum = definition_for(organisation).minimum_fields
        for kind in ("company", "person", "lead", "opportunity"):
            fields = KINDS[kind].fields
            for record in KINDS[kind].model.objects.filter(organisation=organisation):
                missing = [
                    name for name in minimum[kind] if is_blank(getattr(record, fields[name].attr))
                ]
                assert missing == [], (kind, record.name)
                assert record.search_name == search_key(record.name)
                assert record.search_text == search_text_of(record)
                if kind == "company":
                    assert record.match_name == company_match_name(record.name)
                email = getattr(record, "email", "")
                if email:
                    validate_email(email)
    names = list(Person.objects.values_list("name", flat=True))
    assert any(not name.isascii() for name in names), "expected Unicode names (ø, ü, é)"
    # The word index holds the demo's records: a surname finds its people, accents folded.
    person = Person.objects.exclude(name__regex=r"^[ -~]*$").first()
    surname = person.name.split()[-1]
    actor = system_actor(person.organisation)
    query = parse_list_query(KINDS["person"], {"q": fold(surname)}, lambda: [])
    assert person.pk in [p.pk for p in record_list(actor=actor, kind="person", query=query).items]


def test_converted_leads_point_at_their_person_company_and_deal(summary):
    converted = Lead.objects.exclude(converted_at=None).select_related("converted_person")
    assert converted.exists()
    for lead in converted:
        person = lead.converted_person
        assert lead.email == person.email
        assert lead.converted_company_id == person.company_id
        assert lead.created_at < lead.converted_at
        if lead.converted_opportunity_id:
            assert lead.converted_opportunity.primary_contact_id == person.pk
    assert converted.exclude(converted_opportunity=None).exists()


def test_archive_opportunities_read_like_the_archive_company_names_them(summary):
    piql = Organisation.objects.get(slug="piql-archive")
    for opportunity in Opportunity.objects.filter(organisation=piql):
        volume, content, service = opportunity.name.split(" - ")
        assert volume[0].isdigit() and content and service
        assert opportunity.currency == "EUR"
        if opportunity.data_volume:
            assert opportunity.data_volume == volume


def test_the_plan_is_reproducible_and_is_what_gets_loaded(summary):
    plan = demo.build_plan(2026)
    assert plan.fingerprint() == demo.build_plan(2026).fingerprint() == summary.fingerprint
    assert demo.build_plan(7).fingerprint() != plan.fingerprint()
    planned = sorted(o["name"] for org in plan.organisations for o in org.opportunities)
    assert sorted(_planned_opportunities().values_list("name", flat=True)) == planned
    planned_people = sorted(p["name"] for org in plan.organisations for p in org.people)
    people = Person.objects.filter(organisation__in=_demo_organisations())
    assert sorted(people.values_list("name", flat=True)) == planned_people


def test_a_second_load_is_refused_and_changes_nothing(summary):
    with pytest.raises(Conflict, match="already loaded"):
        demo.load_demo()
    # The three demo organisations and the network's five member co-operatives; one member
    # accepted a referral, which made an opportunity in its own books.
    assert Organisation.objects.count() == 3 + len(demo_network.MEMBERS)
    assert Opportunity.objects.count() == 300 + sum(WORKED.values()) + 1


def test_the_demo_shows_an_import_report(summary):
    from salesline.records.models import ImportJob

    job = ImportJob.objects.get(organisation__name="Piql Archive")
    assert (job.status, job.created, job.duplicates, job.rejected, job.possible_duplicates) == (
        "done",
        24,
        2,
        1,
        1,
    )


def test_logged_notes_have_kinds_so_meetings_show_in_the_reports(summary):
    kinds = Counter(Note.objects.values_list("kind", flat=True))
    # Every profile logs calls or meetings besides plain notes; meetings on opportunities
    # and leads are what "People and activity" counts.
    assert kinds["meeting"] > 0
    assert kinds["call"] > 0
    assert kinds["note"] > 0
    assert Note.objects.filter(kind="meeting", opportunity__isnull=False).exists()


def _months_before(now, count: int) -> list[str]:
    months = [divmod(now.year * 12 + now.month - 1 - back, 12) for back in range(count, 0, -1)]
    return [f"{year:04d}-{month + 1:02d}" for year, month in months]


def test_the_forecast_accuracy_table_judges_the_past_months(summary):
    now = timezone.now()
    judged = _months_before(now, demo.ACCURACY_MONTHS)
    first_day = datetime(int(judged[0][:4]), int(judged[0][5:]), 1, tzinfo=UTC)
    for organisation in _demo_organisations():
        (pipeline,) = pipelines_of(definition_for(organisation))
        snapshots = list(
            ForecastSnapshot.objects.filter(organisation=organisation).order_by("taken_at")
        )
        # Weekly, as the worker takes them, up to last week, the first before the first
        # month judged began; all backfilled (the demo's past happened before it was loaded).
        moments = [snapshot.taken_at for snapshot in snapshots]
        assert all(moment == week_start(moment) for moment in moments)
        assert {b - a for a, b in zip(moments, moments[1:], strict=False)} == {timedelta(days=7)}
        assert moments[-1] == week_start(now) - timedelta(days=7)
        assert moments[0] < first_day <= moments[1]
        assert all(snapshot.backfilled_at is not None for snapshot in snapshots)
        rows = forecast_accuracy(actor=system_actor(organisation), pipeline_key=pipeline.key)
        assert [row["period"] for row in rows] == judged
        for row in rows:
            assert row["snapshot_backfilled"]
            assert row["p10"] <= row["p50"] <= row["p90"]
        # Forecasts of the deals open then, not empty ones (a month may be forecast at 0: before
        # CoTech's first win its history had no stay leading to won to replay).
        assert any(row["p90"] > 0 for row in rows), organisation.name
    client = Client()
    client.post("/login/", {"username": summary.login_email, "password": summary.login_password})
    page = client.get("/reports/forecast/", {"trials": "200", "seed": "1"}).content.decode()
    accuracy = page[page.index('id="forecast-accuracy"') :]
    assert all(f'<th scope="row" class="period">{period}</th>' in accuracy for period in judged)
    assert "(backfilled)" in accuracy and "computed later from the history" in accuracy


def test_the_demo_network_has_five_members_a_rota_every_category_a_referral_and_a_bid(summary):
    from salesline.enquiries.models import (
        Application,
        Bid,
        Enquiry,
        Network,
        Referral,
        RotaPeriod,
    )

    network = Network.objects.get()
    assert network.organisation.name == "CoTech Network"
    assert network.coordinator.email == demo.DEMO_EMAIL
    assert network.members.filter(left_at=None).count() == 5
    assert RotaPeriod.objects.filter(network=network).count() == 3
    assert RotaPeriod.objects.filter(network=network).exclude(acknowledged_at=None).count() == 1
    categories = set(Enquiry.objects.exclude(category="").values_list("category", flat=True))
    assert categories | {"research", "other"} == {
        "joining",
        "setting_up",
        "jobs",
        "research",
        "speaking",
        "promotion",
        "sales",
        "other",
    }
    assert Enquiry.objects.filter(status="lead").exclude(lead=None).count() == 1
    assert sorted(Referral.objects.values_list("status", flat=True)) == ["accepted", "declined"]
    accepted = Referral.objects.get(status="accepted")
    assert Opportunity.objects.get(pk=accepted.opportunity_id).organisation_id == (
        accepted.organisation_id
    )
    assert Bid.objects.get().members.count() == 3
    assert Bid.objects.get().confirmed_members.count() == 2  # one member has not confirmed yet
    assert sorted(Application.objects.values_list("status", flat=True)) == [
        "ineligible",
        "voting",
    ]
