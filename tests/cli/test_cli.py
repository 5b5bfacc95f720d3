"""The `salesline` console script, called in-process through main(); one test runs the installed
script itself."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from salesline import cli, demo_network
from salesline.accounts.models import Membership, Organisation, User
from salesline.core.models import AuditEvent
from salesline.pipeline.models import Pipeline
from salesline.process.definition import template_names, template_text
from salesline.process.selectors import definition_row_for
from salesline.process.services import process_parse
from salesline.records.models import Company

COMMANDS = [
    [],
    ["init"],
    ["org"],
    ["org", "create"],
    ["org", "update"],
    ["user"],
    ["user", "create"],
    ["token"],
    ["token", "create"],
    ["process"],
    ["process", "templates"],
    ["process", "load"],
    ["process", "export"],
    ["serve"],
    ["purge"],
    ["capacity"],
    ["capacity", "plan"],
]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def usage_exit(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "salesline")
def test_every_command_has_help(capsys, command):
    code, out, err = usage_exit(capsys, *command, "--help")
    assert code == 0
    assert out.startswith(f"usage: salesline {' '.join(command)}".rstrip())
    assert err == ""


def test_top_level_help_lists_every_command(capsys):
    _, out, _ = usage_exit(capsys, "--help")
    for name in ("init", "org", "user", "token", "process", "serve", "purge"):
        assert name in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["org"], "the following arguments are required: COMMAND"),
        (["org", "create", "Piql Archive"], "the following arguments are required: --template"),
        (["user", "create", "a@b.test", "--role", "admin"], "required: --org"),
        (["process", "load", "--org", "x"], "required: FILE_OR_TEMPLATE"),
        (["serve", "--port", "http"], "'http' is not a port number"),
        (["serve", "--port", "70000"], "70000 is not between 1 and 65535"),
        (["serve", "--workers", "0"], "'0' is not a whole number of 1 or more"),
        (["worker", "--worker-id", ""], "'' is not a worker id (1 to 64 printable"),
        (["worker", "--replaces", "x" * 65], "is not a worker id (1 to 64 printable"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    code, out, err = usage_exit(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("salesline")
    assert script.exists(), "run `make install`: the console script is missing"
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(script), "process", "templates"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == template_names()
    done = subprocess.run(  # noqa: S603
        [str(script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert "usage: salesline" in done.stdout


# ---------------------------------------------------------------- init and purge


def test_init_creates_a_missing_database(db, tmp_path):
    """The real script against a database that does not exist yet: SQLite in a folder that does
    not exist either, or a new database on the PostgreSQL server the tests use."""
    from urllib.parse import quote

    from django.db import connection

    env = dict(os.environ)
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        name = f"salesline_cli_init_{os.getpid()}"
        credentials = f"{quote(settings['USER'])}:{quote(settings['PASSWORD'] or '')}"
        env["DATABASE_URL"] = (
            f"postgres://{credentials}@{settings['HOST']}:{settings['PORT'] or 5432}/{name}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'var' / 'salesline.sqlite3'}"
    script = Path(sys.executable).with_name("salesline")
    try:
        done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
            [str(script), "init"], capture_output=True, text=True, timeout=300, env=env
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("Database created")
        if connection.vendor != "postgresql":
            assert (tmp_path / "var" / "salesline.sqlite3").exists()
        # With the database as the cache (as in production), init makes its table, once.
        env.update(DJANGO_SETTINGS_MODULE="config.settings.base", CACHE_URL="db://")
        for _ in range(2):
            done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
                [str(script), "init"], capture_output=True, text=True, timeout=300, env=env
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith("Database up to date")
        assert "salesline_cache" in _table_names(env["DATABASE_URL"])
    finally:
        if connection.vendor == "postgresql":
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(name)}")


def _table_names(database_url: str) -> set[str]:
    """The tables of another database than the tests', read with the driver itself."""
    if database_url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    else:
        import psycopg

        with psycopg.connect(database_url) as db:
            rows = db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
    return {name for (name,) in rows}


