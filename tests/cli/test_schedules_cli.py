"""`salesline schedules run`: every schedule due now, once; what it did printed."""

from datetime import date

import pytest

from salesline import cli
from salesline.pipeline.services import opportunity_create, opportunity_move
from salesline.playbooks import agreement_schedules, agreement_services
from salesline.playbooks.models import Invoice


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def signed(partners_actor):
    opportunity = opportunity_create(actor=partners_actor, data={"name": "Observatory hub"})
    opportunity_move(
        actor=partners_actor,
        opportunity_id=opportunity.pk,
        stage="prospect",
        checks=["verbal_close_yes"],
    )
    agreement = agreement_services.agreement_create(
        actor=partners_actor,
        opportunity_id=opportunity.pk,
        data={
            "start_date": "2026-01-31",
            "end_date": "2026-12-31",
            "value": "1100",
            "billing_frequency": "monthly",
        },
    )
    return agreement_services.agreement_sign(
        actor=partners_actor, agreement_id=agreement.pk, signed_on=date(2026, 1, 2)
    )


def test_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["schedules", "run", "--help"])
    assert exit_info.value.code == 0
    assert "usage: salesline schedules run" in capsys.readouterr().out


def test_a_bad_date_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["schedules", "run", "--today", "31/01/2026"])
    assert exit_info.value.code == 2
    assert "'31/01/2026' is not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_catches_up_and_prints_what_it_did(capsys, signed):
    code, out, err = run(capsys, "schedules", "run", "--today", "2026-03-31")
    assert code == 0, err
    lines = out.splitlines()
    invoices = [line for line in lines if line.startswith("Invoice ")]
    assert len(invoices) == 3
    assert "Observatory hub: 100.00 EUR, issued 2026-02-28" in invoices[1]
    assert "invoicing: 3 run" in lines
    assert Invoice.objects.filter(agreement=signed).count() == 3

    code, out, _ = run(capsys, "schedules", "run", "--today", "2026-03-31")
    assert code == 0
    assert "invoicing: 0 run" in out.splitlines()


def test_a_failure_is_printed_and_exits_1(capsys, signed, monkeypatch):
    def broken(agreement, period):
        raise RuntimeError("storage is full")

    monkeypatch.setattr(agreement_schedules, "issue_invoice", broken)
    code, out, err = run(capsys, "schedules", "run", "--today", "2026-02-01")
    assert code == 1
    assert (
        f"invoicing agreement {signed.pk} due 2026-01-31 failed: RuntimeError: storage is full"
        in err
    )
    assert "(it runs again next time)" in err
