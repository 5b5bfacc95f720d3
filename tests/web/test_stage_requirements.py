"""Rules visible before they bite: what a stage needs, shown where an opportunity is created,
edited and moved, and on its page (the stage path, what the next stage needs, its checklist)."""

import pytest
from django.test import Client

from salesline.pipeline.models import ChecklistTick, Opportunity
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.process import services as process_services
from tests.conftest import qualify_fields

SCRIPT = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def qualified(actor, company, person):
    return opportunity_create(
        actor=actor, data={**qualify_fields(company, person), "stage": "qualify"}
    )


def test_the_opportunity_page_shows_the_stage_path_and_what_the_next_stage_needs(web, qualified):
    page = web.get(f"/records/opportunities/{qualified.pk}/")
    assert page.status_code == 200
    path = page.context["path"]
    assert [(s.name, s.state) for s in path.steps] == [
        ("Identify", "done"),
        ("Qualify", "current"),
        ("Develop", "ahead"),
        ("Propose", "ahead"),
        ("Negotiate", "ahead"),
    ]
    assert path.next_stage.key == "develop"
    assert [(n.text, n.met) for n in path.needs] == [
        ("Business case", False),
        ("Tick 'Use-case verified by the client'", False),
    ]
    text = page.content.decode()
    assert 'aria-current="step">Qualify' in text
    assert f'href="/board/move/{qualified.pk}/?stage=develop&amp;back=record"' in text
    assert "Use-case verified by the client" in text and "(before Develop)" in text


def test_ticks_show_on_the_record_with_who_ticked_them(web, actor, user, qualified):
    user.full_name = "Sam Seller"
    user.save()
    opportunity_move(
        actor=actor,
        opportunity_id=qualified.pk,
        stage="develop",
        checks=["use_case_verified"],
        fields={"business_case": "Saves two archivists a year"},
    )
    page = web.get(f"/records/opportunities/{qualified.pk}/")
    checklist = {row.key: row for row in page.context["path"].checklist}
    assert checklist["use_case_verified"].tick is not None
    assert checklist["proposal_sent"].tick is None
    assert "ticked by Sam Seller" in page.content.decode()
    # The next stage's checklist item is now what is needed.
    assert [n.text for n in page.context["path"].needs] == ["Tick 'Proposal sent to the client'"]


def test_a_closed_opportunity_shows_where_it_ended(web, actor, qualified):
    opportunity_move(actor=actor, opportunity_id=qualified.pk, stage="lost", reason="No budget")
    path = web.get(f"/records/opportunities/{qualified.pk}/").context["path"]
    assert path.steps[-1].name == "Lost" and path.steps[-1].state == "lost"
    assert path.next_stage is None and path.needs == []


def test_the_move_page_lists_each_stage_with_what_it_needs(web, qualified):
    page = web.get(f"/board/move/{qualified.pk}/")
    assert page.status_code == 200
    choices = {c["stage"].key: c for c in page.context["choices"]}
    assert "qualify" not in choices
    assert choices["develop"]["default"]
    propose = choices["propose"]["groups"]
    assert [g["name"] for g in propose] == ["Develop", "Propose"]
    assert [n.text for n in propose[1]["items"]] == ["Tick 'Proposal sent to the client'"]


def test_a_stage_asked_for_in_advance_gives_the_panel_with_an_input_for_each_thing(web, qualified):
    page = web.get(f"/board/move/{qualified.pk}/?stage=develop&back=record")
    assert page.status_code == 200
    names = [i.name for i in page.context["inputs"]]
    assert names == ["business_case", "checks"]
    assert page.context["count"] == 2
    text = page.content.decode()
    assert "2 things to do first" in text and "Back to the opportunity" in text
    # Filled in and posted from that page, the move goes back to the opportunity.
    answer = web.post(
        f"/board/move/{qualified.pk}/?back=record",
        {"stage": "develop", "business_case": "Cheaper", "checks": "use_case_verified"},
    )
    assert answer.status_code == 302
    assert answer["Location"] == f"/records/opportunities/{qualified.pk}/"
    assert Opportunity.objects.get(pk=qualified.pk).stage.key == "develop"


