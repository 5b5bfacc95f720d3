"""`make screenshots`: the main pages with the demo data, at desktop and phone widths, saved to
docs/screenshots/. Not part of `make test` (the file name does not start with test_); run by
naming the file, as the Makefile does."""

from pathlib import Path

from playwright.sync_api import expect

from salesline import demo
from salesline.accounts.models import User
from salesline.capacity.models import CapacityPlan
from salesline.pipeline.models import Opportunity
from salesline.playbooks.models import Agreement
from salesline.records.models import Lead
from salesline.scheduling.models import BookingPage, Plan

from .conftest import DESKTOP, PHONE

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_screenshots(page, sign_in, transactional_db):
    demo.load_demo()
    user = User.objects.get(email=demo.DEMO_EMAIL)
    sign_in(page, user)
    lead = Lead.objects.filter(deleted_at=None).order_by("id").first()
    opportunity = Opportunity.objects.filter(deleted_at=None, status="open").order_by("id").first()
    # Records first, so that home shows them as recently viewed.
    pages = {
        "leads": "/records/leads/",
        "lead": f"/records/leads/{lead.pk}/",
        "opportunity": f"/records/opportunities/{opportunity.pk}/",
        "home": "/",
        "board": "/board/",
        "imports": "/imports/",
        "settings-process": "/settings/process/",
        "my-tasks": "/tasks/",
        # The division of labour: a salesperson's week, a planned itinerary, the queues and
        # the daily review, a public booking page.
        "calendar": "/calendar/",
        "plan": f"/planner/plans/{Plan.objects.filter(organisation=lead.organisation).first().pk}/",
        "queues": "/queues/",
        "review": "/review/",
        "booking-page": f"/book/{BookingPage.objects.filter(organisation=lead.organisation).first().slug}",
        # Capacity planning: the chapter's illustration as a plan.
        "capacity-plan": f"/capacity/{CapacityPlan.objects.get().pk}/",
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for name, path in pages.items():
            response = page.goto(path)
            assert response.ok, f"{path} answered {response.status}"
            expect(page.locator("main")).to_be_visible()
            page.screenshot(path=OUT / f"{name}-{width_name}.png")
    # Playbooks at work: the partnerships organisation's signed partner, its templates and jobs.
    partner = Agreement.objects.get(status="signed", billing_frequency="monthly").opportunity
    page.goto("/")
    with page.expect_navigation():
        page.evaluate(SWITCH, str(partner.organisation_id))
    playbook_pages = {
        "partnership": f"/records/opportunities/{partner.pk}/",
        "my-tasks-partnerships": "/tasks/",
        "queue-customer-service": "/tasks/queue/customer_service/",
        "settings-message-templates": "/settings/message-templates/",
        "settings-jobs": "/settings/jobs/",
    }
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for name, path in playbook_pages.items():
            response = page.goto(path)
            assert response.ok, f"{path} answered {response.status}"
            expect(page.locator("main")).to_be_visible()
            page.screenshot(path=OUT / f"{name}-{width_name}.png")


# Switch organisation as the menu does: a POST of the organisation switch form.
SWITCH = """(id) => {
  const form = document.createElement("form");
  form.method = "post";
  form.action = "/organisation/";
  const token = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  for (const [name, value] of [["csrfmiddlewaretoken", token], ["organisation", id]]) {
    const input = document.createElement("input");
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}"""
