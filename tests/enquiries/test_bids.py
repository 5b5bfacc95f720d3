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


def _zip_of(member, bid_id):
    response = member.api.get(f"/bids/{bid_id}/pack.zip")
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_a_member_named_in_a_bid_shares_its_accounts_only_once_it_confirms(bid_world):
    world = bid_world
    webarch = world.webarch.org.slug
    # Outlandish names Webarchitects in a bid to read its private accounts: it cannot.
    created = _create(world, world.outlandish).json()
    bid_id = created["id"]
    assert created["confirmed_members"] == [world.outlandish.org.slug]
    archive = _zip_of(world.outlandish, bid_id)
    assert f"{webarch}/accounts/acc.pdf" not in archive.namelist()
    members = {m["slug"]: m for m in json.loads(archive.read("members.json"))["members"]}
    assert members[webarch]["accounts"] == ""
    assert members[webarch]["annual_turnover"] == ""
    assert members[webarch]["confirmed"] is False
    assert members[webarch]["day_rate"]  # the directory's shared facts are still there
    pdf = world.outlandish.api.get(f"/bids/{bid_id}/pack.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Turnover 2024 500k" not in text
    assert "600,000" not in text
    assert "awaiting Webarchitects" in text
    detail = world.outlandish.api.get(f"/bids/{bid_id}").json()
    assert "awaiting Webarchitects's confirmation" in detail["missing"]
    assert "Turnover 2024" not in json.dumps(detail)

    # Nobody confirms for another member: not the creator, not the coordinator.
    assert world.outlandish.api.post(f"/bids/{bid_id}/confirm", {}).status_code == 200
    assert world.coordinator.api.post(f"/bids/{bid_id}/confirm", {}).status_code == 403
    assert world.outsider.api.post(f"/bids/{bid_id}/confirm", {}).status_code == 404
    assert world.webarch.api.get(f"/bids/{bid_id}").json()["confirmed_members"] == [
        world.outlandish.org.slug
    ]

    # Webarchitects confirms: its accounts are in the pack.
    confirmed = world.webarch.api.post(f"/bids/{bid_id}/confirm", {})
    assert confirmed.status_code == 200
    assert confirmed.json()["confirmed_members"] == sorted([webarch, world.outlandish.org.slug])
    archive = _zip_of(world.outlandish, bid_id)
    assert archive.read(f"{webarch}/accounts/acc.pdf") == b"ACC"
    members = {m["slug"]: m for m in json.loads(archive.read("members.json"))["members"]}
    assert members[webarch]["accounts"] == "Turnover 2024 500k; 2025 600k"
    assert members[webarch]["confirmed"] is True
    assert not any(
        m.startswith("awaiting")
        for m in world.outlandish.api.get(f"/bids/{bid_id}").json()["missing"]
    )

    # It withdraws: its accounts leave the pack again.
    assert world.webarch.api.post(f"/bids/{bid_id}/withdraw", {}).status_code == 200
    archive = _zip_of(world.outlandish, bid_id)
    assert f"{webarch}/accounts/acc.pdf" not in archive.namelist()
    assert "awaiting Webarchitects" in archive.read("pqq.md").decode()

    from salesline.core.models import AuditEvent

    actions = list(
        AuditEvent.objects.filter(
            organisation=world.network.organisation, action__startswith="bid_"
        ).values_list("action", flat=True)
    )
    assert "bid_confirm" in actions and "bid_withdraw" in actions


def test_the_bid_page_shows_who_confirmed_with_a_confirm_button(bid_world, client):
    world = bid_world
    bid_id = _create(world, world.outlandish).json()["id"]
    client.force_login(world.webarch.user)
    url = f"/networks/{world.network.slug}/bids/{bid_id}/"
    page = client.get(url).content.decode()
    assert "Awaiting confirmation" in page
    assert f"/bids/{bid_id}/confirm/" in page
    response = client.post(f"/networks/{world.network.slug}/bids/{bid_id}/confirm/")
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Awaiting confirmation" not in page
    assert f"/bids/{bid_id}/withdraw/" in page
