"""Joint bids: creating one, who sees it, and the pack parsed back (ZIP and PDF)."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from .directory_helpers import put, skills, taxonomy

pytestmark = pytest.mark.django_db

QUESTIONS = [
    "What was your annual turnover in each of the last two years?",
    "Do you have an equality and diversity policy?",
    "Give details of your public liability insurance.",
    "Describe similar projects (case studies).",
    "What are your day rates?",
    "Do you hold a modern slavery statement?",
    '=HYPERLINK("http://evil")',
]


@pytest.fixture
def bid_world(world):
    taxonomy(world)
    skills(world, world.webarch, {"drupal": 5, "hosting": 4})
    skills(world, world.outlandish, {"python": 5})
    put(
        world.webarch.api,
        f"/members/{world.webarch.org.slug}/profile",
        {
            "summary": "Hosting co-operative",
            "day_rate": 450,
            "policies": "Equality and diversity policy.\nPublic liability insurance of 5m.",
            "accounts": "Turnover 2024 500k; 2025 600k",
            "annual_turnover": 600000,
        },
    )
    world.webarch.api.client.post(
        f"/api/v1/members/{world.webarch.org.slug}/documents",
        {
            "kind": "accounts",
            "title": "Accounts 2025",
            "file": SimpleUploadedFile("acc.pdf", b"ACC"),
        },
    )
    study = world.outlandish.api.post(
        "/case-studies",
        {
            "title": "Open data portal",
            "client": "City Council",
            "summary": "Python portal",
            "skills": ["python"],
            "year": 2024,
        },
    ).json()
    world.outlandish.api.client.post(
        f"/api/v1/case-studies/{study['id']}/files",
        {"file": SimpleUploadedFile("portal.txt", b"PORTAL")},
    )
    return world


def _create(world, creator, **extra):
    body = {
        "members": [world.webarch.org.slug, world.outlandish.org.slug],
        "lead_member": world.webarch.org.slug,
        "title": "Council digital framework",
        "questions": QUESTIONS,
        **extra,
    }
    return creator.api.post("/bids", body)


def test_bid_create_rules(bid_world):
    world = bid_world
    bad = world.webarch.api.post(
        "/bids",
        {
            "members": [world.webarch.org.slug, world.outsider.org.slug],
            "lead_member": world.agile.org.slug,
            "title": "",
            "questions": [],
        },
    )
    assert bad.status_code == 422
    assert {tuple(p["loc"]) for p in bad.json()["detail"]} == {
        ("body", "title"),
        ("body", "members", 1),
        ("body", "lead_member"),
    }
    assert _create(world, world.outsider).status_code == 404
    created = _create(world, world.outlandish, deadline="2026-12-31", tender="Lot 2")
    assert created.status_code == 201, created.content
    bid = created.json()
    assert bid["lead_member"] == world.webarch.org.slug
    assert bid["members"] == sorted([world.webarch.org.slug, world.outlandish.org.slug])
    assert bid["deadline"] == "2026-12-31"


def test_who_sees_a_bid(bid_world):
    world = bid_world
    bid_id = _create(world, world.webarch).json()["id"]
    for member in (world.webarch, world.outlandish, world.coordinator):
        assert member.api.get(f"/bids/{bid_id}").status_code == 200
        assert [b["id"] for b in member.api.get("/bids").json()["items"]] == [bid_id]
    # Agile's ordinary user is a member of the network but not of the bid.
    assert world.agile.api.get(f"/bids/{bid_id}").status_code == 404
    assert world.agile.api.get(f"/bids/{bid_id}/pack.zip").status_code == 404
    assert world.agile.api.get("/bids").json()["count"] == 0
    assert world.outsider.api.get(f"/bids/{bid_id}").status_code == 404
    assert world.outsider.api.get(f"/bids/{bid_id}/pack.pdf").status_code == 404


def test_pqq_answered_from_the_directory_with_what_is_missing(bid_world):
    world = bid_world
    bid_id = _create(world, world.webarch).json()["id"]
    bid = world.outlandish.api.get(f"/bids/{bid_id}").json()
    answers = {a["question"]: a for a in bid["pqq"]}
    turnover = answers[QUESTIONS[0]]
    assert turnover["topic"] == "accounts"
    assert "Webarchitects: annual turnover GBP 600,000" in turnover["answer"]
    assert "Accounts 2025" in turnover["answer"]
    assert turnover["missing"] == ["Outlandish: no turnover or accounts in the directory."]
    equality = answers[QUESTIONS[1]]
    assert equality["answer"] == "Webarchitects: equality policy in place."
    assert equality["missing"] == ["Outlandish: no equality policy in the directory."]
    assert answers[QUESTIONS[2]]["answer"] == "Webarchitects: Public liability insurance of 5m."
    assert "Outlandish: Open data portal for City Council, 2024." in answers[QUESTIONS[3]]["answer"]
    assert answers[QUESTIONS[4]]["answer"] == "Webarchitects: day rate GBP 450."
    assert answers[QUESTIONS[5]]["missing"] == [
        "Webarchitects: no modern slavery policy in the directory.",
        "Outlandish: no modern slavery policy in the directory.",
    ]
    assert answers[QUESTIONS[6]]["topic"] == ""
    assert len(bid["missing"]) >= 5


def test_pack_zip_and_pdf_parsed_back(bid_world):
    world = bid_world
    bid_id = _create(world, world.webarch).json()["id"]
    response = world.outlandish.api.get(f"/bids/{bid_id}/pack.zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert names == {
        "bid-pack.pdf",
        "pqq.csv",
        "pqq.md",
        "members.json",
        f"{world.webarch.org.slug}/accounts/acc.pdf",
        f"{world.outlandish.org.slug}/case-studies/portal.txt",
    }
    assert archive.read(f"{world.webarch.org.slug}/accounts/acc.pdf") == b"ACC"
    assert archive.read(f"{world.outlandish.org.slug}/case-studies/portal.txt") == b"PORTAL"
    members = json.loads(archive.read("members.json"))
    assert [m["slug"] for m in members["members"]] == [
        world.webarch.org.slug,
        world.outlandish.org.slug,
    ]
    # The bid shares the accounts with its members.
    assert members["members"][0]["accounts"] == "Turnover 2024 500k; 2025 600k"
    assert members["members"][0]["lead"] is True
    assert members["members"][1]["case_studies"][0]["title"] == "Open data portal"
    rows = list(csv.reader(io.StringIO(archive.read("pqq.csv").decode())))
    assert rows[0] == ["question", "topic", "answer", "missing"]
    assert len(rows) == 1 + len(QUESTIONS)
    assert rows[-1][0].startswith("'=")  # a formula is neutralised
    assert "## 2. Do you have an equality and diversity policy?" in archive.read("pqq.md").decode()
    pdf = world.coordinator.api.get(f"/bids/{bid_id}/pack.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (
        "Council digital framework",
        "Pre-qualification questionnaire",
        "What was your annual turnover",
        "Webarchitects",
        "Open data portal",
        "What is missing",
        "Turnover 2024 500k",
    ):
        assert expected in text, expected
    zipped_pdf = PdfReader(io.BytesIO(archive.read("bid-pack.pdf")))
    assert "Council digital framework" in zipped_pdf.pages[0].extract_text()
