"""The pipeline board: columns with counts and totals, filters, "Show more", and moves through
the API's service — gate failures listing every unmet criterion, then filled in and retried."""

import datetime as dt
import html
from html.parser import HTMLParser

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from salesline.pipeline.models import ChecklistTick, Opportunity, Pipeline, StageChange
from salesline.pipeline.services import opportunity_create
from tests.conftest import qualify_fields

SCRIPT = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def web(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def pipeline(org):
    return Pipeline.objects.get(organisation=org, key="business-development")


def add(actor, name, **data):
    return opportunity_create(actor=actor, data={"name": name, **data})


def move(web, opportunity, query="", **data):
    return web.post(f"/board/move/{opportunity.pk}/{query}", data, **SCRIPT)


def test_the_board_shows_a_column_per_stage_with_count_and_total(web, actor, pipeline):
    add(actor, "Alpha", value="1000", expected_close_date="2027-01-01")
    add(actor, "Beta", value="2500.50")
    add(actor, "Gamma", value="300", currency="USD")
    page = web.get("/board/")
    assert page.status_code == 200
    text = page.content.decode()
    for name in ("Identify", "Qualify", "Develop", "Propose", "Negotiate", "Won", "Lost"):
        assert f">{name}</h2>" in text
    identify = page.context["columns"][0]
    assert identify["total"]["count"] == 3
    # Currencies are summed apart, the largest first.
    assert identify["total"]["values"] == ["3,500.50 EUR", "300 USD"]
    # Undated cards first (never hidden behind "Show more"), by id, then the nearest close.
    assert [card["name"] for card in identify["cards"]] == ["Beta", "Gamma", "Alpha"]
    assert [card["undated"] for card in identify["cards"]] == [True, True, False]
    assert "No close date" in text
    assert page.context["columns"][1]["total"]["count"] == 0
    assert web.get(f"/board/{pipeline.pk}/").status_code == 200


def test_the_board_is_one_organisations_own(web, actor, other_actor, org, other_org):
    add(actor, "Ours")
    add(other_actor, "Theirs")
    page = web.get("/board/")
    assert b"Ours" in page.content and b"Theirs" not in page.content
    theirs = Pipeline.objects.get(organisation=other_org, key="business-development")
    assert web.get(f"/board/{theirs.pk}/").status_code == 404
    assert web.get("/board/999999/").status_code == 404


def test_filters_by_owner_and_close_date(web, actor, admin_actor, user):
    add(actor, "Mine soon", expected_close_date="2027-01-10")
    add(actor, "Mine later", expected_close_date="2027-06-01")
    add(admin_actor, "Boss's", expected_close_date="2027-01-15")
    names = lambda page: [c["name"] for c in page.context["columns"][0]["cards"]]  # noqa: E731
    assert names(web.get("/board/?owner=me")) == ["Mine soon", "Mine later"]
    by_id = web.get(f"/board/?owner={admin_actor.user.pk}")
    assert names(by_id) == ["Boss's"]
    dated = web.get("/board/?close_from=2027-01-01&close_to=2027-01-31")
    assert names(dated) == ["Mine soon", "Boss's"]
    assert dated.context["columns"][0]["total"]["count"] == 2
    both = web.get("/board/?owner=me&close_to=2027-01-31")
    assert names(both) == ["Mine soon"]


@pytest.mark.parametrize(
    "query, message",
    [
        ("owner=abc", "Owner must be a member of this organisation."),
        ("owner=999999", "Owner must be a member of this organisation."),
        ("close_from=tomorrow", "Close from must be a date (YYYY-MM-DD)."),
        ("close_from=2027-02-01&close_to=2027-01-01", "Close to must not be before Close from."),
    ],
)
def test_a_bad_filter_is_named_not_a_500(web, actor, query, message):
    add(actor, "Alpha")
    page = web.get(f"/board/?{query}")
    assert page.status_code == 400
    assert message in page.content.decode()
    assert b"Alpha" in page.content  # the board still shows, unfiltered


def test_show_more_pages_through_a_column(web, actor, pipeline):
    for day in range(1, 26):
        add(actor, f"Deal {day:02d}", expected_close_date=f"2027-03-{day:02d}")
    add(actor, "Undated")
    page = web.get("/board/")
    column = page.context["columns"][0]
    assert column["total"]["count"] == 26
    names = [card["name"] for card in column["cards"]]
    assert len(names) == 20 and names[0] == "Undated" and names[-1] == "Deal 19"
    more = web.get(column["more"])
    assert more.status_code == 200
    text = more.content.decode()
    assert ["Deal 20" in text, "Deal 25" in text, "Undated" in text] == [True, True, False]
    assert "Deal 19" not in text
    assert 'hx-swap-oob="true"' in text and "Show more" not in text


def test_show_more_refuses_nonsense(web, actor, pipeline, other_org):
    stage = pipeline.stages.get(key="identify")
    url = f"/board/{pipeline.pk}/stages/{stage.pk}/more/"
    assert web.get(url + "?after=garbage").status_code == 400
    assert web.get(url + "?after=2027-13-01~5").status_code == 400
    assert web.get(url + "?after=~5&owner=x").status_code == 400
    assert web.get(url + "?after=~99999999999999999999999").status_code == 400
    assert web.get(url + "?after=~0").status_code == 200
    won = pipeline.stages.get(key="won")
    won_url = f"/board/{pipeline.pk}/stages/{won.pk}/more/"
    assert web.get(won_url + "?after=2027-01-01~5").status_code == 400  # no time zone
    assert web.get(won_url + "?after=~5").status_code == 400
    assert web.get(won_url + "?after=2027-01-01T10:00:00%2B00:00~5").status_code == 200
    theirs = Pipeline.objects.get(organisation=other_org, key="business-development")
    assert web.get(f"/board/{theirs.pk}/stages/{stage.pk}/more/?after=~0").status_code == 404
    other_stage = theirs.stages.first()
    assert web.get(f"/board/{pipeline.pk}/stages/{other_stage.pk}/more/").status_code == 404


def test_won_and_lost_columns_show_what_closed_lately(web, actor, pipeline):
    old = add(actor, "Lost long ago", stage="lost", reason="Budget")
    Opportunity.objects.filter(pk=old.pk).update(closed_at=timezone.now() - dt.timedelta(days=40))
    for number in range(22):
        add(actor, f"Lost {number:02d}", stage="lost", reason="Budget")
    lost = next(c for c in web.get("/board/").context["columns"] if c["stage"].key == "lost")
    assert lost["total"]["count"] == 22
    assert len(lost["cards"]) == 20 and lost["cards"][0]["name"] == "Lost 21"  # latest first
    more = web.get(lost["more"]).content.decode()
    assert "Lost 01" in more and "Lost 00" in more and "Lost long ago" not in more


def test_a_move_that_meets_the_gate_moves_and_returns_card_and_totals(web, actor, company, person):
    opportunity = opportunity_create(actor=actor, data=qualify_fields(company, person))
    answer = move(web, opportunity, stage="qualify")
    assert answer.status_code == 200
    text = answer.content.decode()
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "qualify"
    assert f'id="o{opportunity.pk}"' in text and f'data-stage="{opportunity.stage_id}"' in text
    assert text.count('class="total"') == 7
    assert StageChange.objects.filter(opportunity=opportunity, to_stage="qualify").exists()


def test_a_refused_move_lists_every_unmet_criterion_with_inputs(web, actor):
    opportunity = add(actor, "Archive project")
    answer = move(web, opportunity, stage="qualify")
    assert answer.status_code == 422
    text = answer.content.decode()
    for message in (
        "Company is required to enter Qualify.",
        "Primary contact is required to enter Qualify.",
        "Expected close date is required to enter Qualify.",
        "Estimated value is required to enter Qualify.",
        "Data volume is required to enter Qualify.",
        "Sector is required to enter Qualify.",
        "To enter Qualify: Name must read",
    ):
        assert message in text
    # The right inputs: a date, a number with cents, a choice, pickers for references.
    assert 'name="expected_close_date" type="date"' in text
    assert 'name="value" type="number" value="" step="0.01"' in text
    assert '<select id="' in text and 'name="sector"' in text
    assert 'data-source="/pick/companies/"' in text and 'data-source="/pick/people/"' in text
    assert 'value="Archive project"' in text  # the name to correct, as it is
    assert answer.context["count"] == 7
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "identify"


def test_filling_the_panel_and_retrying_moves_the_card(web, actor, company, person):
    opportunity = add(actor, "Archive project")
    assert move(web, opportunity, stage="qualify").status_code == 422
    answer = move(web, opportunity, stage="qualify", **qualify_fields(company, person))
    assert answer.status_code == 200
    # Develop asks for a business case and a ticked checklist item; both go with the retry.
    refused = move(web, opportunity, stage="develop")
    assert refused.status_code == 422
    text = refused.content.decode()
    assert 'type="checkbox" name="checks" value="use_case_verified"' in text
    assert "Use-case verified by the client" in text and 'name="business_case"' in text
    answer = move(
        web,
        opportunity,
        stage="develop",
        business_case="Saves 2 FTE",
        checks="use_case_verified",
        version=str(refused.context["opportunity"].version),
    )
    assert answer.status_code == 200
    opportunity.refresh_from_db()
    assert (opportunity.stage.key, opportunity.business_case) == ("develop", "Saves 2 FTE")
    assert ChecklistTick.objects.filter(opportunity=opportunity, item="use_case_verified").exists()


def test_a_refused_value_is_shown_again_with_its_reason(web, actor, company, person):
    opportunity = add(actor, "Archive project")
    fields = {**qualify_fields(company, person), "value": "lots", "company_id": "999999"}
    answer = move(web, opportunity, stage="qualify", **fields)
    assert answer.status_code == 422
    text = answer.content.decode()
    assert "Estimated value must be a number." in text and 'value="lots"' in text
    assert "Company refers to no company with id 999999 in this organisation." in text


def test_closing_as_lost_asks_for_a_reason(web, actor):
    opportunity = add(actor, "Archive project")
    refused = move(web, opportunity, stage="lost")
    assert refused.status_code == 422
    assert "A reason is required to enter Lost." in refused.content.decode()
    assert 'name="reason"' in refused.content.decode()
    assert move(web, opportunity, stage="lost", reason="No budget").status_code == 200
    opportunity.refresh_from_db()
    assert (opportunity.status, opportunity.close_reason) == ("lost", "No budget")


def test_a_custom_field_in_a_gate_gets_its_own_input(web, actor, admin_actor):
    from tests.conftest import edit_definition

    def require_poc(document):
        stage = document["pipelines"][0]["stages"][1]
        stage["gate"] = {"require": ["poc_needed"]}

    edit_definition(admin_actor, require_poc)
    opportunity = add(actor, "Archive project")
    refused = move(web, opportunity, stage="qualify")
    assert refused.status_code == 422
    assert 'name="cf.poc_needed"' in refused.content.decode()
    assert move(web, opportunity, stage="qualify", **{"cf.poc_needed": "yes"}).status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.custom_fields == {"poc_needed": True}


def test_moves_refuse_other_organisations_and_nonsense(web, actor, other_actor):
    ours = add(actor, "Ours")
    theirs = add(other_actor, "Theirs")
    assert move(web, theirs, stage="qualify").status_code == 404
    assert web.post("/board/move/999999/", {"stage": "lost"}, **SCRIPT).status_code == 404
    bad_stage = move(web, ours, stage="heaven")
    assert bad_stage.status_code == 400
    assert "Choose a stage of Business Development Journey" in bad_stage.content.decode()
    assert move(web, ours).status_code == 400
    assert move(web, ours, stage="lost", version="two").status_code == 400
    stale = move(web, ours, stage="lost", reason="x", version="99")
    assert stale.status_code == 412 and "changed by someone else" in stale.content.decode()
    assert move(web, ours, stage="lost", checks="nonsense").status_code == 422
    assert move(web, ours, stage="lost", reason="x", unknown="field").status_code == 200
    assert web.put(f"/board/move/{ours.pk}/").status_code == 405
    assert web.get(f"/board/move/{theirs.pk}/").status_code == 404
    assert Opportunity.objects.get(pk=theirs.pk).stage.key == "identify"


def test_a_move_without_javascript_gets_pages(web, actor):
    opportunity = add(actor, "Archive project")
    # A card's Move link: the stages to choose from, the current one left out.
    chooser = web.get(f"/board/move/{opportunity.pk}/?owner=me").content.decode()
    assert (
        "<h1>Move Archive project</h1>" in chooser and "Now in <strong>Identify</strong>" in chooser
    )
    assert 'name="stage" value="qualify" checked> Qualify' in chooser
    assert 'value="identify"' not in chooser
    assert f'action="/board/move/{opportunity.pk}/?owner=me"' in chooser
    refused = web.post(f"/board/move/{opportunity.pk}/?owner=me", {"stage": "lost"})
    assert refused.status_code == 422
    assert b"<h1>Move Archive project to Lost</h1>" in refused.content
    done = web.post(
        f"/board/move/{opportunity.pk}/?owner=me", {"stage": "lost", "reason": "No budget"}
    )
    assert done.status_code == 302 and done.url.endswith("?owner=me")
    assert "“Archive project” moved to Lost." in web.get(done.url).content.decode()


def test_the_move_answer_totals_follow_the_filters(web, actor, admin_actor):
    mine = add(actor, "Mine", value="100")
    add(admin_actor, "Theirs", value="900")
    answer = move(web, mine, query="?owner=me", stage="lost", reason="x")
    totals = {t["stage_id"]: t for t in answer.context["totals"]}
    assert totals[mine.stage.pipeline.stages.get(key="lost").pk]["values"] == ["100 EUR"]
    assert totals[mine.stage.pipeline.stages.get(key="identify").pk]["count"] == 0


def test_the_board_query_count_does_not_grow_with_cards(web, actor, django_assert_max_num_queries):
    for day in range(1, 30):
        add(actor, f"Deal {day}", expected_close_date=dt.date(2027, 1, day).isoformat())
    # Session, user, membership, pipelines and stages, totals, one or two per column.
    with django_assert_max_num_queries(30):
        assert web.get("/board/").status_code == 200


def test_signed_out_visitors_go_to_sign_in(client):
    assert client.get("/board/").status_code == 302
    assert client.post("/board/move/1/", {"stage": "lost"}).status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "/board/99999999999999999999999/",
        "/board/1/stages/99999999999999999999999/more/",
        "/board/99999999999999999999999/stages/1/more/",
    ],
)
def test_ids_too_large_for_the_database_are_404(web, actor, url):
    assert web.get(url).status_code == 404


