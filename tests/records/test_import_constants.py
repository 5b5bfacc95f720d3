"""One value for every row ("constants"): checked up front, stored with the import, given to
every row (a dry run run for real and a resumed run use the same ones); the fields a kind
requires, and which of them nothing gives; the report's names, e-mails and written records."""

import pytest

from salesline.core.errors import ValidationFailed
from salesline.records.importing import services as imports
from salesline.records.models import ImportJob, Lead, Person
from tests.records.test_import import csv_bytes

# A trade-show file: no business unit, no source, no details column.
FAIR = ["Full name", "E-mail", "Company"]
FAIR_ROWS = [
    ["Ann Berg", "ann@piql.com", "Piql AS"],
    ["Bo Li", "bo@", "Piql AS"],  # rejected: a bad e-mail, whatever the constants
    ["Cy Dahl", "cy@piql.com", "Lund AS"],
]
EXPO = {"source": "Archiving Expo 2026", "business_unit": "Nordics", "details": "Met at the stand"}


@pytest.fixture
def fair(tmp_path):
    path = tmp_path / "fair.csv"
    path.write_bytes(csv_bytes(FAIR_ROWS, FAIR))
    return path


def start(actor, path, **options):
    return imports.import_start(
        actor=actor, kind="leads", file=path, file_name=path.name, inline=True, **options
    ).job


def problems(error: ValidationFailed) -> dict:
    return {problem.loc: problem.msg for problem in error.value.problems}


def test_without_constants_every_row_lacks_the_required_fields(actor, fair):
    job = start(actor, fair)
    assert (job.created, job.rejected) == (0, 3)
    reasons = {i["reason"] for i in imports.import_report(job)["rejected"]}
    assert {"Source is required", "Business unit is required"} <= reasons


def test_constants_fill_every_row_and_are_stored_with_the_import(actor, org, fair):
    job = start(actor, fair, constants=EXPO)
    assert (job.status, job.created, job.rejected) == ("done", 2, 1)
    assert job.constants == EXPO
    leads = Lead.objects.filter(organisation=org).order_by("id")
    assert [(lead.name, lead.source, lead.business_unit, lead.details) for lead in leads] == [
        ("Ann Berg", "Archiving Expo 2026", "Nordics", "Met at the stand"),
        ("Cy Dahl", "Archiving Expo 2026", "Nordics", "Met at the stand"),
    ]
    report = imports.import_report(job)
    assert report["constants"] == EXPO
    # The bad row is rejected for its own fault only, and named.
    assert report["rejected"] == [
        {
            "row": 3,
            "name": "Bo Li",
            "email": "bo@",
            "field": "email",
            "reason": report["rejected"][0]["reason"],
        }
    ]
    assert [r["name"] for r in report["created_records"]] == ["Ann Berg", "Cy Dahl"]


def test_a_dry_run_run_for_real_uses_its_constants(actor, org, fair):
    dry = start(actor, fair, constants=EXPO, dry_run=True)
    assert (dry.created, Lead.objects.filter(organisation=org).count()) == (2, 0)
    assert imports.import_report(dry)["created_records"] == []
    job, created = imports.import_run_dry_run(actor=actor, import_id=dry.pk)
    assert created and job.constants == EXPO and (job.created, job.rejected) == (2, 1)
    assert set(Lead.objects.filter(organisation=org).values_list("source", flat=True)) == {
        "Archiving Expo 2026"
    }


def test_the_worker_runs_a_queued_import_with_its_stored_constants(actor, org, fair):
    job = imports.import_create(
        actor=actor, kind="leads", file=fair, file_name="fair.csv", constants=EXPO
    )
    job = ImportJob.objects.get(pk=job.pk)  # as the worker loads it
    job = imports.import_execute(actor=actor, import_id=job.pk, workers=1)
    assert (job.created, job.rejected) == (2, 1)
    assert Lead.objects.filter(organisation=org, source="Archiving Expo 2026").count() == 2


def test_a_constant_for_an_unknown_field_is_refused_naming_it(actor, fair):
    with pytest.raises(ValidationFailed) as error:
        start(actor, fair, constants={"sauce": "Expo"})
    assert "'sauce' is not a field of leads" in problems(error)[("constants", "sauce")]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("field", ["name", "email", "first_name"])
