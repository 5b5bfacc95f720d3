"""organisation_set_phone_region: an admin changes the country phone numbers without +country
code are read in; checked, audited, and in force from the next write on."""

import pytest

from salesline.accounts import services as accounts
from salesline.accounts.models import Organisation
from salesline.core.errors import PermissionDenied, ValidationFailed
from salesline.core.models import AuditEvent
from salesline.records.services import record_create
from tests.conftest import PERSON


def region_events(org):
    return list(
        AuditEvent.objects.filter(organisation=org, object_type="organisation", action="update")
        .order_by("id")
        .values_list("actor_label", "changes")
    )


def test_an_admin_changes_the_phone_region_and_later_writes_read_numbers_in_it(
    admin_actor, org, company
):
    organisation = accounts.organisation_set_phone_region(actor=admin_actor, phone_region=" gb ")

    assert organisation.phone_region == "GB"
    assert Organisation.objects.get(pk=org.pk).phone_region == "GB"
    assert region_events(org) == [("boss@piql.test", {"phone_region": ["", "GB"]})]
    # The same actor's next write reads a national number as British.
    person = record_create(
        actor=admin_actor,
        kind="person",
        data={**PERSON, "phone": "020 7946 0018", "company_id": company.pk},
    )
    assert person.phone == "+442079460018"

    accounts.organisation_set_phone_region(actor=admin_actor, phone_region="")
    assert Organisation.objects.get(pk=org.pk).phone_region == ""
    assert region_events(org)[-1][1] == {"phone_region": ["GB", ""]}


def test_the_same_region_again_changes_and_audits_nothing(admin_actor, org):
    accounts.organisation_set_phone_region(actor=admin_actor, phone_region="NO")
    accounts.organisation_set_phone_region(actor=admin_actor, phone_region="no")
    assert len(region_events(org)) == 1


@pytest.mark.parametrize("region", ["XX", "GBR", "001", "G", "🇬🇧", "ZZ"])
def test_a_region_the_phone_library_does_not_know_is_refused(admin_actor, org, region):
    with pytest.raises(ValidationFailed) as refused:
        accounts.organisation_set_phone_region(actor=admin_actor, phone_region=region)
    [problem] = refused.value.problems
    assert problem.loc == ("phone_region",)
    assert problem.msg.endswith("is not a country code such as GB or NO.")
    assert Organisation.objects.get(pk=org.pk).phone_region == ""
    assert region_events(org) == []


def test_only_an_admin_changes_it(actor, org):
    with pytest.raises(PermissionDenied, match="Only an admin of Piql Archive"):
        accounts.organisation_set_phone_region(actor=actor, phone_region="GB")
    assert Organisation.objects.get(pk=org.pk).phone_region == ""


def test_it_changes_the_actors_own_organisation_only(admin_actor, org, other_org):
    accounts.organisation_set_phone_region(actor=admin_actor, phone_region="SE")
    assert Organisation.objects.get(pk=other_org.pk).phone_region == ""