def test_a_database_that_cannot_be_opened_is_an_error_not_a_traceback(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}"}
    script = Path(sys.executable).with_name("salesline")
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(script), "process", "export", "--org", "piql"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: database: unable to open database file")
    assert "Traceback" not in done.stderr


def test_init_migrates_an_up_to_date_database(db, capsys):
    code, out, err = run(capsys, "init")
    assert (code, err) == (0, "")
    assert out.startswith("Database up to date")


def test_init_creates_the_cache_table_when_the_cache_is_the_database(db, capsys):
    from django.core.cache import caches
    from django.db import connection
    from django.test import override_settings

    from config.settings.base import cache_from_url

    with override_settings(CACHES={"default": cache_from_url("db://salesline_cache_cli")}):
        assert "salesline_cache_cli" not in connection.introspection.table_names()
        for _ in range(2):  # the second run finds the table and leaves it
            code, out, err = run(capsys, "init")
            assert (code, err) == (0, "")
            assert out.startswith("Database up to date")
            assert "salesline_cache_cli" in connection.introspection.table_names()
            caches["default"].set("checked", 1)
        assert caches["default"].get("checked") == 1


def test_init_with_a_cache_of_its_own_makes_no_table(db, capsys):
    from django.db import connection

    before = set(connection.introspection.table_names())
    code, _, err = run(capsys, "init")
    assert (code, err) == (0, "")
    assert set(connection.introspection.table_names()) == before


def test_init_demo_loads_once_and_prints_a_working_login(db, capsys):
    code, first, err = run(capsys, "init", "--demo")
    assert (code, err) == (0, "")
    assert "http://127.0.0.1:8000/" in first
    assert "demo@salesline.test" in first
    assert "salesline-demo" in first
    assert User.objects.get(email="demo@salesline.test").check_password("salesline-demo")
    token = first.split("API token: ")[1].split()[0]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/companies").status_code == 200

    code, second, err = run(capsys, "init", "--demo")
    assert (code, err) == (0, "")
    assert "already loaded" in second
    # The three demo organisations and the network's five co-operatives, one of which took a
    # referral: the enquirer became a company in its books.
    assert Organisation.objects.count() == 3 + len(demo_network.MEMBERS)
    assert Company.objects.count() == 200 + 1
    assert "switch to Brightwork Co-op" in first
    token = second.split("API token: ")[1].split()[0]
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/companies").status_code == 200


def test_purge_removes_records_past_the_restore_window(actor, company, capsys):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from salesline.core.models import AuditEvent
    from salesline.records.services import record_delete

    record_delete(actor=actor, kind="company", record_id=company.pk)
    code, out, _ = run(capsys, "purge")
    assert code == 0
    assert out.startswith("Removed 0 records (0 opportunity, 0 lead, 0 person, 0 company)")
    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        code, out, _ = run(capsys, "purge")
    assert code == 0
    assert out.startswith("Removed 1 records (0 opportunity, 0 lead, 0 person, 1 company)")
    assert not Company.objects.filter(pk=company.pk).exists()
    event = AuditEvent.objects.get(action="purge", object_type="company")
    assert event.organisation_id == company.organisation_id
    assert event.changes == {"removed": [1, 0]}


# ---------------------------------------------------------------- organisations


def test_org_create_prints_the_slug_alone(db, capsys):
    code, out, err = run(capsys, "org", "create", "Piql Archive", "--template", "partnerships")
    assert (code, out, err) == (0, "piql-archive\n", "")
    organisation = Organisation.objects.get(slug="piql-archive")
    assert organisation.template == "partnerships"
    assert definition_row_for(organisation).version == 1
    assert Pipeline.objects.filter(organisation=organisation, key="partnerships").exists()

    code, out, _ = run(capsys, "org", "create", "Piql Archive", "--template", "partnerships")
    assert (code, out) == (0, "piql-archive-2\n")


def test_org_create_with_an_unknown_template_fails(db, capsys):
    code, out, err = run(capsys, "org", "create", "Piql Archive", "--template", "nope")
    assert (code, out) == (1, "")
    assert err == (
        "error: Unknown template 'nope'. "
        "Templates: business-development, network-enquiries, partnerships.\n"
    )
    assert not Organisation.objects.exists()


