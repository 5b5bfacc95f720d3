"""Lists, global search and the phone layout in Chromium."""

import csv
import io

from playwright.sync_api import expect

from salesline.accounts import services as accounts
from salesline.records import services as records
from salesline.records.models import Lead

from .conftest import DESKTOP, PASSWORD, PHONE, axe_violations


def add_lead(actor, name, source="Expo"):
    return records.record_create(
        actor=actor,
        kind="lead",
        data={
            "name": name,
            "email": f"{name.split()[0].lower()}@piql.com",
            "company_name": "Piql",
            "business_unit": "Nordics",
            "source": source,
            "details": "Met at the stand.",
        },
    )


def actor_of(user, org):
    return accounts.actor_for(user, org)


def test_search_and_filters_narrow_the_list_without_a_reload(signed_in, member, org):
    actor = actor_of(member, org)
    for name, source in (("Ann Berg", "Web"), ("Anna Ek", "Expo"), ("Bo Li", "Expo")):
        add_lead(actor, name, source)
    page = signed_in
    page.goto("/records/leads/")
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    page.get_by_label("Search leads by name or e-mail").fill("ann")
    expect(page.locator("table.records tbody tr")).to_have_count(2)
    assert "q=ann" in page.url  # the URL follows, so the view can be shared and reloaded
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Source").select_option("Expo")  # the sources in use
    expect(page.locator("table.records tbody tr")).to_have_count(1)
    expect(page.locator("table.records")).to_contain_text("Anna Ek")
    expect(page.locator(".chips")).to_contain_text("Source: Expo")


def test_bulk_assign_then_delete_with_confirmation_and_undo(signed_in, member, org):
    actor = actor_of(member, org)
    colleague = accounts.user_create(
        email="cy@piql.test",
        actor=accounts.system_actor(org),
        role="salesperson",
        password=PASSWORD,
    )
    for name in ("Ann Berg", "Bo Li", "Cy Dee"):
        add_lead(actor, name)
    page = signed_in
    page.goto("/records/leads/?ordering=name")
    assign = page.get_by_role("button", name="Assign owner")
    expect(assign).to_be_disabled()
    page.get_by_label("Select Ann Berg").check()
    page.get_by_label("Select Bo Li").check()
    expect(page.locator("[data-bulk-count]")).to_have_text("2 selected")
    page.get_by_label("New owner").select_option(label="cy@piql.test")
    assign.click()
    expect(page.locator(".messages")).to_contain_text("Assigned 2 leads to cy@piql.test.")
    owners = dict(Lead.objects.values_list("name", "owner_id"))
    assert owners["Ann Berg"] == owners["Bo Li"] == colleague.pk != owners["Cy Dee"]

    page.get_by_label("Select every lead on this page").check()
    page.get_by_role("button", name="Delete…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete 3 leads?")
    assert Lead.objects.filter(deleted_at=None).count() == 3
    page.get_by_role("button", name="Delete 3 leads").click()
    expect(page.locator(".messages")).to_contain_text("Deleted 3 leads.")
    expect(page.get_by_text("No leads match.")).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    assert Lead.objects.filter(deleted_at=None).count() == 3


def test_export_downloads_the_current_filter(signed_in, member, org):
    actor = actor_of(member, org)
    add_lead(actor, "Ann Berg", "Web")
    add_lead(actor, "Bo Li", "Expo")
    page = signed_in
    page.goto("/records/leads/?source=Expo")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    text = open(download.value.path(), encoding="utf-8-sig").read()  # noqa: PTH123, SIM115
    assert [row["name"] for row in csv.DictReader(io.StringIO(text))] == ["Bo Li"]


def test_global_search_shows_results_as_you_type_and_home_remembers(signed_in, member, org):
    actor = actor_of(member, org)
    lead = add_lead(actor, "Ada Lovelace")
    add_lead(actor, "Bo Li")
    page = signed_in
    page.goto("/")
    page.keyboard.press("/")  # the shortcut focuses the search box
    page.keyboard.type("ada")
    results = page.locator("#global-results")
    expect(results.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(results).not_to_contain_text("Bo Li")
    results.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(f"{page.url.split('/records')[0]}/records/leads/{lead.pk}/")
    page.goto("/")
    expect(page.locator(".recent")).to_contain_text("Ada Lovelace")


def test_a_list_on_a_phone_has_no_sideways_scroll_and_no_serious_violations(signed_in, member, org):
    actor = actor_of(member, org)
    for name in ("Ann Berg", "Bo Li"):
        add_lead(actor, name)
    page = signed_in
    page.goto("/records/leads/")
    assert axe_violations(page) == []
    page.set_viewport_size(PHONE)
    page.goto("/records/leads/")
    expect(page.locator("table.records")).to_contain_text("Ann Berg")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto("/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_filter_panels_inputs_stay_in_their_own_column(admin_signed_in):
    """Range inputs spilled into the next column and over its select (the first week's
    report): every input and select lies inside its own cell, at desktop and phone width."""
    page = admin_signed_in
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        page.goto("/records/opportunities/")
        page.locator("details.filters").evaluate("d => d.open = true")
        spills = page.evaluate(
            """() => [...document.querySelectorAll('.filter-grid > *')].flatMap(cell => {
                const box = cell.getBoundingClientRect();
                return [...cell.querySelectorAll('input, select')]
                  .map(i => i.getBoundingClientRect())
                  .filter(r => r.right > box.right + 1 || r.left < box.left - 1)
                  .map(() => cell.textContent.trim().split('\\n')[0]);
            })"""
        )
        assert spills == [], (size, spills)
