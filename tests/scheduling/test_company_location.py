"""Companies' location fields: the one rule for the services, the form, filters and the CSV
import (country as an ISO code, coordinates in range)."""

import pytest

from salesline.core.errors import ValidationFailed
from salesline.records.models import Company
from salesline.records.services import record_create, record_update
from tests.conftest import COMPANY

pytestmark = pytest.mark.django_db


def test_company_location_is_cleaned(actor):
    company = record_create(
        actor=actor,
        kind="company",
        data={
            **COMPANY,
            "address": "10 Downing St",
            "city": "London",
            "country": " gb ",
            "latitude": "51.5034",
            "longitude": -0.1276,
        },
    )
    assert (company.country, company.latitude, company.longitude) == ("GB", 51.5034, -0.1276)
    with pytest.raises(ValidationFailed) as exc:
        record_update(
            actor=actor,
            kind="company",
            record_id=company.pk,
            data={"country": "XX", "latitude": "north", "longitude": 200},
        )
    assert {p.loc[0] for p in exc.value.problems} == {"country", "latitude", "longitude"}


def test_company_form_and_import_have_the_location(org, actor, user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    html = client.get("/records/companies/new/").content.decode()
    for name in ("address", "city", "country", "latitude", "longitude"):
        assert f'name="{name}"' in html
    from salesline.records.importing.mapping import targets

    assert {"address", "city", "country", "latitude", "longitude"} <= set(targets("company", []))


def test_company_list_filters_by_coordinates(api, actor):
    record_create(
        actor=actor, kind="company", data={**COMPANY, "latitude": 41.9, "longitude": -87.6}
    )
    record_create(
        actor=actor,
        kind="company",
        data={**COMPANY, "name": "South", "latitude": 33.7, "longitude": -84.4},
    )
    response = api.get("/companies?latitude__gte=40")
    assert response.status_code == 200, response.content
    assert [c["name"] for c in response.json()["items"]] == [COMPANY["name"]]
    assert Company.objects.count() == 2


def test_company_import_reads_the_location_columns(actor, org, tmp_path):
    import csv
    import io

    from salesline.records.importing import services as imports

    header = ["Company", "Contact type", "BU", "Market", "Life cycle", "Sector", "Segment"]
    header += ["Address", "City", "Country", "Lat", "Lng"]
    base = ["Customer", "Nordics", "Norway", "Prospect", "Government", "National"]
    rows = [
        ["Windy Archives", *base, "1 Wacker Dr", "Chicago", "us", "41.88", "-87.63"],
        ["Bad Place Ltd", *base, "", "Leeds", "UK", "95", "0"],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / "companies.csv"
    path.write_text(buffer.getvalue())
    job = imports.import_create(actor=actor, kind="companies", file=path, file_name=path.name)
    job = imports.import_execute(actor=actor, import_id=job.pk)
    report = imports.import_report(job)
    assert (job.created, job.rejected) == (1, 1), report
    windy = Company.objects.get(organisation=org, name="Windy Archives")
    assert (windy.address, windy.city, windy.country) == ("1 Wacker Dr", "Chicago", "US")
    assert (windy.latitude, windy.longitude) == (41.88, -87.63)
    fields = {issue["field"] for issue in report["rejected"]}
    assert fields & {"country", "latitude"}


def test_company_page_shows_the_location(actor, user):
    from django.test import Client
    from django.urls import reverse

    company = record_create(
        actor=actor,
        kind="company",
        data={
            **COMPANY,
            "city": "Chicago",
            "country": "US",
            "latitude": 41.8781,
            "longitude": -87.6298,
        },
    )
    client = Client()
    client.force_login(user)
    html = client.get(reverse("web:record-detail", args=["companies", company.pk])).content.decode()
    assert "Chicago" in html and "41.8781" in html and "-87.6298" in html
    edit = client.get(reverse("web:record-edit", args=["companies", company.pk]))
    assert edit.status_code == 200 and 'value="41.8781"' in edit.content.decode()