def test_a_move_of_an_id_too_large_for_the_database_is_404(web, actor):
    answer = web.post("/board/move/99999999999999999999999/", {"stage": "lost"}, **SCRIPT)
    assert answer.status_code == 404


def test_an_organisation_without_pipelines_is_told_how_to_get_one(web, org):
    Pipeline.objects.filter(organisation=org).delete()
    page = web.get("/board/")
    assert page.status_code == 200 and b"There is no pipeline yet" in page.content


class _PanelForm(HTMLParser):
    """The gate panel's form as a browser would submit it: inputs, checked boxes, the selected
    option of each select, textareas."""

    def __init__(self, html: str):
        super().__init__()
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name and name not in ("q", "csrfmiddlewaretoken"):
            if attrs.get("type") != "checkbox" or "checked" in attrs:
                self.data.append((name, attrs.get("value") or ""))
        elif tag == "select":
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data.append((self._select, attrs.get("value") or ""))
        elif tag == "textarea":
            self._textarea = name
            self.data.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[-1] = (self._textarea, self.data[-1][1] + data)


def _resubmit(web, opportunity, answer, **changes):
    """Post the panel back as rendered, with only `changes` made (checks: a list of keys)."""
    data = [(k, v) for k, v in _PanelForm(answer.content.decode()).data if k not in changes]
    for name, value in changes.items():
        data += [(name, item) for item in (value if isinstance(value, list) else [value])]
    body = QueryDict(mutable=True)
    for name, value in data:
        body.appendlist(name, value)
    return web.post(
        f"/board/move/{opportunity.pk}/",
        body.urlencode(),
        content_type="application/x-www-form-urlencoded",
        **SCRIPT,
    )


