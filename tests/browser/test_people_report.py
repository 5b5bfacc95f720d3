"""The People and activity report in a real browser: its numbers, the meter per salesperson,
no serious accessibility violation, no console error (the strict CSP)."""

from playwright.sync_api import expect

from salesline.accounts.services import actor_for
from salesline.pipeline.services import opportunity_create
from salesline.records.services import note_create
from tests.browser.conftest import axe_violations


def test_the_people_report_reads_well_and_passes_axe(signed_in, member, org):
    errors = []
    signed_in.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    actor = actor_for(member, org)
    deal = opportunity_create(actor=actor, data={"name": "Archive"})
    for _ in range(3):
        note_create(
            actor=actor, body="Met them", kind="meeting", target={"opportunity_id": deal.pk}
        )
    signed_in.goto("/reports/people/")
    expect(signed_in.get_by_role("heading", name="People and activity", level=1)).to_be_visible()
    row = signed_in.get_by_role("row", name="sam@piql.test")
    expect(row.first).to_contain_text("3")
    expect(signed_in.get_by_role("meter").first).to_be_visible()
    signed_in.get_by_label("Salesperson", exact=True).select_option(label="sam@piql.test")
    signed_in.get_by_role("button", name="Show").click()
    expect(signed_in.get_by_label("Salesperson", exact=True)).to_have_value(str(member.pk))
    assert axe_violations(signed_in) == []
    assert errors == []
