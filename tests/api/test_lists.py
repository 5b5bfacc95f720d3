"""Lists: filters, search, ordering, offset and cursor paging, the count cap, and query counts
that stay the same however many rows a page holds."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from salesline.pipeline import services as pipeline_services
from salesline.records import services as record_services
from tests.conftest import COMPANY, LEAD, PERSON, edit_definition


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["items"]]


def make_companies(actor, *specs: dict) -> list:
    return [
        record_services.record_create(actor=actor, kind="company", data={**COMPANY, **spec})
        for spec in specs
    ]


def make_opportunity(actor, **fields):
    return pipeline_services.opportunity_create(actor=actor, data={"name": "Deal", **fields})


# ---------------------------------------------------------------- filters


def test_filter_by_a_text_field(api, actor):
    norway, sweden = make_companies(actor, {"market": "Norway"}, {"market": "Sweden"})

    assert ids(api.get("/companies?market=Sweden")) == [sweden.pk]
    assert ids(api.get("/companies?market=Norway")) == [norway.pk]
    assert ids(api.get("/companies?market=Denmark")) == []


def test_filter_by_a_reference_and_by_its_absence(api, actor, org, company, person):
    from salesline.accounts.services import system_actor

    other = make_companies(actor, {"name": "Other AS"})[0]
    elsewhere = record_services.record_create(
        actor=actor,
        kind="person",
        data={**PERSON, "email": "solo@other.no", "company_id": other.pk},
    )
    # Made by the CLI: nobody owns it.
    unowned = make_companies(system_actor(org), {"name": "Unowned"})[0]

    assert ids(api.get(f"/people?company_id={company.pk}")) == [person.pk]
    assert ids(api.get(f"/people?company_id={other.pk}")) == [elsewhere.pk]
    assert ids(api.get("/people?company_id=987654")) == []
    assert ids(api.get("/companies?owner_id=null")) == [unowned.pk]
    assert unowned.pk not in ids(api.get(f"/companies?owner_id={actor.user.pk}"))


def test_filter_leads_by_source_and_by_conversion(api, actor):
    expo = record_services.record_create(actor=actor, kind="lead", data=LEAD)
    web = record_services.record_create(
        actor=actor, kind="lead", data={**LEAD, "email": "web@acme.no", "source": "Website"}
    )

    assert ids(api.get("/leads?source=Website")) == [web.pk]
    assert set(ids(api.get("/leads?converted=false"))) == {expo.pk, web.pk}
    assert ids(api.get("/leads?converted=true")) == []


def test_filter_opportunities_by_stage_pipeline_and_status(api, actor):
    open_deal = make_opportunity(actor)
    lost_deal = make_opportunity(actor, name="Gone")
    pipeline_services.opportunity_move(
        actor=actor, opportunity_id=lost_deal.pk, stage="lost", reason="No budget"
    )

    assert ids(api.get("/opportunities?stage=identify")) == [open_deal.pk]
    assert ids(api.get("/opportunities?stage=lost")) == [lost_deal.pk]
    assert ids(api.get("/opportunities?status=lost")) == [lost_deal.pk]
    assert set(ids(api.get("/opportunities?pipeline=business-development"))) == {
        open_deal.pk,
        lost_deal.pk,
    }


def test_range_filters_on_numbers_and_dates(api, actor):
    small = make_opportunity(actor, value="1000", expected_close_date="2027-01-15")
    large = make_opportunity(actor, value="50000", expected_close_date="2027-06-30")
    make_opportunity(actor, name="No value yet")

    assert ids(api.get("/opportunities?value__gte=1000&value__lte=1000")) == [small.pk]
    assert ids(api.get("/opportunities?value__gte=1000.01")) == [large.pk]
    assert ids(api.get("/opportunities?expected_close_date__lte=2027-03-01")) == [small.pk]
    assert set(ids(api.get("/opportunities?expected_close_date__gte=2027-01-15"))) == {
        small.pk,
        large.pk,
    }
    assert ids(api.get("/opportunities?win_probability__gte=1")) == []


@pytest.mark.parametrize(
    ("key", "stored", "query", "other"),
    [
        ("motto", "Keep it all", "Keep it all", "Lose it"),
        ("employees", 120, "120", 7),
        ("founded", "1999-05-01", "1999-05-01", "2001-01-01"),
        ("tier", "gold", "gold", "silver"),
        ("listed", True, "true", False),
    ],
)
def test_custom_field_filters_of_every_type(
    api, actor, company_custom_fields, key, stored, query, other
):
    match, miss = make_companies(
        actor,
        {"name": "Match", "custom_fields": {key: stored}},
        {"name": "Miss", "custom_fields": {key: other}},
    )
    make_companies(actor, {"name": "Blank"})

    assert ids(api.get(f"/companies?cf_{key}={query}")) == [match.pk]
    assert miss.pk not in ids(api.get(f"/companies?cf_{key}={query}"))


def test_a_boolean_custom_field_filter_on_opportunities(api, actor):
    poc = make_opportunity(actor, custom_fields={"poc_needed": True})
    make_opportunity(actor, custom_fields={"poc_needed": False})
    make_opportunity(actor)

    assert ids(api.get("/opportunities?cf_poc_needed=yes")) == [poc.pk]


def test_a_custom_field_filter_value_is_validated(api, company_custom_fields, db):
    response = api.get("/companies?cf_founded=last-year")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["query", "cf_founded"],
            "msg": "Filter 'cf_founded' Founded must be a date (YYYY-MM-DD).",
            "type": "invalid",
        }
    ]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("nickname=Acme", "nickname"),
        ("cf_nope=1", "cf_nope"),
        ("market__gte=A", "market__gte"),
        ("value__contains=1", "value__contains"),
    ],
)
def test_an_unknown_filter_answers_422_naming_it(api, db, query, name):
    response = api.get(f"/opportunities?{query}" if "value" in query else f"/companies?{query}")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["query", name], "msg": f"Unknown filter '{name}'.", "type": "unknown_filter"}
    ]


@pytest.mark.parametrize(
    "query",
    [
        "value=lots",
        "value=NaN",
        "value__gte=Infinity",
        "value__gte=1e999999",
        "win_probability=high",
        "company_id=99999999999999999999999",
        "expected_close_date=2027-13-01",
        "limit=0",
        "limit=501",
        "offset=-1",
        "offset=5363634556807962527300321280",
        "ordering=stage",
        "cursor=not-a-cursor",
        "deleted=maybe",
    ],
)
def test_a_bad_filter_value_answers_422_naming_the_parameter(api, db, query):
    response = api.get(f"/opportunities?{query}")

    assert response.status_code == 422
    name = query.partition("=")[0]
    assert [d["loc"] for d in response.json()["detail"]] == [["query", name]]


def test_notes_paging_beyond_the_bounds_answers_422_like_every_list(api, note):
    response = api.get("/notes?offset=5363634556807962527300321280&limit=948&company_id=1")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["query", "limit"],
            "msg": "'limit' must be a whole number between 1 and 500.",
            "type": "invalid",
        },
        {
            "loc": ["query", "offset"],
            "msg": "'offset' must be a whole number between 0 and 1000000000.",
            "type": "invalid",
        },
    ]


@pytest.mark.parametrize(
    ("query", "name"), [("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset")]
)
def test_a_notes_limit_or_offset_out_of_bounds_answers_422(api, note, query, name):
    records = api.get(f"/companies?{query}")
    notes = api.get(f"/notes?{query}")

    assert (records.status_code, notes.status_code) == (422, 422)
    assert notes.json()["detail"] == records.json()["detail"]
    assert [d["loc"] for d in notes.json()["detail"]] == [["query", name]]


def test_notes_paging_past_the_last_note_is_an_empty_page(api, note):
    response = api.get("/notes?offset=1000&limit=500")

    assert response.status_code == 200
    assert (response.json()["items"], response.json()["limit"]) == ([], 500)


def test_notes_list_filters_by_record(api, actor, note, person):
    on_person = record_services.note_create(
        actor=actor, body="Lunch", target={"person_id": person.pk}
    )

    assert ids(api.get(f"/notes?person_id={person.pk}")) == [on_person.pk]
    assert ids(api.get(f"/notes?company_id={note.company_id}")) == [note.pk]
    assert ids(api.get("/notes")) == [on_person.pk, note.pk]


def test_all_problems_of_a_list_query_are_reported_at_once(api, db):
    response = api.get("/companies?nickname=x&limit=0&ordering=colour")

    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [
        ["query", "nickname"],
        ["query", "ordering"],
        ["query", "limit"],
    ]


def test_deleted_records_are_listed_only_when_asked(api, actor):
    kept, gone = make_companies(actor, {"name": "Kept"}, {"name": "Gone"})
    record_services.record_delete(actor=actor, kind="company", record_id=gone.pk)

    assert ids(api.get("/companies")) == [kept.pk]
    assert ids(api.get("/companies?deleted=true")) == [gone.pk]


def test_lists_never_show_another_organisations_rows(api, other_api, company, other_actor):
    make_companies(other_actor, {"name": "Theirs"})

    assert ids(api.get("/companies")) == [company.pk]
    assert ids(api.get("/companies?q=theirs")) == []
    assert company.pk not in ids(other_api.get("/companies"))


# ---------------------------------------------------------------- search


def test_q_finds_the_start_of_any_word_whole_name_prefix_first(api, actor):
    acme, acorn, zeta = make_companies(
        actor,
        {"name": "Acme Archives AS", "email_domain": ""},
        {"name": "Acorn Ltd", "email_domain": ""},
        {"name": "Zeta Acme", "email_domain": ""},
    )

    assert ids(api.get("/companies?q=ac")) == [acme.pk, acorn.pk, zeta.pk]
    assert ids(api.get("/companies?q=ACME")) == [acme.pk, zeta.pk]
    assert ids(api.get("/companies?q=acme%20archives")) == [acme.pk]
    assert ids(api.get("/companies?q=archives")) == [acme.pk]
    assert ids(api.get("/companies?q=rchives")) == []  # a word's start, not any substring
    page = api.get("/companies?q=acme").json()
    assert (page["count"], page["count_capped"]) == (2, False)


def test_q_with_an_at_sign_is_an_email_prefix(api, actor):
    kari = record_services.record_create(actor=actor, kind="lead", data=LEAD)
    record_services.record_create(
        actor=actor, kind="lead", data={**LEAD, "name": "Kari Berg", "email": "berg@other.no"}
    )

    assert ids(api.get("/leads?q=kari@")) == [kari.pk]
    assert ids(api.get("/leads?q=kari@acme.no")) == [kari.pk]
    assert ids(api.get("/leads?q=Kari@ACME")) == [kari.pk]
    assert ids(api.get("/leads?q=nobody@")) == []


def test_q_combines_with_filters(api, actor):
    norway, _ = make_companies(
        actor,
        {"name": "Acme North", "market": "Norway"},
        {"name": "Acme South", "market": "France"},
    )

    assert ids(api.get("/companies?q=acme&market=Norway")) == [norway.pk]


# ---------------------------------------------------------------- ordering and paging


def test_ordering_by_name_both_ways_is_case_insensitive(api, actor):
    beta, alpha, gamma = make_companies(
        actor, {"name": "beta"}, {"name": "Alpha"}, {"name": "Gamma"}
    )

    assert ids(api.get("/companies?ordering=name")) == [alpha.pk, beta.pk, gamma.pk]
    assert ids(api.get("/companies?ordering=-name")) == [gamma.pk, beta.pk, alpha.pk]


def test_ordering_by_value_both_ways(api, actor):
    low = make_opportunity(actor, value="10")
    high = make_opportunity(actor, value="300")
    mid = make_opportunity(actor, value="25")

    assert ids(api.get("/opportunities?ordering=value")) == [low.pk, mid.pk, high.pk]
    assert ids(api.get("/opportunities?ordering=-value")) == [high.pk, mid.pk, low.pk]


def test_default_ordering_is_newest_first(api, actor):
    first, second, third = make_companies(actor, {"name": "A"}, {"name": "B"}, {"name": "C"})

    assert ids(api.get("/companies")) == [third.pk, second.pk, first.pk]


def test_limit_and_offset(api, actor):
    rows = make_companies(actor, *({"name": f"Company {n:02}"} for n in range(7)))
    by_name = [row.pk for row in rows]

    page = api.get("/companies?ordering=name&limit=3&offset=2").json()

    assert [item["id"] for item in page["items"]] == by_name[2:5]
    assert (page["count"], page["limit"], page["offset"]) == (7, 3, 2)
    assert ids(api.get("/companies?ordering=name&limit=3&offset=6")) == by_name[6:]
    assert ids(api.get("/companies?ordering=name&limit=3&offset=50")) == []


@pytest.mark.parametrize(
    "ordering", ["name", "-name", "created_at", "-created_at", "id", "-id", "updated_at"]
)
def test_cursor_paging_walks_every_row_once(api, actor, ordering):
    # Repeated names make the id tie-break matter.
    make_companies(actor, *({"name": ["Acme", "acme", "Borg", "Acme"][n % 4]} for n in range(9)))
    everything = ids(api.get(f"/companies?ordering={ordering}&limit=500"))

    seen, cursor, pages = [], None, 0
    while True:
        url = f"/companies?ordering={ordering}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(url).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == everything
    assert len(set(seen)) == 9
    assert pages == 5


def test_cursor_paging_of_opportunities_by_stage_entry(api, actor):
    made = [make_opportunity(actor, name=f"Deal {n}").pk for n in range(5)]

    first = api.get("/opportunities?ordering=stage_entered_at&limit=3").json()
    rest = api.get(
        f"/opportunities?ordering=stage_entered_at&limit=3&cursor={first['next_cursor']}"
    ).json()

    assert [i["id"] for i in first["items"]] + [i["id"] for i in rest["items"]] == made
    assert rest["next_cursor"] is None


def test_a_cursor_is_tied_to_its_ordering(api, actor):
    make_companies(actor, {"name": "A"}, {"name": "B"}, {"name": "C"})
    cursor = api.get("/companies?ordering=name&limit=1").json()["next_cursor"]

    response = api.get(f"/companies?ordering=-created_at&cursor={cursor}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_a_cursor_cannot_be_used_with_a_nullable_ordering(api, db):
    response = api.get("/opportunities?ordering=value&cursor=abc")

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "A cursor cannot be used with ordering 'value'."


def test_the_count_is_capped_and_says_so(api, actor, settings):
    settings.SALESLINE_COUNT_CAP = 3
    make_companies(actor, *({"name": f"C{n}"} for n in range(5)))

    capped = api.get("/companies?limit=2").json()
    exact = api.get("/companies?q=c1").json()

    assert (capped["count"], capped["count_capped"], len(capped["items"])) == (3, True, 2)
    assert (exact["count"], exact["count_capped"]) == (1, False)


def test_the_count_at_the_cap_is_not_flagged(api, actor, settings):
    settings.SALESLINE_COUNT_CAP = 3
    make_companies(actor, *({"name": f"C{n}"} for n in range(3)))

    body = api.get("/companies").json()

    assert (body["count"], body["count_capped"]) == (3, False)


# ---------------------------------------------------------------- query counts


def _make_rows(kind: str, n: int, actor, admin_actor, company, person, opportunity) -> str:
    """Make the org hold `n` rows of a list (the fixtures already hold one); return its path."""
    if kind == "companies":
        make_companies(actor, *({"name": f"Extra {i}"} for i in range(n - 1)))
    elif kind == "people":
        for i in range(n - 1):
            record_services.record_create(
                actor=actor,
                kind="person",
                data={**PERSON, "email": f"p{i}@acme.no", "company_id": company.pk},
            )
    elif kind == "leads":
        for i in range(n):
            record_services.record_create(
                actor=actor, kind="lead", data={**LEAD, "email": f"l{i}@acme.no"}
            )
    elif kind == "opportunities":
        for i in range(n - 1):
            make_opportunity(actor, name=f"Deal {i}", company_id=company.pk)
    elif kind == "notes":
        for i in range(n):
            record_services.note_create(
                actor=actor, body=f"Note {i}", target={"company_id": company.pk}
            )
    elif kind == "pipelines":
        extra = [
            {
                "key": f"extra-{i}",
                "name": f"Extra {i}",
                "stages": [
                    {"key": "open", "name": "Open", "probability": 10},
                    {"key": "done", "name": "Done", "kind": "won", "probability": 100},
                ],
            }
            for i in range(n - 1)
        ]
        edit_definition(admin_actor, lambda d: d["pipelines"].extend(extra))
    elif kind == "custom-fields":
        extra = [
            {"record": "lead", "key": f"extra_{i}", "label": f"Extra {i}", "type": "text"}
            for i in range(n - 1)
        ]
        # The template declares two; keep the first and add the rest.
        edit_definition(
            admin_actor, lambda d: d.update(custom_fields=d["custom_fields"][:1] + extra)
        )
    elif kind == "history":
        for i in range(n - 1):
            pipeline_services.opportunity_move(
                actor=actor,
                opportunity_id=opportunity.pk,
                stage="lost" if i % 2 == 0 else "identify",
                reason="Paused",
            )
        return f"/opportunities/{opportunity.pk}/history"
    return f"/{kind}"


LIST_CEILINGS = {
    # auth, count, rows
    "companies": 3,
    "people": 3,
    "leads": 3,
    "opportunities": 3,
    "notes": 3,
    # auth, definition, pipelines, stages
    "pipelines": 4,
    # auth, fields
    "custom-fields": 2,
    # auth, opportunity exists, changes
    "history": 3,
}


def _queries_for(api, path: str) -> int:
    api.get(path)  # warm: the token's last-used time is written once, not on every request
    with CaptureQueriesContext(connection) as context:
        response = api.get(path)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("kind", list(LIST_CEILINGS))
@pytest.mark.parametrize("rows", [1, 20])
def test_list_query_count_does_not_grow_with_rows(
    api, actor, admin_actor, company, person, opportunity, kind, rows
):
    path = _make_rows(kind, rows, actor, admin_actor, company, person, opportunity)
    response = api.get(path)
    body = response.json()
    shown = len(body["items"])

    queries = _queries_for(api, path)

    assert shown == rows
    assert queries <= LIST_CEILINGS[kind]


@pytest.mark.parametrize("kind", list(LIST_CEILINGS))
def test_list_query_count_is_the_same_for_1_and_20_rows(
    api, actor, admin_actor, company, person, opportunity, kind
):
    path = _make_rows(kind, 1, actor, admin_actor, company, person, opportunity)
    one = _queries_for(api, path)
    _make_rows(kind, 20, actor, admin_actor, company, person, opportunity)

    twenty = _queries_for(api, path)

    assert twenty == one


def test_a_custom_field_filter_costs_one_more_query_whatever_the_rows(
    api, actor, django_assert_max_num_queries
):
    for i in range(20):
        make_opportunity(actor, name=f"Deal {i}", custom_fields={"poc_needed": True})
    api.get("/opportunities?cf_poc_needed=true")

    with django_assert_max_num_queries(LIST_CEILINGS["opportunities"] + 1):
        response = api.get("/opportunities?cf_poc_needed=true")

    assert response.json()["count"] == 20
