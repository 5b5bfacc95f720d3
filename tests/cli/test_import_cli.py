"""`salesline import` and `salesline import undo`, in-process, with the contract's JSON."""

import json
import time

import pytest

from salesline import cli
from salesline.records.models import ImportJob, Lead
from tests.records import hostile
from tests.records.test_import import HEADER, csv_bytes, lead_row


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def leads_file(tmp_path):
    rows = [lead_row(f"Person {i}", f"p{i}@piql.com", phone="020 7946 0018") for i in range(8)]
    rows.append(lead_row("Bad", "bad@"))
    rows.append(lead_row("Person 1 again", "P1@PIQL.com"))
    path = tmp_path / "fair.csv"
    path.write_bytes(csv_bytes(rows, HEADER))
    return path


def test_import_prints_the_contract_json(capsys, org, user, leads_file):
    code, out, err = run(
        capsys,
        "import",
        "leads",
        str(leads_file),
        "--org",
        org.slug,
        "--as",
        user.email,
        "--region",
        "GB",
        "--json",
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["created"] == 8 and report["updated"] == 0 and report["duplicates"] == 1
    assert report["rejected"] == [
        {
            "row": 10,
            "name": "Bad",
            "email": "bad@",
            "field": "email",
            "reason": report["rejected"][0]["reason"],
        }
    ]
    assert "e-mail" in report["rejected"][0]["reason"].lower()
    assert isinstance(report["import_id"], int)
    assert Lead.objects.get(email="p3@piql.com").phone == "+442079460018"


def test_dry_run_writes_nothing(capsys, org, user, leads_file):
    code, out, _ = run(
        capsys,
        "import",
        "leads",
        str(leads_file),
        "--org",
        org.slug,
        "--as",
        user.email,
        "--dry-run",
        "--json",
        "--region",
        "GB",
    )
    assert code == 0 and json.loads(out)["created"] == 8
    assert not Lead.objects.exists()


def test_mapping_file_and_policy(capsys, org, user, tmp_path, leads_file):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"Phone": None}))
    code, out, err = run(
        capsys,
        "import",
        "leads",
        str(leads_file),
        "--org",
        org.slug,
        "--as",
        user.email,
        "--mapping",
        str(mapping),
        "--on-duplicate",
        "update",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["created"] == 8
    assert set(Lead.objects.values_list("phone", flat=True)) == {""}


def test_undo(capsys, org, user, leads_file):
    _, out, _ = run(
        capsys,
        "import",
        "leads",
        str(leads_file),
        "--org",
        org.slug,
        "--as",
        user.email,
        "--json",
        "--region",
        "GB",
    )
    import_id = json.loads(out)["import_id"]
    code, out, _ = run(
        capsys, "import", "undo", str(import_id), "--org", org.slug, "--as", user.email
    )
    assert code == 0 and "8 records removed" in out
    assert not Lead.objects.filter(deleted_at=None).exists()
    code, _, err = run(
        capsys, "import", "undo", str(import_id), "--org", org.slug, "--as", user.email
    )
    assert code == 1 and "already undone" in err


def test_human_summary(capsys, org, user, leads_file):
    code, out, _ = run(
        capsys,
        "import",
        "leads",
        str(leads_file),
        "--org",
        org.slug,
        "--as",
        user.email,
        "--region",
        "GB",
    )
    assert code == 0
    assert "8 created, 0 updated, 1 duplicates, 1 rejected" in out
    assert "row 10 (Bad, bad@): E-mail is not a valid e-mail address" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--org", "nope", "--as", "ann@piql.test"], "No organisation 'nope'"),
        (["--org", "{org}", "--as", "stranger@x.com"], "No user"),
        (["--org", "{org}", "--as", "ann@piql.test", "--region", "ZZ"], "Region 'ZZ'"),
    ],
)
def test_errors_exit_1_with_a_message(capsys, org, user, leads_file, argv, message):
    argv = [a.replace("{org}", org.slug) for a in argv]
    code, _, err = run(capsys, "import", "leads", str(leads_file), *argv)
    assert code == 1 and message in err


def test_a_missing_file_or_bad_mapping_file(capsys, org, user, tmp_path):
    code, _, err = run(
        capsys, "import", "leads", str(tmp_path / "none.csv"), "--org", org.slug, "--as", user.email
    )
    assert code == 1 and "no file" in err
    data = tmp_path / "x.csv"
    data.write_bytes(csv_bytes([lead_row("A", "a@b.com")], HEADER))
    bad = tmp_path / "m.json"
    bad.write_text("[1]")
    code, _, err = run(
        capsys,
        "import",
        "leads",
        str(data),
        "--org",
        org.slug,
        "--as",
        user.email,
        "--mapping",
        str(bad),
    )
    assert code == 1 and "must hold an object" in err


