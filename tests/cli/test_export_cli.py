"""`salesline export KIND FILE --org SLUG --as EMAIL [--format] [filters]`."""

import pytest

from salesline import cli
from salesline.core.models import AuditEvent
from tests.exporting import (
    UNICODE_NAMES,
    add_lead_custom_fields,
    make_formula_leads,
    make_lead,
    read_csv,
    read_xlsx,
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def export(capsys, org, user, kind, path, *options: str) -> tuple[int, str, str]:
    return run(capsys, "export", kind, str(path), "--org", org.slug, "--as", user.email, *options)


@pytest.fixture
def leads(actor):
    return {
        "kari": make_lead(actor, "Kari Hansen", source="Website"),
        "anne": make_lead(actor, "Anne Berg", source="Expo"),
        "ola": make_lead(actor, "Ola Nordmann", source="Website"),
    }


def names(path) -> list[str]:
    return [row["name"] for row in read_csv(path.read_bytes())]


def test_writes_a_csv_and_says_how_many(capsys, org, user, leads, tmp_path):
    path = tmp_path / "leads.csv"
    code, out, err = export(capsys, org, user, "leads", path, "--ordering", "name")

    assert (code, err) == (0, "")
    assert out == f"Exported 3 leads to {path}\n"
    assert names(path) == ["Anne Berg", "Kari Hansen", "Ola Nordmann"]
    assert not list(tmp_path.glob(".*.part"))


def test_the_format_follows_the_extension_unless_told(capsys, org, user, leads, tmp_path):
    xlsx = tmp_path / "leads.xlsx"
    assert export(capsys, org, user, "leads", xlsx)[0] == 0
    header, rows = read_xlsx(xlsx)
    assert header[:2] == ["id", "name"] and len(rows) == 3

    forced = tmp_path / "leads.data"
    assert export(capsys, org, user, "leads", forced, "--format", "xlsx")[0] == 0
    assert forced.read_bytes().startswith(b"PK\x03\x04")
    as_csv = tmp_path / "sheet.xlsx.txt"
    assert export(capsys, org, user, "leads", as_csv)[0] == 0
    assert len(read_csv(as_csv.read_bytes())) == 3


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--source", "Website", "--ordering", "name"], ["Kari Hansen", "Ola Nordmann"]),
        (["--source=Website", "--ordering=-name"], ["Ola Nordmann", "Kari Hansen"]),
        (["--filter", "source=Expo"], ["Anne Berg"]),
        (["--filter", "source=Website", "--q", "ola"], ["Ola Nordmann"]),
        (["--q", "an"], ["Anne Berg"]),
        (["--ordering", "-created_at"], ["Ola Nordmann", "Anne Berg", "Kari Hansen"]),
    ],
)
def test_filters_are_the_lists(capsys, org, user, leads, tmp_path, options, expected):
    path = tmp_path / "out.csv"
    code, out, err = export(capsys, org, user, "leads", path, *options)

    assert (code, err) == (0, ""), err
    assert names(path) == expected
    assert out == f"Exported {len(expected)} leads to {path}\n"


def test_custom_fields_unicode_and_neutralised_formulas(
    capsys, org, user, actor, admin_actor, tmp_path
):
    add_lead_custom_fields(admin_actor)
    for name in UNICODE_NAMES:
        make_lead(actor, name, custom_fields={"budget": 5})
    formulas = make_formula_leads(actor)

    path = tmp_path / "leads.csv"
    assert export(capsys, org, user, "leads", path, "--cf_budget", "5", "--ordering", "id")[0] == 0
    rows = read_csv(path.read_bytes())
    assert [row["name"] for row in rows] == UNICODE_NAMES
    assert {row["cf_budget"] for row in rows} == {"5"}

    assert export(capsys, org, user, "leads", path)[0] == 0
    exported = {int(row["id"]): row["name"] for row in read_csv(path.read_bytes())}
    assert {pk: exported[pk] for pk in formulas} == formulas

    xlsx = tmp_path / "leads.xlsx"
    assert export(capsys, org, user, "leads", xlsx)[0] == 0
    _, xrows = read_xlsx(xlsx)
    assert all(row["name"].startswith("'") for row in xrows if row["id"] in formulas)


