"""One way to show things: money per currency, numbers and dates in the locale's formats, labels
instead of keys (issue 17, item 8)."""

import datetime as dt
import re
from decimal import Decimal

from django.utils import translation

from salesline.accounts.models import User
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.records import services as records
from salesline.web import formatting
from tests.conftest import COMPANY


def test_money_numbers_and_dates_follow_the_active_locale():
    assert formatting.money(Decimal("85000"), "EUR") == "85,000 EUR"
    assert formatting.money(Decimal("1234.5"), "NOK") == "1,234.50 NOK"
    assert formatting.number(1234567) == "1,234,567"
    assert formatting.day(dt.date(2026, 3, 1)) == "1 Mar 2026"
    assert formatting.moment(dt.datetime(2026, 3, 1, 14, 5, tzinfo=dt.UTC)) == "1 Mar 2026, 14:05"
    with translation.override("de"):
        assert formatting.money(Decimal("1234.5"), "EUR") == "1.234,50 EUR"
        assert formatting.number(1234567) == "1.234.567"
        assert formatting.day(dt.date(2026, 3, 1)) == "1. März 2026"


def test_shown_values_are_words_and_local_formats_never_raw_keys():
    assert formatting.shown(True) == "Yes" and formatting.shown(False) == "No"
    assert formatting.shown("1999-05-01", "date") == "1 May 1999"
    assert formatting.shown("not a date", "date") == "not a date"
    assert formatting.shown(12000) == "12,000"
    assert formatting.shown(None) == formatting.shown("") == ""
    assert formatting.money_totals({"NOK": Decimal(12000), "EUR": Decimal(85000)}) == (
        "85,000 EUR · 12,000 NOK"
    )


def test_home_sums_each_stage_per_currency(browser):
    for name, value, currency in (
        ("Archive one", "50000", "EUR"),
        ("Archive two", "35000", "EUR"),
        ("Archive three", "12000", "NOK"),
        ("Archive four", None, "EUR"),
    ):
        data = {"name": name, "currency": currency, **({"value": value} if value else {})}
        opportunity_create(actor=browser.actor, data=data)
    text = browser.get("/").content.decode()
    row = re.search(r"<tr><td>Business Development Journey</td>.*?</tr>", text, re.S)[0]
    assert ">Identify</a>" in row
    assert '<td class="num">4</td>' in row
    assert '<td class="num">85,000 EUR · 12,000 NOK</td>' in row


def test_a_stage_without_values_shows_a_dash_not_zero(browser):
    opportunity_create(actor=browser.actor, data={"name": "Archive"})
    text = browser.get("/").content.decode()
    assert '<td class="num"><span class="empty">—</span></td>' in text


def test_dates_have_one_format_on_the_record_page_the_list_and_home(browser):
    opportunity = opportunity_create(
        actor=browser.actor,
        data={"name": "County archive", "expected_close_date": "2020-01-31", "value": "5"},
    )
    page = browser.get(f"/records/opportunities/{opportunity.pk}/").content.decode()
    assert "31 Jan 2020" in page and "2020-01-31<" not in page
    # The timeline and the history: the locale's date and time, not 2026-03-01 14:05.
    assert not re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d<", page)
    listing = browser.get("/records/opportunities/").content.decode()
    assert ">31 Jan 2020</td>" in listing
    home = browser.get("/").content.decode()
    assert "due 31 Jan 2020" in home


def test_the_stage_history_names_stages_and_people(browser):
    User.objects.filter(pk=browser.actor.user.pk).update(full_name="Mo Member")
    browser.actor.user.refresh_from_db()
    opportunity = opportunity_create(actor=browser.actor, data={"name": "County archive"})
    opportunity_move(
        actor=browser.actor, opportunity_id=opportunity.pk, stage="lost", reason="No budget"
    )
    page = browser.get(f"/records/opportunities/{opportunity.pk}/").content.decode()
    history = page[page.index("<h2>Stage history</h2>") : page.index('<h2 id="notes">')]
    assert '<td data-label="From">Identify</td><td data-label="To">Lost</td>' in history
    assert '<td data-label="Who">Mo Member</td>' in history
    assert ">identify<" not in history and browser.actor.user.email not in history


def test_list_cells_show_yes_no_dates_and_numbers_of_custom_columns(browser, company_custom_fields):
    records.record_create(
        actor=browser.actor,
        kind="company",
        data={
            **COMPANY,
            "custom_fields": {"employees": 12000, "founded": "1999-05-01", "listed": True},
        },
    )
    columns = "columns=set&column=cf_employees&column=cf_founded&column=cf_listed"
    text = browser.get(f"/records/companies/?{columns}").content.decode()
    cells = re.findall(r'<td data-label="(Employees|Founded|Listed)">([^<]*)</td>', text)
    assert cells == [("Employees", "12,000"), ("Founded", "1 May 1999"), ("Listed", "Yes")]


def test_home_shows_an_imports_status_in_words(browser, tmp_path):
    from salesline.records.models import ImportJob

    ImportJob.objects.create(
        organisation=browser.actor.organisation,
        created_by=browser.actor.user,
        kind="lead",
        file_name="fair.csv",
        status=ImportJob.Status.QUEUED,
    )
    text = browser.get("/").content.decode()
    assert "fair.csv</a> — Waiting for the worker" in text