def test_unknown_kind_is_a_usage_error(capsys, org, user, leads_file):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["import", "deals", str(leads_file), "--org", org.slug, "--as", user.email])
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("name", "build", "message"), [pytest.param(*c[1:], id=c[0]) for c in hostile.REFUSED]
)
def test_a_hostile_file_exits_1_naming_the_problem(
    capsys, org, user, tmp_path, name, build, message
):
    path = tmp_path / name
    path.write_bytes(build())
    started = time.perf_counter()
    code, out, err = run(
        capsys, "import", "leads", str(path), "--org", org.slug, "--as", user.email
    )
    assert code == 1 and message in err, err
    assert "Traceback" not in err and out == ""
    assert time.perf_counter() - started < 15
    assert not ImportJob.objects.exists()


def test_the_summary_notes_legacy_rows_and_numbers_a_vcard_files_cards(capsys, org, user, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(hostile.mixed_encodings())
    code, out, err = run(
        capsys, "import", "leads", str(path), "--org", org.slug, "--as", user.email
    )
    assert code == 0, err
    assert f"  note: {hostile.MIXED_NOTE}" in out.splitlines()
    code, out, _ = run(
        capsys, "import", "leads", str(path), "--org", org.slug, "--as", user.email, "--json"
    )
    assert json.loads(out)["notes"] == [hostile.MIXED_NOTE]

    from tests.records.test_vcard import V4

    cards = tmp_path / "cards.vcf"
    cards.write_text(V4)
    code, out, err = run(
        capsys, "import", "people", str(cards), "--org", org.slug, "--as", user.email
    )
    assert code == 0, err
    assert "  card 2 (Broken Card): Card 2 (line 15) cannot be read" in out
    assert "  row " not in out


def test_a_cell_over_the_cell_limit_rejects_one_row_and_exits_0(capsys, org, user, tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(hostile.overlong_csv())
    code, out, err = run(
        capsys, "import", "leads", str(path), "--org", org.slug, "--as", user.email
    )
    assert code == 0, err
    assert "3 created" in out and "1 rejected" in out
    assert f"  row 3 (Bo Li, bo@piql.com): {hostile.OVERLONG_REASON}" in out.splitlines()


def test_a_mixed_encoding_file_imports_every_name_as_written(capsys, org, user, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(hostile.mixed_encodings())
    code, out, err = run(
        capsys, "import", "leads", str(path), "--org", org.slug, "--as", user.email, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["created"] == 4
    assert set(Lead.objects.values_list("name", flat=True)) == set(hostile.MIXED_NAMES)


# ------------------------------------------------------------------ --set FIELD=VALUE


@pytest.fixture
def fair_file(tmp_path):
    rows = [["Ann Berg", "ann@piql.com", "Piql AS"], ["Bo Li", "bo@", "Lund AS"]]
    path = tmp_path / "expo.csv"
    path.write_bytes(csv_bytes(rows, ["Full name", "E-mail", "Company"]))
    return path


def import_fair(capsys, org, user, path, *options):
    return run(
        capsys, "import", "leads", str(path), "--org", org.slug, "--as", user.email, *options
    )


EXPO_SETS = (
    "--set",
    "source=Archiving Expo 2026",
    "--set",
    "business_unit=Nordics",
    "--set",
    "details=Met at the stand",
)


def test_set_gives_every_row_one_value(capsys, org, user, fair_file):
    code, out, err = import_fair(capsys, org, user, fair_file, *EXPO_SETS, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["created"], report["constants"]["source"]) == (1, "Archiving Expo 2026")
    lead = Lead.objects.get(organisation=org)
    assert (lead.source, lead.business_unit, lead.details) == (
        "Archiving Expo 2026",
        "Nordics",
        "Met at the stand",
    )
    assert ImportJob.objects.get().constants["business_unit"] == "Nordics"


def test_set_is_shown_and_rejected_rows_are_named(capsys, org, user, fair_file):
    code, out, err = import_fair(capsys, org, user, fair_file, *EXPO_SETS, "--dry-run")
    assert code == 0, err
    assert "every row: source = Archiving Expo 2026" in out
    assert "row 3 (Bo Li, bo@):" in out
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("sauce=Expo", "'sauce' is not a field of leads"),
        ("email=a@piql.com", "cannot be given one value for every row"),
        ("source", "--set 'source' is not FIELD=VALUE"),
        ("=Expo", "is not FIELD=VALUE"),
        ("owner=nobody@else.test", "is not a member"),
    ],
)
def test_a_bad_set_fails_with_a_message_and_imports_nothing(
    capsys, org, user, fair_file, option, says
):
    code, out, err = import_fair(capsys, org, user, fair_file, "--set", option)
    assert code != 0
    assert says in err
    assert not ImportJob.objects.exists() and not Lead.objects.exists()


def test_set_twice_for_one_field_fails(capsys, org, user, fair_file):
    code, _, err = import_fair(
        capsys, org, user, fair_file, "--set", "source=A", "--set", "source=B"
    )
    assert code != 0 and "--set gives 'source' twice" in err
