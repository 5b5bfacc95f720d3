"""Record lists: the API's filters, search, ordering and keyset pages, scoped to the organisation."""

import re

import pytest

from salesline.records import services as records


def add_leads(actor, names, source="Expo"):
    for name in names:
        records.record_create(
            actor=actor,
            kind="lead",
            data={
                "name": name,
                "email": f"{name.split()[0].lower()}@piql.com",
                "company_name": "Piql",
                "business_unit": "Nordics",
                "source": source,
                "details": "x",
            },
        )


@pytest.mark.parametrize("plural", ["companies", "people", "leads", "opportunities"])
def test_every_list_renders_and_a_new_organisation_is_told_how_to_begin(browser, plural):
    page = browser.get(f"/records/{plural}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"There are no {plural} yet." in text and f"No {plural} match." not in text
    assert ("Import a file" in text) is (plural != "opportunities")
    assert "Export this list" not in text  # nothing to export


def test_a_filter_that_matches_nothing_says_so_and_counts_in_the_singular(browser):
    add_leads(browser.actor, ["Ann Berg"])
    text = browser.get("/records/leads/?q=zzz").content.decode()
    assert "No leads match." in text and "yet" not in text
    text = browser.get("/records/leads/").content.decode()
    assert '<p class="count">1 lead' in text and "Export this list" in text


def test_a_list_shows_only_this_organisation(browser, other_actor):
    add_leads(browser.actor, ["Ann Berg"])
    add_leads(other_actor, ["Eve Other"])
    page = browser.get("/records/leads/")
    assert b"Ann Berg" in page.content and b"Eve Other" not in page.content


def test_search_filter_and_ordering(browser):
    add_leads(browser.actor, ["Ann Berg", "Bo Li"], source="Web")
    add_leads(browser.actor, ["Anna Ek"], source="Expo")
    page = browser.get("/records/leads/?q=ann")
    assert b"Ann Berg" in page.content and b"Anna Ek" in page.content
    assert b"Bo Li" not in page.content
    page = browser.get("/records/leads/?source=Web&ordering=-name")
    text = page.content.decode()
    assert text.index("Bo Li") < text.index("Ann Berg") and "Anna Ek" not in text


def test_a_word_search_says_best_matches_first_and_claims_no_name_order(browser):
    add_leads(browser.actor, ["Asha Rao", "Raoul Berg", "Bo Li"])
    page = browser.get("/records/leads/?q=rao")
    text = page.content.decode()
    assert text.index("Raoul Berg") < text.index("Asha Rao") and "Bo Li" not in text
    assert "best matches first" in text and "then surnames that do" in text
    assert "Name ▲" not in text and 'aria-sort="ascending"' not in text
    # Surnames rank second for one word only.
    text = browser.get("/records/leads/?q=asha+rao").content.decode()
    assert "best matches first" in text and "surnames" not in text
    # Without a search the list is in the order its header says.
    text = browser.get("/records/leads/?ordering=name").content.decode()
    assert "Name ▲" in text and "best matches first" not in text


def test_a_bad_filter_is_shown_not_a_500(browser):
    page = browser.get("/records/leads/?sauce=Web")
    assert page.status_code == 400
    assert b'role="alert"' in page.content and b"sauce" in page.content


def test_keyset_pages(browser):
    add_leads(browser.actor, [f"Person {i:02d}" for i in range(5)])
    first = browser.get("/records/leads/?ordering=name&limit=2")
    assert first.context["next_query"]
    second = browser.get("/records/leads/?" + first.context["next_query"])
    names = [values[0] for _, values in first.context["rows"] + second.context["rows"]]
    assert names == ["Person 00", "Person 01", "Person 02", "Person 03"]


def test_an_unknown_list_is_404(browser):
    assert browser.get("/records/deals/").status_code == 404


def test_a_record_page_shows_fields_and_a_safe_timeline(browser):
    add_leads(browser.actor, ["Ann Berg"])
    lead = records.record_create(
        actor=browser.actor,
        kind="lead",
        data={
            "name": "Bo Li",
            "email": "bo@piql.com",
            "company_name": "Piql",
            "business_unit": "Nordics",
            "source": "Expo",
            "details": "x",
        },
    )
    records.note_create(
        actor=browser.actor,
        body="<script>alert(1)</script>\nCall back",
        target={"lead_id": lead.pk},
    )
    listing = browser.get("/records/leads/")
    assert f'href="/records/leads/{lead.pk}/"'.encode() in listing.content
    page = browser.get(f"/records/leads/{lead.pk}/")
    assert page.status_code == 200
    assert b"bo@piql.com" in page.content and b"Expo" in page.content
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;<br>Call back" in page.content
    assert b"Created: " in page.content  # the audit event of its creation, in words


def test_an_opportunity_page_shows_its_stage_changes(browser):
    from salesline.accounts.models import User
    from salesline.pipeline.services import opportunity_create
    from salesline.records.services import record_update

    User.objects.filter(pk=browser.actor.user.pk).update(full_name="Mo Member")
    browser.actor.user.refresh_from_db()
    opportunity = opportunity_create(
        actor=browser.actor, data={"name": "County archive", "value": "180000"}
    )
    record_update(
        actor=browser.actor,
        kind="opportunity",
        record_id=opportunity.pk,
        data={"expected_close_date": "2027-01-31", "data_volume": "3 TB"},
    )
    page = browser.get(f"/records/opportunities/{opportunity.pk}/")
    text = page.content.decode()
    assert page.status_code == 200 and "County archive" in text
    # Stages by name, fields by label, people by name (the timeline said "identify",
    # "expected_close_date" and an e-mail).
    assert "moved from (new) to Identify" in text
    assert "Changed: Data volume, Expected close date" in text
    assert "Mo Member" in text
    # Money as on the board; only form inputs (the agreement's value) keep the plain number.
    shown = re.sub(r"<input[^>]*>", "", text)
    assert "180,000 EUR" in shown and "180000.00" not in shown


def test_a_record_of_another_organisation_is_404(browser, other_actor):
    add_leads(other_actor, ["Eve Other"])
    from salesline.records.models import Lead

    other = Lead.objects.get(name="Eve Other")
    assert browser.get(f"/records/leads/{other.pk}/").status_code == 404
    assert browser.get("/records/leads/999999/").status_code == 404


def test_the_opportunity_list_shows_open_ones_with_their_owner_and_a_me_filter(browser, org):
    from salesline.accounts import services as accounts
    from salesline.accounts.models import User
    from salesline.pipeline.services import opportunity_create, opportunity_move

    User.objects.filter(pk=browser.actor.user.pk).update(full_name="Sam Seller")
    other = accounts.user_create(
        email="kim@piql.test", actor=accounts.system_actor(org), role="salesperson"
    )
    theirs_actor = accounts.actor_for(other, org)
    opportunity_create(actor=browser.actor, data={"name": "Mine open", "value": "730000"})
    opportunity_create(actor=theirs_actor, data={"name": "Theirs open", "value": "12.5"})
    lost = opportunity_create(actor=browser.actor, data={"name": "Mine lost"})
    opportunity_move(actor=browser.actor, opportunity_id=lost.pk, stage="lost", reason="No budget")

    page = browser.get("/records/opportunities/").content.decode()
    assert "Mine open" in page and "Theirs open" in page and "Mine lost" not in page
    assert '<th scope="col">Owner</th>' in page and 'data-label="Owner">Sam Seller<' in page
    assert "Sam Seller" in page and "kim@piql.test" in page  # a name, else the e-mail
    # Money as everywhere: separators and the currency, cents only when there are some.
    assert ">730,000 EUR<" in page and ">12.50 EUR<" in page and "730000.00" not in page
    assert "status=any" in page  # the default's chip widens the list to every status
    every = browser.get("/records/opportunities/?status=").content.decode()
    assert "Mine lost" in every and "status=any" in every  # links keep "any status"
    assert "Mine lost" in browser.get("/records/opportunities/?status=any").content.decode()
    mine = browser.get("/records/opportunities/?owner_id=me&status=any").content.decode()
    assert "Mine open" in mine and "Mine lost" in mine and "Theirs open" not in mine
    assert '<option value="me" selected>Me</option>' in mine
    export = browser.get("/records/opportunities/export/?owner_id=me&format=csv")
    rows = b"".join(export.streaming_content if export.streaming else [export.content])
    assert b"Mine open" in rows and b"Mine lost" not in rows and b"Theirs open" not in rows


def test_a_custom_field_can_be_a_column_and_the_list_remembers_it(browser, company_custom_fields):
    from tests.conftest import COMPANY

    records.record_create(
        actor=browser.actor,
        kind="company",
        data={**COMPANY, "custom_fields": {"motto": "Keep it safe", "tier": "gold"}},
    )
    plain = browser.get("/records/companies/").content.decode()
    assert 'name="column" value="cf_motto"' in plain  # offered in the Columns panel
    assert "{#" not in plain and "superseded" not in plain  # template comments stay hidden
    assert '<td data-label="Motto">' not in plain
    chosen = browser.get("/records/companies/?columns=set&column=cf_motto&column=cf_nope")
    text = chosen.content.decode()
    assert chosen.status_code == 200
    assert '<th scope="col">Motto</th>' in text  # not sortable: the API orders built-ins only
    assert '<td data-label="Motto">Keep it safe</td>' in text
    assert 'value="cf_motto" checked' in text and "cf_nope" not in text
    # Sort links, pages and the menu keep the column; the panel sent with none ticked drops it.
    later = browser.get("/records/companies/?ordering=name").content.decode()
    assert '<td data-label="Motto">Keep it safe</td>' in later
    assert "column=" not in later.split('<table class="records">')[1].split("</thead>")[0]
    cleared = browser.get("/records/companies/?columns=set").content.decode()
    assert '<td data-label="Motto">' not in cleared


def test_custom_columns_leave_the_export_as_it_was(browser, company_custom_fields):
    from tests.conftest import COMPANY

    records.record_create(
        actor=browser.actor, kind="company", data={**COMPANY, "custom_fields": {"motto": "M"}}
    )
    before = b"".join(browser.get("/records/companies/export/?format=csv").streaming_content)
    browser.get("/records/companies/?columns=set&column=cf_motto")
    after = b"".join(browser.get("/records/companies/export/?format=csv").streaming_content)
    assert before == after