def test_the_move_dialog_gets_the_stage_needs_as_a_fragment(web, qualified):
    page = web.get(f"/board/move/{qualified.pk}/?stage=propose", **SCRIPT)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<html" not in text
    assert "Develop needs:" in text and "Propose needs:" in text
    assert 'class="unmet"' in text


def test_another_organisations_opportunity_has_no_move_page(other_actor, web):
    theirs = opportunity_create(actor=other_actor, data={"name": "Theirs"})
    assert web.get(f"/board/move/{theirs.pk}/?stage=qualify").status_code == 404


def test_the_new_opportunity_form_shows_each_stage_needs_with_its_checklist_boxes(web):
    page = web.get("/records/opportunities/new/")
    blocks = {b["value"]: b for b in page.context["stage_needs"]}
    develop = blocks["business-development/develop"]
    texts = [item["text"] for item in develop["items"]]
    assert "Company" in texts and "Business case" in texts
    assert any(t.startswith("Name must read") for t in texts)
    boxes = [item["box"] for item in develop["items"] if item["box"]]
    assert boxes == ["use_case_verified"]
    # A new opportunity opens in a stage: the won stage's reason is not asked for here.
    assert all(i["text"] != "A reason" for i in blocks["business-development/won"]["items"])
    text = page.content.decode()
    assert 'data-stage-needs="business-development/identify"' in text
    assert 'data-stage-needs="business-development/develop" hidden' in text


def test_an_opportunity_created_in_develop_takes_the_ticks_of_its_form(web, company, person):
    data = {
        **{k: str(v) for k, v in qualify_fields(company, person).items()},
        "stage": "business-development/develop",
        "business_case": "Saves two archivists a year",
    }
    refused = web.post("/records/opportunities/new/", data)
    assert refused.status_code == 400
    assert "Tick &#x27;Use-case verified by the client&#x27; to enter Develop." in (
        refused.content.decode()
    )
    created = web.post("/records/opportunities/new/", {**data, "checks": "use_case_verified"})
    assert created.status_code == 302
    opportunity = Opportunity.objects.get(name=data["name"])
    assert opportunity.stage.key == "develop"
    assert ChecklistTick.objects.filter(opportunity=opportunity, item="use_case_verified").exists()


def test_a_refused_create_keeps_the_ticked_boxes(web, company, person):
    data = {"name": "x", "stage": "business-development/develop", "checks": "use_case_verified"}
    refused = web.post("/records/opportunities/new/", data)
    assert refused.status_code == 400
    develop = next(b for b in refused.context["stage_needs"] if b["value"].endswith("/develop"))
    assert [i["checked"] for i in develop["items"] if i["box"]] == [True]


def _input(inputs, name):
    return next(i for i in inputs if i.name == name)


def test_forms_show_the_name_rule_beside_the_name(web, qualified):
    page = web.get("/records/opportunities/new/")
    help_text = _input(page.context["inputs"], "name").help
    assert help_text.startswith("From Qualify on: Name must read '<amount of data>")
    assert "e.g. '3 TB - Personnel records - Preservation'" in help_text
    edit = web.get(f"/records/opportunities/{qualified.pk}/edit/")
    assert _input(edit.context["inputs"], "name").help == help_text


def test_conversion_proposes_no_name_that_breaks_the_rule(web, lead):
    page = web.get(f"/records/leads/{lead.pk}/convert/")
    assert page.status_code == 200
    name = _input(page.context["inputs"]["opportunity"], "opportunity-name")
    # "Acme Archives - Kari Hansen" would be refused at Qualify: no proposal, the rule instead.
    assert name.value == ""
    assert name.help.startswith("From Qualify on: Name must read")
    assert 'id="f-opportunity-name-help"' in page.content.decode()


SIMPLE = """
name: Simple
pipelines:
  - key: sales
    name: Sales
    stages:
      - {key: open, name: Open, probability: 10}
      - {key: won, name: Won, kind: won, probability: 100}
      - {key: lost, name: Lost, kind: lost, probability: 0}
"""


def test_conversion_keeps_its_proposal_where_no_rule_applies(web, lead, admin_actor):
    process_services.process_load(actor=admin_actor, text=SIMPLE)
    page = web.get(f"/records/leads/{lead.pk}/convert/")
    name = _input(page.context["inputs"]["opportunity"], "opportunity-name")
    assert name.value == "Acme Archives - Kari Hansen" and name.help == ""