def test_org_update_changes_the_phone_region_audited(org, capsys):
    code, out, err = run(capsys, "org", "update", "--org", org.slug, "--phone-region", "gb")
    assert (code, out, err) == (0, f"Phone region of {org.slug}: GB (was none).\n", "")
    assert Organisation.objects.get(pk=org.pk).phone_region == "GB"
    event = AuditEvent.objects.get(object_type="organisation", action="update")
    assert (event.actor_label, event.changes) == ("cli", {"phone_region": ["", "GB"]})

    code, out, _ = run(capsys, "org", "update", "--org", org.slug, "--phone-region", "GB")
    assert (code, out) == (0, f"Phone region of {org.slug}: GB (unchanged).\n")
    code, out, _ = run(capsys, "org", "update", "--org", org.slug, "--phone-region", "")
    assert (code, out) == (0, f"Phone region of {org.slug}: none (was GB).\n")
    assert Organisation.objects.get(pk=org.pk).phone_region == ""


def test_org_update_refuses_an_unknown_region_or_organisation(org, capsys):
    code, out, err = run(capsys, "org", "update", "--org", org.slug, "--phone-region", "XX")
    assert (code, out) == (1, "")
    assert err == (
        "error: The phone region was not changed.\n"
        "Phone region 'XX' is not a country code such as GB or NO.\n"
    )
    code, _, err = run(capsys, "org", "update", "--org", "nope", "--phone-region", "GB")
    assert (code, err) == (1, "error: No organisation 'nope'.\n")
    assert Organisation.objects.get(pk=org.pk).phone_region == ""
    with pytest.raises(SystemExit) as usage:
        cli.main(["org", "update", "--org", org.slug])
    assert usage.value.code == 2


# ---------------------------------------------------------------- users and tokens


def test_user_create_gives_a_role_and_a_password(org, capsys):
    code, out, err = run(
        capsys,
        "user",
        "create",
        "Ann@Piql.test",
        "--org",
        org.slug,
        "--role",
        "Sales coordinator",
        "--password",
        "correct-horse-battery",
    )
    assert (code, err) == (0, "")
    assert out == f"ann@piql.test is sales_coordinator in {org.slug}.\n"
    user = User.objects.get(email="ann@piql.test")
    assert user.check_password("correct-horse-battery")
    assert list(Membership.objects.filter(user=user).values_list("role", flat=True)) == [
        "sales_coordinator"
    ]


def test_user_create_reads_the_password_from_stdin(org, capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("from-stdin-secret\n"))
    code, _, err = run(
        capsys,
        "user",
        "create",
        "bo@piql.test",
        "--org",
        org.slug,
        "--role",
        "admin",
        "--password",
        "-",
    )
    assert (code, err) == (0, "")
    assert User.objects.get(email="bo@piql.test").check_password("from-stdin-secret")


def test_user_create_reports_every_problem(org, capsys):
    code, out, err = run(capsys, "user", "create", "bad", "--org", org.slug, "--role", "wizard")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error: The user was not created.",
        "'bad' is not a valid e-mail address.",
        "Unknown role 'wizard'. Roles: admin, salesperson, sales_coordinator, project_leader, "
        "customer_service, inside_sales, promotions_coordinator, sales_support_manager, "
        "special_projects_coordinator.",
    ]
    assert not User.objects.filter(email="bad").exists()


def test_user_create_in_an_unknown_organisation_fails(db, capsys):
    code, _, err = run(capsys, "user", "create", "a@b.test", "--org", "nope", "--role", "admin")
    assert code == 1
    assert err == "error: No organisation 'nope'.\n"


def test_token_create_prints_a_token_that_authenticates(org, user, capsys):
    code, out, err = run(capsys, "token", "create", user.email.upper(), "--org", org.slug)
    assert (code, err) == (0, "")
    token = out.strip()
    assert out == f"{token}\n"
    assert token.startswith("sl_")
    response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/companies")
    assert response.status_code == 200
    assert Client(HTTP_AUTHORIZATION="Bearer sl_nope").get("/api/v1/companies").status_code == 401


