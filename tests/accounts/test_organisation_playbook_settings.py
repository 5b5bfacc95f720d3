"""organisation_update: an admin sets the country whose holidays playbooks skip, the meeting-
booking link and the default From address; each checked, every problem at once, audited."""

import pytest

from salesline.accounts import services as accounts
from salesline.accounts.models import Organisation
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent


def updates(org):
    return list(
        AuditEvent.objects.filter(organisation=org, object_type="organisation", action="update")
        .order_by("id")
        .values_list("actor_label", "changes")
    )


def test_an_admin_sets_the_playbook_settings_audited(admin_actor, org):
    organisation = accounts.organisation_update(
        actor=admin_actor,
        data={
            "country": " no ",
            "booking_url": "https://cal.example.com/piql/meet",
            "from_email": "Partnerships@Piql.TEST",
        },
    )

    stored = Organisation.objects.get(pk=org.pk)
    for row in (organisation, stored, admin_actor.organisation):
        assert (row.country, row.booking_url, row.from_email) == (
            "NO",
            "https://cal.example.com/piql/meet",
            "Partnerships@piql.test",  # the domain folded, the local part as written
        )
    assert updates(org) == [
        (
            "boss@piql.test",
            {
                "country": ["", "NO"],
                "booking_url": ["", "https://cal.example.com/piql/meet"],
                "from_email": ["", "Partnerships@piql.test"],
            },
        )
    ]


def test_only_the_settings_sent_change_and_the_same_values_audit_nothing(admin_actor, org):
    accounts.organisation_update(actor=admin_actor, data={"country": "SE", "phone_region": "SE"})
    accounts.organisation_update(actor=admin_actor, data={"booking_url": "http://book.test/x"})
    accounts.organisation_update(actor=admin_actor, data={"country": "se"})  # unchanged

    stored = Organisation.objects.get(pk=org.pk)
    assert (stored.country, stored.phone_region, stored.booking_url) == (
        "SE",
        "SE",
        "http://book.test/x",
    )
    assert [changes for _, changes in updates(org)] == [
        {"country": ["", "SE"], "phone_region": ["", "SE"]},
        {"booking_url": ["", "http://book.test/x"]},
    ]

    accounts.organisation_update(actor=admin_actor, data={"booking_url": "", "country": None})
    stored.refresh_from_db()
    assert (stored.country, stored.booking_url) == ("", "")


def test_every_problem_is_reported_at_once_and_nothing_is_saved(admin_actor, org):
    with pytest.raises(ValidationFailed) as refused:
        accounts.organisation_update(
            actor=admin_actor,
            data={
                "country": "XX",
                "booking_url": "javascript:alert(1)",
                "from_email": "partnerships at piql",
                "phone_region": "GB",
                "name": "New name",
            },
        )

    problems = {problem.loc: problem.msg for problem in refused.value.problems}
    assert problems == {
        ("country",): "Country 'XX' is not a country code such as GB or NO whose public "
        "holidays are known.",
        ("booking_url",): "Booking link must be a web address starting with https:// or "
        "http://, e.g. https://cal.example.com/partnerships.",
        ("from_email",): "From address 'partnerships at piql' is not a valid e-mail address: "
        "An email address must have an @-sign.",
        ("name",): "'name' is not a setting.",
    }
    stored = Organisation.objects.get(pk=org.pk)
    assert (stored.phone_region, stored.country, stored.booking_url) == ("", "", "")
    assert updates(org) == []


@pytest.mark.parametrize(
    ("country", "hint"),
    [
        ("UK", " (the United Kingdom is GB)"),  # the holidays package's alias, not ISO 3166
        ("GBR", ""),  # three letters
        ("ZZ", ""),
        ("🇳🇴", ""),
    ],
)
def test_a_country_that_is_not_an_iso_code_with_known_holidays_is_refused(
    admin_actor, org, country, hint
):
    with pytest.raises(ValidationFailed) as refused:
        accounts.organisation_update(actor=admin_actor, data={"country": country})
    [problem] = refused.value.problems
    assert problem.loc == ("country",)
    assert problem.msg.endswith(f"whose public holidays are known{hint}.")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cal.example.com/x",
        "cal.example.com/meet",
        "https://",
        "https://exa mple.com/",
        "https://example.com/" + "x" * 500,
        "https://example.com/\u202ehidden",
    ],
)
def test_a_booking_link_must_be_an_http_address(admin_actor, org, url):
    with pytest.raises(ValidationFailed) as refused:
        accounts.organisation_update(actor=admin_actor, data={"booking_url": url})
    [problem] = refused.value.problems
    assert problem.loc == ("booking_url",)
    assert problem.msg.startswith("Booking link must")


@pytest.mark.parametrize(
    "address", ["no-at-sign", "a@b", "two@@piql.test", "ann@piql.test\nBcc: x@y.test", 7]
)
def test_a_from_address_must_be_an_email_address(admin_actor, org, address):
    with pytest.raises(ValidationFailed) as refused:
        accounts.organisation_update(actor=admin_actor, data={"from_email": address})
    [problem] = refused.value.problems
    assert problem.loc == ("from_email",)


def test_only_an_admin_changes_them(actor, org):
    with pytest.raises(PermissionDenied, match="Only an admin of Piql Archive"):
        accounts.organisation_update(actor=actor, data={"country": "NO"})
    assert Organisation.objects.get(pk=org.pk).country == ""


def test_it_changes_the_actors_own_organisation_only(admin_actor, org, other_org):
    accounts.organisation_update(actor=admin_actor, data={"from_email": "sales@piql.test"})
    assert Organisation.objects.get(pk=other_org.pk).from_email == ""
