"""`salesline org update --country --booking-url --from-email`: checked and audited by the same
service as the web page and the API."""

import pytest

from salesline import cli
from salesline.accounts.models import Organisation
from salesline.core.models import AuditEvent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_org_update_sets_the_playbook_settings(org, capsys):
    code, out, err = run(
        capsys,
        "org",
        "update",
        "--org",
        org.slug,
        "--country",
        "no",
        "--booking-url",
        "https://cal.example.com/piql",
        "--from-email",
        "partnerships@piql.test",
    )

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"Country of {org.slug}: NO (was none).",
        f"Booking link of {org.slug}: https://cal.example.com/piql (was none).",
        f"From address of {org.slug}: partnerships@piql.test (was none).",
    ]
    stored = Organisation.objects.get(pk=org.pk)
    assert (stored.country, stored.booking_url, stored.from_email, stored.phone_region) == (
        "NO",
        "https://cal.example.com/piql",
        "partnerships@piql.test",
        "",
    )
    event = AuditEvent.objects.get(object_type="organisation", action="update")
    assert event.actor_label == "cli"
    assert set(event.changes) == {"country", "booking_url", "from_email"}

    code, out, _ = run(capsys, "org", "update", "--org", org.slug, "--country", "")
    assert (code, out) == (0, f"Country of {org.slug}: none (was NO).\n")


def test_org_update_reports_every_problem_and_changes_nothing(org, capsys):
    code, out, err = run(
        capsys,
        "org",
        "update",
        "--org",
        org.slug,
        "--country",
        "XX",
        "--booking-url",
        "ftp://files.test/",
        "--from-email",
        "nobody",
    )
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == "error: The settings were not changed."
    assert lines[1].startswith("Country 'XX' is not a country code")
    assert lines[2].startswith("Booking link must be a web address")
    assert lines[3].startswith("From address 'nobody' is not a valid e-mail address")
    assert Organisation.objects.get(pk=org.pk).country == ""


def test_org_update_needs_at_least_one_setting(org, capsys):
    with pytest.raises(SystemExit) as usage:
        cli.main(["org", "update", "--org", org.slug])
    assert usage.value.code == 2
    assert "give at least one of --phone-region" in capsys.readouterr().err
