"""The stage-history import page: admins upload, the dry run's report is the preview, "Run
import" writes it; other members get a 403 that names the rule."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesline.pipeline.models import Opportunity, StageChange
from salesline.pipeline.services import opportunity_create
from salesline.records.models import ImportJob
from tests.pipeline.test_history_import import history_csv

URL = "/imports/new/stage-history/"


@pytest.fixture(autouse=True)
def own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def admin_browser(org, admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_a_salesperson_is_refused_with_the_rule(browser):
    response = browser.get(URL)
    assert response.status_code == 403
    assert "Only an admin of Piql Archive can import stage history" in response.content.decode()
    upload = SimpleUploadedFile("h.csv", history_csv([(1, "identify", "2024-01-01", "")]))
    assert browser.post(URL, {"file": upload}).status_code == 403
    assert not ImportJob.objects.exists()


def test_an_admin_dry_runs_then_runs_the_import(admin_browser, actor):
    opportunity = opportunity_create(actor=actor, data={"name": "Archive 1"})
    page = admin_browser.get(URL)
    assert page.status_code == 200 and "to_stage" in page.content.decode()
    rows = [
        (opportunity.pk, "identify", "2024-01-10T09:00:00Z", ""),
        (opportunity.pk, "propose", "2024-02-10T09:00:00Z", ""),
        (opportunity.pk, "closing", "2024-02-11T09:00:00Z", ""),
    ]
    upload = SimpleUploadedFile("history.csv", history_csv(rows), content_type="text/csv")
    response = admin_browser.post(URL, {"file": upload, "dry_run": "on"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.dry_run, job.created, job.rejected) == (True, 2, 1)
    report = admin_browser.get(response["Location"]).content.decode()
    assert "pipeline business-development has no stage &#x27;closing&#x27;" in report
    assert "Back to mapping" not in report and "Undo this import" not in report
    assert StageChange.objects.filter(opportunity=opportunity, imported=True).count() == 0

    ran = admin_browser.post(f"/imports/{job.pk}/run/")
    assert ran.status_code == 302
    real = ImportJob.objects.get(dry_run=False)
    assert (real.created, real.updated, real.rejected) == (2, 1, 1)
    assert Opportunity.objects.get(pk=opportunity.pk).stage.key == "propose"
    listing = admin_browser.get("/imports/").content.decode()
    assert "Stage-history" in listing
    assert admin_browser.get(f"/imports/{job.pk}/mapping/").status_code == 404


def test_a_file_without_the_columns_is_shown_on_the_form(admin_browser):
    upload = SimpleUploadedFile("h.csv", b"opportunity,stage\n1,identify\n")
    response = admin_browser.post(URL, {"file": upload})
    assert response.status_code == 400
    assert "lacks the columns to_stage, at" in response.content.decode()