def test_token_create_refuses_unknown_users_and_non_members(org, other_user, capsys):
    code, out, err = run(capsys, "token", "create", "nobody@x.test", "--org", org.slug)
    assert (code, out, err) == (1, "", "error: No user 'nobody@x.test'.\n")
    code, out, err = run(capsys, "token", "create", other_user.email, "--org", org.slug)
    assert (code, out) == (1, "")
    assert err == f"error: {other_user.email} is not a member of {org.slug}.\n"
    code, _, err = run(capsys, "token", "create", other_user.email, "--org", "nope")
    assert (code, err) == (1, "error: No organisation 'nope'.\n")


# ---------------------------------------------------------------- process definitions


def test_process_templates_lists_one_name_per_line(capsys):
    code, out, _ = run(capsys, "process", "templates")
    assert code == 0
    assert out.splitlines() == ["business-development", "network-enquiries", "partnerships"]


def test_process_load_a_file_puts_a_new_version_in_force(org, tmp_path, capsys):
    path = tmp_path / "process.yaml"
    path.write_text(
        template_text("business-development").replace("name: Develop", "name: Build the case"),
        encoding="utf-8",
    )
    code, out, err = run(capsys, "process", "load", str(path), "--org", org.slug)
    assert (code, err) == (0, "")
    assert out == f"Loaded 'Business Development Journey' into {org.slug} as version 2.\n"
    assert definition_row_for(org).version == 2
    assert Pipeline.objects.get(organisation=org).stages.get(key="develop").name == "Build the case"


def test_process_load_reports_problems_with_their_lines(org, tmp_path, capsys):
    text = template_text("business-development").replace(
        "require: [business_case]", "require: [valeu, business_case]"
    )
    line = text.splitlines().index("          require: [valeu, business_case]") + 1
    path = tmp_path / "process.yaml"
    path.write_text(text, encoding="utf-8")
    for check in ([], ["--check"]):
        code, out, err = run(capsys, "process", "load", str(path), "--org", org.slug, *check)
        assert (code, out) == (1, "")
        assert err.splitlines() == [
            "error: The process definition is not valid.",
            f"line {line}: pipelines[0].stages[2].gate.require[0]: unknown field 'valeu'",
        ]
    assert definition_row_for(org).version == 1


def test_process_load_check_validates_and_loads_nothing(org, capsys):
    code, out, err = run(capsys, "process", "load", "partnerships", "--org", org.slug, "--check")
    assert (code, err) == (0, "")
    assert out == f"'Partnerships' is valid for {org.slug}; nothing was loaded.\n"
    assert definition_row_for(org).version == 1
    assert list(Pipeline.objects.filter(organisation=org).values_list("key", flat=True)) == [
        "business-development"
    ]


def test_process_load_check_includes_the_data_loss_check(org, opportunity, capsys):
    for check in (["--check"], []):
        code, out, err = run(capsys, "process", "load", "partnerships", "--org", org.slug, *check)
        assert (code, out) == (1, "")
        lines = err.splitlines()
        assert lines[0] == "error: The process definition would lose data."
        assert lines[1].startswith(
            "Removing pipeline 'business-development' would orphan 1 opportunity in stage "
            f"'identify': #{opportunity.pk} Archive project."
        )
    assert definition_row_for(org).version == 1


def test_process_load_from_a_missing_file_fails(org, capsys):
    code, out, err = run(capsys, "process", "load", "missing.yaml", "--org", org.slug)
    assert (code, out) == (1, "")
    assert err == (
        "error: Cannot read 'missing.yaml': No such file or directory. Give a YAML file or a "
        "template (business-development, network-enquiries, partnerships).\n"
    )


def test_process_load_into_an_unknown_organisation_fails(db, capsys):
    code, _, err = run(capsys, "process", "load", "partnerships", "--org", "nope")
    assert (code, err) == (1, "error: No organisation 'nope'.\n")


