"""Settings pages: custom fields, members and roles, API tokens and the process definition, with
the same permissions as the services and the API."""

import pytest
from django.test import Client
from django.utils import timezone

from salesline.accounts import services as accounts
from salesline.accounts.models import ApiToken, Membership
from salesline.core.models import AuditEvent
from salesline.pipeline.services import opportunity_create
from salesline.playbooks.engine import run_scheduled_playbooks
from salesline.process import selectors as process_selectors
from salesline.process.models import CustomField
from salesline.process.services import custom_field_create
from salesline.records.services import record_create
from salesline.web.definition_problems import locate_problems
from tests.conftest import COMPANY


def signed_in(user, org) -> Client:
    client = Client()
    client.force_login(user)
    client.actor = accounts.actor_for(user, org)
    return client


@pytest.fixture
def admin(admin_user, org):
    return signed_in(admin_user, org)


@pytest.fixture
def sales(user, org):
    return signed_in(user, org)


@pytest.fixture
def other_field(other_actor):
    return custom_field_create(
        actor=other_actor,
        data={"record": "company", "key": "secret", "label": "Secret", "type": "text"},
    )


def version(org) -> int:
    return process_selectors.definition_row_for(org).version


def source(org) -> str:
    return process_selectors.definition_row_for(org).source


# ---------------------------------------------------------------- overview and permissions


def test_overview_links_every_section_and_marks_admin_actions(sales):
    page = sales.get("/settings/")
    assert page.status_code == 200
    text = page.content.decode()
    for url in (
        "/settings/organisation/",
        "/settings/fields/",
        "/settings/members/",
        "/settings/tokens/",
        "/settings/process/",
    ):
        assert f'href="{url}"' in text
    assert "need an admin" in text and "admin-tag" in text


def test_settings_need_a_signed_in_user(client):
    assert client.get("/settings/").status_code == 302


@pytest.mark.parametrize(
    "url",
    [
        "/settings/fields/new/",
        "/settings/members/new/",
        "/settings/process/upload/",
    ],
)
def test_admin_pages_are_403_for_a_salesperson(sales, url):
    for response in (sales.get(url), sales.post(url, {})):
        assert response.status_code == 403
        assert b"Only an admin of Piql Archive" in response.content


def test_admin_pages_with_an_id_are_403_for_a_salesperson(sales, admin_user, company_custom_fields):
    field = CustomField.objects.get(key="motto")
    for url in (
        f"/settings/fields/{field.pk}/",
        f"/settings/fields/{field.pk}/delete/",
        f"/settings/members/{admin_user.pk}/",
        f"/settings/members/{admin_user.pk}/remove/",
    ):
        assert sales.post(url, {"label": "X", "roles": ["salesperson"]}).status_code == 403
    assert CustomField.objects.get(pk=field.pk).label == "Motto"
    assert Membership.objects.filter(user=admin_user, role="admin").exists()


# ---------------------------------------------------------------- organisation


def test_admin_changes_the_phone_region(admin, org):
    page = admin.get("/settings/organisation/")
    assert page.status_code == 200 and b'name="phone_region"' in page.content

    response = admin.post("/settings/organisation/", {"phone_region": "no"})

    assert response.status_code == 302 and response["Location"] == "/settings/organisation/"
    org.refresh_from_db()
    assert org.phone_region == "NO"
    event = AuditEvent.objects.get(object_type="organisation", action="update")
    assert (event.actor_label, event.changes) == ("boss@piql.test", {"phone_region": ["", "NO"]})
    page = admin.get(response["Location"])
    assert "Phone region saved: NO." in page.content.decode()
    assert admin.get("/settings/").content.decode().count("are read in: NO.") == 1


def test_an_unknown_phone_region_is_shown_beside_the_field(admin, org):
    response = admin.post("/settings/organisation/", {"phone_region": "XX"})
    assert response.status_code == 422
    assert response.context["form"].errors["phone_region"] == [
        "Phone region 'XX' is not a country code such as GB or NO."
    ]
    org.refresh_from_db()
    assert org.phone_region == ""


