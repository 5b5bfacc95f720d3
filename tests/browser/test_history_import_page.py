"""The stage-history import page in a real browser: an admin uploads a file as a dry run, reads
its report with the rejected row, runs it; both pages pass axe."""

import pytest
from playwright.sync_api import expect

from salesline.accounts.services import actor_for
from salesline.pipeline.models import Opportunity
from salesline.pipeline.services import opportunity_create
from tests.pipeline.test_history_import import history_csv

from .conftest import axe_violations


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_admin_imports_stage_history(admin_signed_in, admin_member, org, tmp_path):
    page = admin_signed_in
    deal = opportunity_create(actor=actor_for(admin_member, org), data={"name": "Archive"})
    path = tmp_path / "history.csv"
    path.write_bytes(
        history_csv(
            [
                (deal.pk, "identify", "2024-01-10T09:00:00Z", ""),
                (deal.pk, "develop", "2024-02-10T09:00:00Z", ""),
                (deal.pk, "nowhere", "2024-02-11T09:00:00Z", ""),
            ]
        )
    )
    page.goto("/imports/new/stage-history/")
    assert axe_violations(page) == []
    page.get_by_label("File (CSV or XLSX)").set_input_files(str(path))
    page.get_by_role("button", name="Upload and import").click()
    expect(page.get_by_role("heading", name="Done: what the import would do")).to_be_visible()
    expect(
        page.get_by_role("cell", name="pipeline business-development has no stage")
    ).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Run import").click()
    expect(page.get_by_role("heading", name="Done", exact=True)).to_be_visible()
    assert Opportunity.objects.get(pk=deal.pk).stage.key == "develop"
