"""The quality rating on the web: the list column, the board badge, the record page's reasons,
the quality report and the definition's `quality:` section."""

import pytest
from django.test import Client

from salesline.accounts import services as accounts
from salesline.core.errors import ValidationFailed
from salesline.core.tasks import run_pending_tasks
from salesline.pipeline.services import opportunity_create
from salesline.process.definition import template_text
from salesline.process.services import process_parse

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(org):
    member = accounts.user_create(
        email="ann@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )
    client = Client()
    client.force_login(member)
    client.actor = accounts.actor_for(member, org)
    return client


@pytest.fixture
def rated(web, person):
    plain = opportunity_create(actor=web.actor, data={"name": "Plain"})
    valued = opportunity_create(
        actor=web.actor,
        data={"name": "Valued", "primary_contact_id": person.pk, "value": "1000"},
    )
    run_pending_tasks()
    return plain, valued


def test_the_list_has_a_sortable_quality_column(web, rated):
    page = web.get("/records/opportunities/?ordering=-quality").content.decode()
    assert "Quality" in page
    assert page.index("Valued") < page.index("Plain")
    assert "85 (good)" in page and "60 (fair)" in page
    assert "ordering=quality" in page  # the column header sorts
    filtered = web.get("/records/opportunities/?quality__gte=80").content.decode()
    assert "Valued" in filtered and ">Plain<" not in filtered


def test_the_board_card_has_a_badge_with_text(web, rated):
    page = web.get("/board/").content.decode()
    assert 'class="quality good"' in page
    assert (
        'Quality </span>85<span class="visually-hidden"> of 100, good. '
        "To raise it: Set the expected close date.</span>"
    ) in page


def test_the_board_badge_and_the_list_cell_describe_the_unmet_reasons(web, rated):
    board = web.get("/board/").content.decode()
    assert (
        'title="Quality 60 of 100: fair. To raise it: Name a primary contact: who speaks for '
        'the customer? Set the expected close date. Estimate the value of the opportunity."'
    ) in board

    listed = web.get("/records/opportunities/").content.decode()
    valued = "To raise it: Set the expected close date."
    assert f'<span title="{valued}">85 (good)<span class="visually-hidden">. {valued}</span>' in (
        listed
    )
    assert "Estimate the value of the opportunity." in listed  # Plain's cell


def test_every_spec_met_is_said_too(web, person):
    opportunity_create(
        actor=web.actor,
        data={
            "name": "Complete",
            "primary_contact_id": person.pk,
            "value": "1000",
            "expected_close_date": "2099-01-01",
        },
    )
    run_pending_tasks()
    listed = web.get("/records/opportunities/").content.decode()
    assert '<span title="Every quality spec is met.">100 (good)' in listed


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/board/", "/records/opportunities/"])
def test_the_reasons_cost_no_query_per_card_or_row(web, url):
    def add(count: int) -> None:
        for number in range(count):
            opportunity_create(actor=web.actor, data={"name": f"Deal {number}"})
        run_pending_tasks()

    add(2)
    web.get(url)  # what a first visit does once (the session) is not counted
    few = _queries(web, url)
    add(8)
    many = _queries(web, url)
    page = web.get(url).content.decode()

    assert page.count("To raise it: Name a primary contact") >= 10
    assert many == few


def test_the_record_page_shows_the_reasons_each_unmet_one_as_an_action(web, rated):
    plain, _ = rated
    page = web.get(f"/records/opportunities/{plain.pk}/").content.decode()
    assert 'Quality <span class="quality fair">60' in page
    assert (
        f'<a href="/records/opportunities/{plain.pk}/edit/">Name a primary contact: who speaks for the '
        "customer?</a>"
    ) in page
    assert "Set the expected close date." in page


def test_a_record_not_yet_rated_is_rated_for_the_page(web):
    fresh = opportunity_create(actor=web.actor, data={"name": "Fresh"})
    page = web.get(f"/records/opportunities/{fresh.pk}/").content.decode()
    assert "Rated just now" in page
    assert ">60<" in page


def test_the_quality_report(web, rated):
    page = web.get("/reports/quality/").content.decode()
    assert "Opportunity quality" in page
    assert "Lowest rated" in page
    assert page.index(">Plain<") < page.index(">Valued<")
    assert web.get("/reports/quality/?pipeline=business-development").status_code == 200
    bad = web.get("/reports/quality/?quality__gte=lots")
    assert bad.status_code == 400
    assert "quality__gte" in bad.content.decode()


def test_the_quality_section_is_validated_with_line_numbers_every_problem_at_once():
    text = (
        template_text("business-development")
        + """
quality:
  bands: {good: 40, fair: 60}
  specs:
    - {key: contact, check: contact, weight: 0}
    - {key: contact, check: telepathy, weight: 5}
    - {key: recent, check: recent_activity, weight: 5, days: 0}
    - {key: big, check: condition, weight: 5, condition: {field: nope, op: ">", value: 1}}
    - {key: named, check: value, weight: 5, days: 3}
"""
    )
    with pytest.raises(ValidationFailed) as refused:
        process_parse(text)
    messages = [problem.msg for problem in refused.value.problems]
    base = len(template_text("business-development").splitlines())

    def at(offset: int, path: str, message: str) -> str:
        return f"line {base + offset}: {path}: {message}"

    assert set(messages) == {
        at(3, "quality.bands.fair", "the fair band must start below the good band (40)"),
        at(5, "quality.specs[0].weight", "must be between 1 and 100"),
        at(6, "quality.specs[1].key", "duplicate quality spec key 'contact'"),
        at(
            6,
            "quality.specs[1].check",
            "unknown check 'telepathy' (use gate_fields, checklist, contact, recent_activity, "
            "close_date, value or condition)",
        ),
        at(7, "quality.specs[2].days", "must be between 1 and 3650"),
        at(8, "quality.specs[3].condition.field", "unknown field 'nope'"),
        at(9, "quality.specs[4].days", "only a recent_activity check takes days"),
    }


def test_a_valid_quality_section_round_trips():
    from salesline.analytics.quality_definition import quality_of
    from salesline.process.definition import dump_definition, spec_from_dict, spec_to_dict

    text = (
        template_text("business-development")
        + """
quality:
  bands: {good: 80, fair: 40}
  specs:
    - {key: contact, check: contact, weight: 2}
    - {key: recent, check: recent_activity, weight: 1, days: 7}
    - key: big
      check: condition
      weight: 1
      label: Worth our while
      condition: {field: value, op: ">=", value: 10000}
"""
    )
    spec = process_parse(text)
    quality = quality_of(spec)
    assert (quality.good, quality.fair, quality.total_weight) == (80, 40, 4)
    assert quality.specs[1].days == 7
    assert quality.specs[2].condition.value == 10000
    assert quality_of(spec_from_dict(spec_to_dict(spec))) == quality
    assert quality_of(process_parse(dump_definition(spec))) == quality
    # Without the section: the default rating, and nothing written back.
    plain = process_parse(template_text("business-development"))
    assert "quality" not in dump_definition(plain)


def test_the_filter_panel_offers_quality_and_band(web, rated):
    page = web.get("/records/opportunities/?quality_band=good").content.decode()
    assert 'name="quality__gte"' in page and 'name="quality__lte"' in page
    assert 'name="quality_band"' in page
    assert "Valued" in page and ">Plain<" not in page
    assert "Quality band" in page  # the chip of the filter in force