def test_a_field_that_tells_rows_apart_cannot_be_a_constant(actor, fair, field):
    with pytest.raises(ValidationFailed) as error:
        start(actor, fair, constants={field: "x@piql.com"})
    assert "cannot be given one value for every row" in problems(error)[("constants", field)]


def test_a_field_both_mapped_and_given_one_value_is_refused(actor, tmp_path):
    path = tmp_path / "with-source.csv"
    path.write_bytes(csv_bytes([["Ann", "ann@piql.com", "Web"]], ["Name", "E-mail", "Source"]))
    with pytest.raises(ValidationFailed) as error:
        start(actor, path, constants={"source": "Expo"})
    assert problems(error)[("constants", "source")] == (
        "Source is both mapped to a column ('Source') and given one value for every row; "
        "choose one of them."
    )
    # Ignoring the column lets the constant in.
    job = start(actor, path, mapping={"Source": None}, constants={"source": "Expo"})
    assert job.constants == {"source": "Expo"}


@pytest.mark.parametrize(
    ("constants", "field", "says"),
    [
        ({"source": "  "}, "source", "Give a value for Source"),
        ({"source": ["Expo"]}, "source", "must be text"),
        ({"owner": "nobody@else.test"}, "owner", "nobody@else.test is not a member"),
        ({"business_unit": "x" * 500}, "business_unit", "longer than"),
    ],
)
def test_a_value_no_row_could_take_is_refused_up_front(actor, fair, constants, field, says):
    with pytest.raises(ValidationFailed) as error:
        start(actor, fair, constants=constants)
    assert says in problems(error)[("constants", field)]
    assert not ImportJob.objects.exists()


def test_constants_that_are_not_an_object_are_refused(actor, fair):
    with pytest.raises(ValidationFailed) as error:
        start(actor, fair, constants=["source", "Expo"])
    assert "must be a JSON object" in problems(error)[("constants",)]


def test_an_owner_and_a_custom_field_can_be_constants(actor, user, org, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(
        csv_bytes(
            [["Ann Berg", "ann@piql.com", "+4790000000", "Piql", "CEO"]],
            ["Name", "E-mail", "Phone", "Company", "Title"],
        )
    )
    job = imports.import_start(
        actor=actor,
        kind="people",
        file=path,
        file_name="people.csv",
        inline=True,
        constants={
            "owner": user.email,
            "business_unit": "Nordics",
            "custom_fields.buying_influence_concept": "Economic buyer",
        },
    ).job
    assert (job.created, job.rejected) == (1, 0), imports.import_report(job)["rejected"]
    ann = Person.objects.get(pk=imports.written_records(job)["created"][0][0])
    assert ann.owner_id == user.pk
    assert ann.custom_fields == {"buying_influence_concept": "Economic buyer"}
    assert job.constants["cf_buying_influence_concept"] == "Economic buyer"


def test_the_required_fields_and_what_gives_them(actor):
    required = imports.import_requirements(actor, "lead")
    assert [r.target for r in required] == [
        "name",
        "company_name",
        "email",
        "business_unit",
        "source",
        "details",
    ]
    mapping = {"First": "first_name", "Mail": "email", "Firm": "company_name", "x": None}
    missing = imports.missing_requirements(required, mapping, {"source": "Expo"})
    assert [r.label for r in missing] == ["Business unit", "Details"]
    person = {r.target: r.label for r in imports.import_requirements(actor, "person")}
    assert person["company"] == "Company"  # a person's company is named in a file


def test_the_report_links_the_records_created_and_updated(actor, org, fair, tmp_path):
    first = start(actor, fair, constants=EXPO)
    again = tmp_path / "again.csv"
    again.write_bytes(
        csv_bytes([["Ann Berg", "ann@piql.com", "Piql AS", "+4790000000"]], [*FAIR, "Phone"])
    )
    second = start(actor, again, constants=EXPO, on_duplicate="update")
    assert (second.created, second.updated) == (0, 1)
    ann = Lead.objects.get(organisation=org, email="ann@piql.com")
    assert imports.written_records(second) == {"created": [], "updated": [(ann.pk, "Ann Berg")]}
    created = imports.written_records(first)
    assert [name for _, name in created["created"]] == ["Ann Berg", "Cy Dahl"]
    assert imports.written_records(first, limit=1)["created"] == [(ann.pk, "Ann Berg")]
    imports.import_undo(actor=actor, import_id=second.pk)
    imports.import_undo(actor=actor, import_id=first.pk)
    assert imports.written_records(first)["created"] == []