def test_a_move_refused_for_one_mistake_keeps_everything_else_typed(web, actor, company, person):
    """The first-week blocker: six things filled in, the name typed with en dashes. The panel
    names the dash and keeps the five other answers; fixing the name alone moves the card."""
    opportunity = add(actor, "Archive project")
    first = move(web, opportunity, stage="qualify")
    typed = {**qualify_fields(company, person), "name": "3 TB – Personnel records – Preservation"}
    second = _resubmit(web, opportunity, first, **{k: str(v) for k, v in typed.items()})
    assert second.status_code == 422
    text = second.content.decode()
    shown = html.unescape(text)
    assert second.context["count"] == 1
    assert "The name has an en dash (–) where the pattern expects a hyphen (-): " in shown
    assert "'3 TB - Personnel records - Preservation' would do." in shown
    kept = dict(_PanelForm(text).data)
    for name in ("company_id", "primary_contact_id", "value", "data_volume", "sector"):
        assert kept[name] == str(typed[name]), name
    assert kept["expected_close_date"] == "2027-03-31"
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "identify" and opportunity.company_id is None

    third = _resubmit(web, opportunity, second, name="3 TB - Personnel records - Preservation")
    assert third.status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "qualify"
    assert (opportunity.company_id, opportunity.data_volume) == (company.pk, "3 TB")


