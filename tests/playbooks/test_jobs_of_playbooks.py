"""A queued message's delivery is a job of its organisation on the jobs page (core.jobs)."""

from salesline.core import jobs
from salesline.core.tasks import ORGANISATION_KWARG
from salesline.playbooks import message_services
from tests.playbooks.message_fixtures import make_opportunity, make_template


def test_a_message_delivery_is_listed_for_its_organisation_only(
    actor, admin_actor, other_actor, person, org
):
    org.from_email = "partnerships@piql.test"
    org.save()
    make_template(org)
    deal = make_opportunity(actor, person)
    message = message_services.message_create_and_send(
        actor=actor, template_key="hail-the-lead", opportunity_id=deal.pk
    )

    deliveries = [
        job
        for job in jobs.job_list(actor=admin_actor)[0]
        if job.kind == "salesline.playbooks.delivery.message_deliver"
    ]
    assert [(job.label, job.organisation_id) for job in deliveries] == [
        ("Message delivery", org.pk)
    ]
    assert deliveries[0].arguments == f"message {message.pk}"  # the token is not shown
    assert ORGANISATION_KWARG not in deliveries[0].arguments
    assert not [
        job
        for job in jobs.job_list(actor=other_actor)[0]
        if job.kind == "salesline.playbooks.delivery.message_deliver"
    ]