def test_a_salesperson_sees_the_phone_region_but_cannot_change_it(sales, org):
    page = sales.get("/settings/organisation/")
    assert page.status_code == 200
    assert b'name="phone_region"' not in page.content and b"admin-tag" in page.content
    response = sales.post("/settings/organisation/", {"phone_region": "GB"})
    assert response.status_code == 403
    assert b"Only an admin of Piql Archive" in response.content
    org.refresh_from_db()
    assert org.phone_region == ""


# ---------------------------------------------------------------- custom fields


def test_field_list_groups_by_record_kind(sales, company_custom_fields):
    page = sales.get("/settings/fields/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Motto" in text and "gold, silver" in text and "Proof of concept needed" in text
    assert "Add a field" not in text  # a salesperson sees no admin actions


def test_admin_creates_a_choice_field(admin, org):
    before = version(org)
    response = admin.post(
        "/settings/fields/new/",
        {
            "record": "lead",
            "key": "budget_band",
            "label": "Budget band",
            "type": "choice",
            "choices": "small\n\nlarge\n",
            "help": "Rough size",
        },
    )
    assert response.status_code == 302
    field = CustomField.objects.get(organisation=org, key="budget_band")
    assert (field.record, field.choices, field.help) == ("lead", ["small", "large"], "Rough size")
    assert version(org) == before + 1
    assert b"Budget band" in admin.get("/settings/fields/").content


def test_field_errors_from_the_service_are_shown_next_to_the_fields(admin, org):
    before = version(org)
    response = admin.post(
        "/settings/fields/new/",
        {"record": "lead", "key": "Bad Key", "label": "Band", "type": "choice", "choices": ""},
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert "must be snake_case" in form.errors["key"][0]
    assert "needs a list of choices" in form.errors["choices"][0]
    assert b"line " not in response.content  # a generated file's line numbers mean nothing here
    assert version(org) == before


def test_a_blank_label_is_refused_before_the_service(admin, org):
    response = admin.post(
        "/settings/fields/new/", {"record": "lead", "key": "band", "label": "  ", "type": "text"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["label"] == ["This field is required."]


def test_a_duplicate_key_is_refused(admin, company_custom_fields):
    response = admin.post(
        "/settings/fields/new/",
        {"record": "company", "key": "motto", "label": "Again", "type": "text"},
    )
    assert response.status_code == 409
    assert b"already exists" in response.content


def test_a_bad_record_kind_is_a_400_not_a_500(admin):
    response = admin.post(
        "/settings/fields/new/", {"record": "deal", "key": "x", "label": "X", "type": "text"}
    )
    assert response.status_code == 400
    assert "record" in response.context["form"].errors


def test_admin_edits_label_choices_and_help(admin, company_custom_fields):
    field = CustomField.objects.get(key="tier")
    page = admin.get(f"/settings/fields/{field.pk}/")
    assert page.status_code == 200 and b"gold\nsilver" in page.content
    response = admin.post(
        f"/settings/fields/{field.pk}/",
        {"label": "Customer tier", "choices": "gold\nsilver\nbronze", "help": "Set by sales"},
    )
    assert response.status_code == 302
    field.refresh_from_db()
    assert (field.label, field.choices, field.help) == (
        "Customer tier",
        ["gold", "silver", "bronze"],
        "Set by sales",
    )


def test_edit_shows_a_service_error_next_to_the_field(admin, company_custom_fields):
    field = CustomField.objects.get(key="tier")
    response = admin.post(f"/settings/fields/{field.pk}/", {"label": "T", "choices": "a\na"})
    assert response.status_code == 422
    assert "listed twice" in response.context["form"].errors["choices"][0]


def test_delete_asks_first_then_removes(admin, company_custom_fields):
    field = CustomField.objects.get(key="motto")
    confirm = admin.get(f"/settings/fields/{field.pk}/delete/")
    assert confirm.status_code == 200 and b"Remove custom field" in confirm.content
    assert CustomField.objects.filter(pk=field.pk).exists()
    assert admin.post(f"/settings/fields/{field.pk}/delete/").status_code == 302
    assert not CustomField.objects.filter(key="motto").exists()


def test_delete_of_a_field_in_use_is_refused_with_the_reason(admin, company_custom_fields):
    record_create(
        actor=admin.actor, kind="company", data={**COMPANY, "custom_fields": {"motto": "Keep it"}}
    )
    field = CustomField.objects.get(key="motto")
    response = admin.post(f"/settings/fields/{field.pk}/delete/")
    assert response.status_code == 409
    assert b"would lose its value on 1 record" in response.content
    assert CustomField.objects.filter(pk=field.pk).exists()


def test_another_organisations_field_is_404(admin, other_field):
    for url in (
        f"/settings/fields/{other_field.pk}/",
        f"/settings/fields/{other_field.pk}/delete/",
    ):
        assert admin.get(url).status_code == 404
        assert admin.post(url, {"label": "Mine"}).status_code == 404
    other_field.refresh_from_db()
    assert other_field.label == "Secret"


def test_a_huge_id_is_404(admin):
    assert admin.get(f"/settings/fields/{2**70}/").status_code == 404
    assert admin.get(f"/settings/members/{2**70}/").status_code == 404
    assert admin.get(f"/settings/tokens/{2**70}/revoke/").status_code == 404


# ---------------------------------------------------------------- members and roles


def test_members_list_shows_everyone_with_roles(sales, admin_user, user):
    page = sales.get("/settings/members/")
    assert page.status_code == 200
    text = page.content.decode()
    assert admin_user.email in text and user.email in text and "Salesperson" in text
    assert "/settings/members/new/" not in text


def test_admin_adds_a_new_user_by_email(admin, org):
    response = admin.post(
        "/settings/members/new/",
        {"email": " New@Piql.test ", "full_name": "New Person", "role": "sales_coordinator"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__email="new@piql.test", organisation=org)
    assert membership.role == "sales_coordinator"
    assert not membership.user.has_usable_password()
    assert AuditEvent.objects.filter(action="member.add", object_repr="new@piql.test").exists()


def test_adding_a_bad_email_or_an_existing_member_names_the_field(admin, user):
    response = admin.post("/settings/members/new/", {"email": "nope", "role": "salesperson"})
    assert response.status_code == 422
    assert "not a valid e-mail" in response.context["form"].errors["email"][0]
    response = admin.post("/settings/members/new/", {"email": user.email, "role": "admin"})
    assert response.status_code == 422
    assert "already a member" in response.context["form"].errors["email"][0]


def test_admin_changes_roles(admin, user, org):
    page = admin.get(f"/settings/members/{user.pk}/")
    assert page.status_code == 200
    response = admin.post(f"/settings/members/{user.pk}/", {"roles": ["admin", "salesperson"]})
    assert response.status_code == 302
    roles = set(
        Membership.objects.filter(user=user, organisation=org).values_list("role", flat=True)
    )
    assert roles == {"admin", "salesperson"}


def test_no_role_is_refused(admin, user):
    response = admin.post(f"/settings/members/{user.pk}/", {})
    assert response.status_code == 422
    assert "at least one role" in response.context["form"].errors["roles"][0]


def test_the_last_admin_cannot_be_demoted_or_removed(admin, admin_user, org):
    response = admin.post(
        f"/settings/members/{admin_user.pk}/", {"roles": ["salesperson"], "confirm_self": "on"}
    )
    assert response.status_code == 409
    assert b"last admin" in response.content
    response = admin.post(f"/settings/members/{admin_user.pk}/remove/", {"confirm_self": "on"})
    assert response.status_code == 409
    assert Membership.objects.filter(user=admin_user, organisation=org, role="admin").exists()


def test_demoting_yourself_needs_confirmation(admin, admin_user, user, org):
    accounts.member_set_roles(actor=admin.actor, user_id=user.pk, roles=["admin"])
    response = admin.post(f"/settings/members/{admin_user.pk}/", {"roles": ["salesperson"]})
    assert response.status_code == 422
    assert "your own account" in response.context["form"].errors["confirm_self"][0]
    assert Membership.objects.filter(user=admin_user, role="admin").exists()
    response = admin.post(
        f"/settings/members/{admin_user.pk}/", {"roles": ["salesperson"], "confirm_self": "on"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=admin_user, role="admin").exists()


def test_remove_asks_first_and_revokes_tokens(admin, user, org):
    token, _ = accounts.token_create(user=user, actor=accounts.system_actor(org))
    page = admin.get(f"/settings/members/{user.pk}/remove/")
    assert page.status_code == 200 and b"API tokens for it are revoked" in page.content
    assert Membership.objects.filter(user=user, organisation=org).exists()
    assert admin.post(f"/settings/members/{user.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(user=user, organisation=org).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_another_organisations_member_is_404(admin, other_user):
    assert admin.get(f"/settings/members/{other_user.pk}/").status_code == 404
    assert admin.post(f"/settings/members/{other_user.pk}/remove/").status_code == 404


# ---------------------------------------------------------------- API tokens


def test_token_is_shown_once_and_only_its_hash_is_kept(sales, user, org):
    response = sales.post("/settings/tokens/new/", {"name": "laptop script"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    plain = response.context["plain"]
    assert plain.startswith("sl_") and plain.encode() in response.content
    token = ApiToken.objects.get(user=user, organisation=org, name="laptop script")
    assert plain not in repr(list(ApiToken.objects.values_list()))
    assert accounts.token_authenticate(plain).user.pk == user.pk
    again = sales.get("/settings/tokens/")
    assert plain.encode() not in again.content
    assert b"laptop script" in again.content and token.prefix.encode() in again.content


def test_token_create_with_htmx_answers_the_fragment(sales):
    response = sales.post("/settings/tokens/new/", {"name": "ci"}, headers={"HX-Request": "true"})
    assert response.status_code == 201
    assert response.content.lstrip().startswith(b'<div id="tokens">')
    assert response.context["plain"].encode() in response.content


def test_token_create_refuses_a_too_long_name(sales, user):
    response = sales.post("/settings/tokens/new/", {"name": "x" * 101})
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert not ApiToken.objects.filter(user=user).exists()


def test_token_create_is_post_only(sales):
    assert sales.get("/settings/tokens/new/").status_code == 405


def test_revoke_asks_first_then_revokes(sales, user, org):
    token, plain = accounts.token_create(user=user, actor=accounts.system_actor(org), name="old")
    page = sales.get(f"/settings/tokens/{token.pk}/revoke/")
    assert page.status_code == 200 and b"Revoke token" in page.content
    assert accounts.token_authenticate(plain) is not None
    assert sales.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    assert accounts.token_authenticate(plain) is None
    assert b"Revoked" in sales.get("/settings/tokens/").content


def test_a_colleagues_or_another_organisations_token_is_404(sales, admin_user, org, other_user):
    colleague, _ = accounts.token_create(user=admin_user, actor=accounts.system_actor(org))
    foreign, _ = accounts.token_create(
        user=other_user, actor=accounts.system_actor(other_user.memberships.get().organisation)
    )
    for token in (colleague, foreign):
        assert sales.get(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
        assert sales.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None


def test_an_admin_may_revoke_a_members_token_like_the_api(admin, user, org):
    token, _ = accounts.token_create(user=user, actor=accounts.system_actor(org))
    assert admin.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_admin_sees_the_members_active_tokens_and_a_salesperson_does_not(
    admin, sales, user, admin_user, org, other_user
):
    active, _ = accounts.token_create(
        user=user, actor=accounts.system_actor(org), name="laptop script"
    )
    revoked, _ = accounts.token_create(
        user=user, actor=accounts.system_actor(org), name="old script"
    )
    accounts.token_revoke(actor=accounts.actor_for(user, org), token_id=revoked.pk)
    accounts.token_create(
        user=other_user, actor=accounts.system_actor(other_user.memberships.get().organisation)
    )
    accounts.token_create(user=admin_user, actor=accounts.system_actor(org), name="admin's own")
    page = admin.get("/settings/tokens/")
    listed = [(t.user.email, t.name) for t in page.context["member_tokens"]]
    assert listed == [(user.email, "laptop script")]
    assert f'href="/settings/tokens/{active.pk}/revoke/"'.encode() in page.content
    assert sales.get("/settings/tokens/").context["member_tokens"] == []
    assert b"Members' active tokens" not in sales.get("/settings/tokens/").content


# ---------------------------------------------------------------- process definition


def test_process_page_renders_stages_and_gates(sales, org):
    page = sales.get("/settings/process/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Business Development Journey" in text and f"version {version(org)}" in text
    assert text.index("<h3>Identify") < text.index("<h3>Qualify") < text.index("<h3>Develop")
    assert "Use-case verified by the client" in text  # a checklist item
    assert "Estimated value is more than 0" in text  # a condition, with the field's label
    assert "/settings/process/upload/" not in text  # a salesperson cannot upload


def test_process_page_shows_the_playbooks_in_words_with_their_runs(sales, org, actor):
    opportunity_create(
        actor=actor,
        data={
            "name": "1 TB - Records - Preservation",
            "expected_close_date": timezone.localdate().isoformat(),
        },
    )
    run_scheduled_playbooks()

    text = sales.get("/settings/process/").content.decode()
    assert '<h2 id="playbooks">Playbooks</h2>' in text
    assert "Qualify the opportunity" in text
    assert (
        "<strong>When:</strong> An opportunity enters Qualify (Business Development Journey)."
        in (text)
    )
    assert (
        "Task “Verify the use-case with {{ contact.name|default:&#x27;the client&#x27; }}” for "
        in (text)
    )
    assert "the record&#x27;s owner, due in 5 working days" in text
    assert "Generate the document “Quote” (PDF)" in text
    assert "the project leader queue" in text
    assert text.count("Has not run yet.") == 4  # of five playbooks, the close-date one ran


def test_process_page_shows_a_scheduled_playbook_that_failed(sales, org, actor, monkeypatch):
    from salesline.playbooks import engine

    opportunity_create(
        actor=actor,
        data={
            "name": "1 TB - Records - Preservation",
            "expected_close_date": timezone.localdate().isoformat(),
        },
    )

    def refuse(*args, **kwargs):
        raise RuntimeError("no room <left>")

    monkeypatch.setattr(engine, "run_playbook", refuse)
    run_scheduled_playbooks()

    text = sales.get("/settings/process/").content.decode()
    assert text.count('<p class="error">Its schedule failed on ') == 1
    assert ": RuntimeError: no room &lt;left&gt; — it is tried again every minute.</p>" in text


def test_download_is_the_yaml_source_as_an_attachment(sales, org):
    response = sales.get("/settings/process/download/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{org.slug}-process-v{version(org)}.yaml"'
    )
    assert response.content.decode() == source(org)


BAD_DEFINITION = """\
name: Broken
pipelines:
  - key: sales
    name: Sales
    stages:
      - key: new
        name: New
        probability: 150
      - key: won
        name: Won
        kind: won
        probability: 100
        gate:
          require: [colour]
"""


def test_a_bad_definition_shows_errors_by_line_and_changes_nothing(admin, org):
    before, before_source = version(org), source(org)
    response = admin.post("/settings/process/upload/", {"source": BAD_DEFINITION})
    assert response.status_code == 422
    problems = response.context["problems"]
    assert [(p.line, p.message) for p in problems] == [
        (8, "Must be between 0 and 100"),
        (14, "Unknown field 'colour'"),
    ]
    text = response.content.decode()
    assert "Line 8" in text and "probability: 150" in text and "require: [colour]" in text
    assert version(org) == before and source(org) == before_source
    # The text sent stays in the form, to be fixed rather than pasted again.
    assert "probability: 150" in response.context["form"].initial["source"]


def test_a_yaml_syntax_error_has_its_line(admin, org):
    response = admin.post(
        "/settings/process/upload/", {"source": "name: X\npipelines: [\n  - key: a\n"}
    )
    assert response.status_code == 422
    assert response.context["problems"][0].line is not None
    assert "Invalid YAML" in response.context["problems"][0].message


def test_a_definition_that_would_orphan_opportunities_is_refused(admin, org, opportunity):
    text = source(org).replace("key: identify", "key: spotted")
    before = version(org)
    response = admin.post("/settings/process/upload/", {"source": text})
    assert response.status_code == 409
    problem = response.context["problems"][0]
    assert "orphan 1 opportunity" in problem.message
    assert problem.line == text.splitlines().index("  - key: business-development") + 1
    assert version(org) == before


def test_a_good_definition_is_loaded_as_a_new_version(admin, org):
    before = version(org)
    text = source(org).replace("name: Identify", "name: Spotted")
    response = admin.post("/settings/process/upload/", {"source": text}, follow=True)
    assert response.status_code == 200
    assert f"Version {before + 1} of".encode() in response.content
    assert version(org) == before + 1 and source(org) == text
    assert b"Spotted" in response.content


def test_a_file_upload_is_read_as_utf8(admin, org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = source(org).replace("name: Identify", "name: Først")
    upload = SimpleUploadedFile("process.yaml", text.encode("utf-8"), "application/yaml")
    response = admin.post("/settings/process/upload/", {"file": upload})
    assert response.status_code == 302
    assert "Først" in source(org)


def test_a_file_that_is_not_utf8_or_nothing_at_all_is_a_400(admin, org):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = version(org)
    upload = SimpleUploadedFile("process.yaml", b"name: \xff\xfe", "application/yaml")
    response = admin.post("/settings/process/upload/", {"file": upload})
    assert response.status_code == 400 and b"not UTF-8" in response.content
    response = admin.post("/settings/process/upload/", {"source": "   "})
    assert response.status_code == 400 and b"Choose a YAML file" in response.content
    assert version(org) == before


def test_only_check_loads_nothing(admin, org):
    before = version(org)
    response = admin.post("/settings/process/upload/", {"source": source(org), "check_only": ""})
    assert response.status_code == 200 and b"is valid for Piql Archive" in response.content
    assert version(org) == before


# ---------------------------------------------------------------- locating problems (pure)


def test_a_problem_shows_beside_the_line_it_carries():
    from salesline.core.errors import Problem

    text = "name: X\npipelines:\n  - key: a\n    name: A\n"
    [located] = locate_problems(
        text,
        [
            Problem(
                loc=("definition", "pipelines[0].name"),
                msg="line 4: pipelines[0].name: bad",
                line=4,
                path="pipelines[0].name",
            )
        ],
    )
    assert (located.line, located.message, located.source_line) == (4, "Bad", "    name: A")


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("Contract № (2027)", "contract_no_2027"),
        ("Épreuve réussie?", "epreuve_reussie"),
        ("2027 budget", "f_2027_budget"),
    ],
)
def test_a_custom_fields_key_is_made_from_its_label_when_left_empty(admin, org, label, key):
    response = admin.post(
        "/settings/fields/new/", {"record": "lead", "key": "", "label": label, "type": "text"}
    )
    assert response.status_code == 302, response.content
    assert CustomField.objects.get(organisation=org, record="lead").key == key


def test_a_label_with_nothing_to_make_a_key_of_asks_for_one(admin, org):
    response = admin.post(
        "/settings/fields/new/", {"record": "lead", "key": "", "label": "★★", "type": "text"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["key"] == [
        "Give a key: the label has no letters or digits to make one."
    ]
    assert not CustomField.objects.filter(organisation=org, record="lead").exists()


# ---------------------------------------------------------------- the error summary


def error_summary(response) -> str:
    text = response.content.decode()
    start = text.index('<div class="error-summary"')
    return text[start : text.index("</div>", start)]


def test_a_refused_field_form_starts_with_a_summary_linking_each_input(admin, org):
    response = admin.post(
        "/settings/fields/new/",
        {"record": "lead", "key": "Bad Key", "label": "Band", "type": "choice", "choices": ""},
    )
    summary = error_summary(response)
    assert 'href="#id_key">Key: ' in summary and "must be snake_case" in summary
    assert 'href="#id_choices">Choices' in summary
    assert 'id="id_key"' in response.content.decode()  # the link's target is the input


def test_the_summary_comes_before_the_form_and_names_a_services_refusal(admin, org):
    response = admin.post("/settings/members/new/", {"email": "not an address", "role": "admin"})
    text = response.content.decode()
    assert response.status_code in (400, 422)
    assert text.index('class="error-summary"') < text.index('<form method="post" class="stack')
    assert 'href="#id_email">E-mail: ' in error_summary(response)


def test_roles_errors_link_to_the_first_box(admin, user):
    response = admin.post(f"/settings/members/{user.pk}/", {})
    assert 'href="#id_roles_0">Roles: ' in error_summary(response)
    assert 'id="id_roles_0"' in response.content.decode()


def test_a_refused_removal_is_in_the_summary(admin, company_custom_fields):
    record_create(
        actor=admin.actor, kind="company", data={**COMPANY, "custom_fields": {"motto": "Keep it"}}
    )
    field = CustomField.objects.get(key="motto")
    summary = error_summary(admin.post(f"/settings/fields/{field.pk}/delete/"))
    assert "The field was not removed" in summary and "would lose its value" in summary


def test_a_page_without_errors_has_no_summary(admin):
    for url in ("/settings/fields/new/", "/settings/members/new/", "/settings/organisation/"):
        assert b"error-summary" not in admin.get(url).content


def test_the_process_page_names_custom_fields_kinds_and_types_in_words(
    sales, company_custom_fields
):
    text = sales.get("/settings/process/").content.decode()
    assert 'Listed <span class="count">(Company, boolean)</span>' in text
    assert 'Tier <span class="count">(Company, choice: gold, silver)</span>' in text


def test_process_page_shows_task_done_playbooks_and_what_the_worker_does_built_in(
    partners_actor, other_actor
):
    from salesline.playbooks.models import Agreement

    for actor, notice in ((partners_actor, 45), (partners_actor, 90), (other_actor, 7)):
        opportunity = opportunity_create(actor=actor, data={"name": f"Deal {notice}"})
        Agreement.objects.create(
            organisation=actor.organisation,
            opportunity=opportunity,
            status=Agreement.Status.SIGNED,
            renewal_notice_days=notice,
        )
    page = signed_in(partners_actor.user, partners_actor.organisation).get("/settings/process/")
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        "<strong>When:</strong> The task of “Hold the launch meeting” in SOP: Launch meeting is "
        "done." in text
    )
    assert "Task “Satisfaction check-in after the launch with" in text
    built_in = text[text.index('<h3 id="built-in-schedules">Also run by the worker</h3>') :]
    assert "<strong>Invoicing:</strong> invoicing in advance for signed agreements" in built_in
    assert "a task to send it in the customer service queue." in built_in
    assert "<strong>Renewal tickler:</strong> the renewal tickler, N days before each" in built_in
    # Its own agreements' notice periods, not another organisation's.
    assert "the signed agreements now have 45 and 90 days" in built_in
    assert "the sales-support manager queue." in built_in


def test_process_page_shows_the_built_in_schedules_without_agreements(sales):
    text = sales.get("/settings/process/").content.decode()
    assert "Also run by the worker" in text
    assert "(60 days unless the agreement says otherwise; no agreement is signed yet)" in text
