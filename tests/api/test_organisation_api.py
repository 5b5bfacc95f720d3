"""GET/PATCH /api/v1/organisation: every member reads the settings, an admin changes them."""

from salesline.accounts.models import Organisation
from salesline.core.models import AuditEvent


def test_a_member_reads_the_settings(api, org):
    response = api.get("/organisation")
    assert response.status_code == 200
    assert response.json() == {
        "id": org.pk,
        "name": "Piql Archive",
        "slug": org.slug,
        "template": "business-development",
        "phone_region": "",
        "country": "",
        "booking_url": "",
        "from_email": "",
    }


def test_an_admin_changes_only_what_is_sent(admin_api, org):
    response = admin_api.patch(
        "/organisation",
        {"country": "no", "booking_url": "https://cal.example.com/piql", "from_email": None},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["country"], body["booking_url"], body["from_email"]) == (
        "NO",
        "https://cal.example.com/piql",
        "",
    )
    event = AuditEvent.objects.get(object_type="organisation", action="update")
    assert event.changes == {
        "country": ["", "NO"],
        "booking_url": ["", "https://cal.example.com/piql"],
    }
    response = admin_api.patch("/organisation", {"from_email": "partners@piql.test"})
    assert response.json()["country"] == "NO"
    assert Organisation.objects.get(pk=org.pk).from_email == "partners@piql.test"


def test_bad_values_answer_422_naming_each_field(admin_api, org):
    response = admin_api.patch(
        "/organisation",
        {"country": "XX", "booking_url": "mailto:a@b.test", "from_email": "nobody"},
    )
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [
        ["body", "country"],
        ["body", "booking_url"],
        ["body", "from_email"],
    ]
    assert Organisation.objects.get(pk=org.pk).country == ""


def test_an_unknown_or_mistyped_field_is_422(admin_api):
    response = admin_api.patch("/organisation", {"name": "Renamed"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "Unknown field 'name'."
    response = admin_api.patch("/organisation", {"country": 47})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "country"]


def test_a_salesperson_cannot_change_them(api, org):
    response = api.patch("/organisation", {"country": "NO"})
    assert response.status_code == 403
    assert "Only an admin of Piql Archive" in response.json()["detail"]
    assert Organisation.objects.get(pk=org.pk).country == ""


def test_each_token_sees_and_changes_its_own_organisation(admin_api, other_api, org, other_org):
    other_api.patch("/organisation", {"country": "SE"})
    assert admin_api.get("/organisation").json()["country"] == ""
    assert other_api.get("/organisation").json()["name"] == "Other Co-op"
    assert Organisation.objects.get(pk=other_org.pk).country == "SE"


def test_no_token_is_401(client, db):
    assert client.get("/api/v1/organisation").status_code == 401