@pytest.mark.parametrize("kind", ["companies", "people", "opportunities", "lead"])
def test_every_kind_exports(capsys, org, user, company, person, lead, opportunity, tmp_path, kind):
    path = tmp_path / "out.csv"
    code, out, _ = export(capsys, org, user, kind, path)

    assert code == 0
    assert len(read_csv(path.read_bytes())) == 1
    plural = {"lead": "leads"}.get(kind, kind)
    assert out == f"Exported 1 {plural} to {path}\n"


def test_another_organisations_rows_are_not_exported(
    capsys, org, user, leads, other_org, other_user, other_actor, tmp_path
):
    make_lead(other_actor, "Eve Other")
    path = tmp_path / "theirs.csv"

    assert export(capsys, other_org, other_user, "leads", path)[0] == 0
    assert names(path) == ["Eve Other"]


def test_the_export_is_audited_as_the_member(capsys, org, user, leads, tmp_path):
    export(capsys, org, user, "leads", tmp_path / "a.csv", "--source", "Website")

    event = AuditEvent.objects.get(action="export")
    assert event.actor_label == user.email
    assert event.changes == {"filters": {"source": "Website"}, "format": "csv", "rows": 2}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["leads", "{path}", "--org", "nowhere", "--as", "ann@piql.test"], "No organisation"),
        (["leads", "{path}", "--org", "piql-archive", "--as", "eve@other.test"], "not a member"),
        (["leads", "{path}", "--org", "piql-archive", "--as", "nobody@x.test"], "No user"),
        (["widgets", "{path}", "--org", "piql-archive", "--as", "ann@piql.test"], "Unknown kind"),
        (
            ["leads", "{path}", "--org", "piql-archive", "--as", "ann@piql.test", "--sourc", "x"],
            "Unknown filter 'sourc'.",
        ),
        (
            ["leads", "{path}", "--org", "piql-archive", "--as", "ann@piql.test", "--filter", "x"],
            "is not KEY=VALUE",
        ),
        (
            ["leads", "{path}", "--org", "piql-archive", "--as", "ann@piql.test", "--source"],
            "filter '--source' needs a value",
        ),
        (
            ["leads", "{path}", "--org", "piql-archive", "--as", "ann@piql.test", "stray"],
            "unexpected argument 'stray'",
        ),
        (
            [
                "leads",
                "{path}",
                "--org",
                "piql-archive",
                "--as",
                "ann@piql.test",
                "--ordering",
                "x",
            ],
            "Cannot order by 'x'",
        ),
    ],
)
def test_failures_exit_1_with_a_message_and_write_nothing(
    capsys, org, user, other_user, tmp_path, argv, message
):
    path = tmp_path / "out.csv"
    code, out, err = run(capsys, "export", *(a.replace("{path}", str(path)) for a in argv))

    assert code == 1
    assert out == ""
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(action="export").exists()


def test_a_file_that_cannot_be_written_is_an_error(capsys, org, user, tmp_path):
    path = tmp_path / "missing" / "out.csv"
    code, _, err = export(capsys, org, user, "leads", path)

    assert code == 1
    assert err.startswith(f"error: Cannot write '{path}'")


def test_a_bad_format_is_a_usage_error(capsys, org, user, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        export(capsys, org, user, "leads", tmp_path / "x", "--format", "pdf")
    assert exit_info.value.code == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


def test_help_and_other_commands_still_refuse_unknown_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["export", "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert out.startswith("usage: salesline export")
    assert "--filter KEY=VALUE" in out

    with pytest.raises(SystemExit) as exit_info:
        cli.main(["purge", "--source", "x"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --source x" in capsys.readouterr().err