def test_process_export_writes_yaml_that_loads_again(org, tmp_path, capsys):
    code, out, err = run(capsys, "process", "export", "--org", org.slug)
    assert (code, err) == (0, "")
    assert out == template_text("business-development")
    assert process_parse(out).name == "Business Development Journey"

    path = tmp_path / "exported.yaml"
    code, out, _ = run(capsys, "process", "export", "--org", org.slug, str(path))
    assert code == 0
    assert out == f"Wrote version 1 of {org.slug}'s definition to {path}.\n"
    assert path.read_text(encoding="utf-8") == template_text("business-development")
    code, _, err = run(capsys, "process", "load", str(path), "--org", org.slug)
    assert (code, err) == (0, "")
    assert definition_row_for(org).version == 2


def test_process_export_of_an_unknown_organisation_fails(db, capsys):
    code, out, err = run(capsys, "process", "export", "--org", "nope")
    assert (code, out, err) == (1, "", "error: No organisation 'nope'.\n")


# ---------------------------------------------------------------- serve


def test_serve_uses_the_shared_gunicorn_config():
    assert Path(cli.GUNICORN_CONFIG).is_file()
    assert Path(cli.GUNICORN_CONFIG).read_text().count('worker_class = "sync"') == 1


def test_serve_arguments_default_to_loopback_and_two_workers():
    args = cli.build_parser().parse_args(["serve"])
    assert cli.gunicorn_argv(host=args.host, port=args.port, workers=args.workers) == [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        cli.GUNICORN_CONFIG,
        "config.wsgi:application",
        "--bind",
        "127.0.0.1:8000",
        "--workers",
        "2",
        "--access-logfile",
        "-",
    ]


def test_serve_arguments_carry_host_port_and_workers():
    args = cli.build_parser().parse_args(
        ["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "4"]  # noqa: S104
    )
    argv = cli.gunicorn_argv(host=args.host, port=args.port, workers=args.workers)
    assert argv[6:10] == ["--bind", "0.0.0.0:9000", "--workers", "4"]
    assert cli.gunicorn_argv(host="::1", port=8000, workers=1)[7] == "[::1]:8000"


def test_serve_collects_static_files_then_execs_gunicorn(
    db, settings, tmp_path, monkeypatch, capsys
):
    settings.STATIC_ROOT = tmp_path / "static"
    calls = []
    monkeypatch.setattr(cli.os, "execv", lambda path, argv: calls.append((path, argv)))
    code, out, _ = run(capsys, "serve", "--port", "8123")
    assert code == 0
    assert settings.STATIC_ROOT.is_dir()
    [(path, argv)] = calls
    assert path == sys.executable
    assert argv == cli.gunicorn_argv(host="127.0.0.1", port=8123, workers=2)
    assert "http://127.0.0.1:8123/" in out


def test_purge_removes_staged_uploads_left_unused_for_a_day(db, settings, tmp_path, capsys):
    import os
    import time

    settings.MEDIA_ROOT = tmp_path
    staged = tmp_path / "imports" / "staged"
    staged.mkdir(parents=True)
    old, fresh = staged / "abandoned", staged / "in-use"
    old.write_text("name,email\n")
    fresh.write_text("name,email\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    code, out, _ = run(capsys, "purge")
    assert code == 0
    assert "Removed 1 uploaded files left unused" in out
    assert not old.exists() and fresh.exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Piql\x07Archive", "error: Name must not contain control characters (U+0007)."),
        ("Piql \udcff", "error: Name must not contain a lone UTF-16 surrogate (U+DCFF)"),
        ("Evil \u202eAS", "error: Name must not contain bidirectional control characters"),
        ("P" * 201, "error: Name must be at most 200 characters (it has 201)."),
    ],
)
def test_org_create_refuses_hostile_text_naming_the_field(capsys, db, name, message):
    # A name from argv holds U+DCFF when its bytes are not UTF-8 (Python's surrogateescape).
    code, out, err = run(capsys, "org", "create", name, "--template", "partnerships")

    assert (code, out) == (1, "")
    assert err.startswith(message)
    assert not Organisation.objects.exists()


def test_org_create_takes_a_phone_region(capsys, db):
    code, out, _ = run(
        capsys, "org", "create", "UK Ltd", "--template", "partnerships", "--phone-region", "gb"
    )

    assert code == 0
    assert Organisation.objects.get(slug=out.strip()).phone_region == "GB"