def test_the_develop_gate_keeps_the_tick_while_the_business_case_is_missing(
    web, actor, company, person
):
    """Before Develop it looped: tick the box → "business case"; fill it → "tick the box"."""
    opportunity = opportunity_create(actor=actor, data=qualify_fields(company, person))
    assert move(web, opportunity, stage="qualify").status_code == 200
    first = move(web, opportunity, stage="develop")
    assert first.context["count"] == 2
    ticked = _resubmit(web, opportunity, first, checks=["use_case_verified"])
    assert ticked.status_code == 422 and ticked.context["count"] == 1
    assert "Business case is required to enter Develop." in ticked.content.decode()
    assert ("checks", "use_case_verified") in _PanelForm(ticked.content.decode()).data
    assert not ChecklistTick.objects.filter(opportunity=opportunity).exists()  # all or nothing

    done = _resubmit(web, opportunity, ticked, business_case="Saves two archivists a year")
    assert done.status_code == 200
    opportunity.refresh_from_db()
    assert opportunity.stage.key == "develop"
    assert ChecklistTick.objects.filter(opportunity=opportunity, item="use_case_verified").exists()


def test_a_card_shows_its_company_and_its_owner_by_name(web, actor, company, person):
    from salesline.accounts.models import User

    User.objects.filter(pk=actor.user.pk).update(full_name="Ann Archivist")
    opportunity_create(actor=actor, data=qualify_fields(company, person))
    text = web.get("/board/").content.decode()
    assert '<span class="company">Acme Archives AS</span>' in text
    assert "<span>Ann Archivist</span>" in text and "<span>ann</span>" not in text


def test_show_more_pages_through_many_undated_cards_then_the_dated_ones(web, actor):
    for number in range(25):
        add(actor, f"Undated {number:02d}")
    add(actor, "Dated", expected_close_date="2027-01-01")
    column = web.get("/board/").context["columns"][0]
    assert [c["name"] for c in column["cards"]][-1] == "Undated 19"
    text = web.get(column["more"]).content.decode()
    assert "Undated 20" in text and "Undated 24" in text and "Dated" in text
    assert "Undated 19" not in text
