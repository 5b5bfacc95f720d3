"""Sales eligibility (pure): every criterion answered; a budget reaching the minimum of the
smallest member able to take the work."""

from decimal import Decimal

from salesline.enquiries.eligibility import (
    AbleMember,
    assess_sales,
    member_minimum,
    parse_budget,
)
from salesline.enquiries.rules import SalesCriteria

CRITERIA = SalesCriteria(value_per_staff=1000)
FULL = {"budget": 20000, "timescale": "3 months", "technology": "Django", "brief": "A site"}


def test_a_member_minimum_is_its_own_else_per_staff_else_nothing():
    assert member_minimum(AbleMember("A", Decimal(5000), 40), CRITERIA) == 5000
    assert member_minimum(AbleMember("B", None, 12), CRITERIA) == 12000
    assert member_minimum(AbleMember("C"), CRITERIA) == 0


def test_feasible_when_answered_and_the_budget_reaches_the_smallest_minimum():
    members = [AbleMember("Big", None, 30), AbleMember("Small", Decimal(8000), 3)]
    verdict = assess_sales(FULL, CRITERIA, members)
    assert verdict.eligible
    assert verdict.reasons == ()
    assert (verdict.minimum, verdict.minimum_member) == (Decimal(8000), "Small")


def test_each_missing_answer_is_a_reason():
    verdict = assess_sales({"budget": 20000, "brief": "  "}, CRITERIA, [AbleMember("A")])
    assert not verdict.eligible
    assert verdict.reasons == (
        "The timescale is not answered.",
        "The technology is not answered.",
        "The brief is not answered.",
    )


def test_a_budget_below_the_smallest_minimum_names_the_figures():
    members = [AbleMember("Webarchitects", None, 5), AbleMember("Outlandish", None, 20)]
    verdict = assess_sales({**FULL, "budget": "3,000"}, CRITERIA, members)
    assert verdict.reasons == (
        "The budget of GBP 3,000 is below GBP 5,000, the minimum value of the smallest member "
        "able to take it (Webarchitects).",
    )


def test_nobody_able_and_an_unreadable_budget_are_reasons():
    verdict = assess_sales({**FULL, "budget": "lots", "skills": ["cobol"]}, CRITERIA, [])
    assert verdict.reasons == (
        "The budget 'lots' is not an amount of money.",
        "No member organisation has any of the skills needed (cobol).",
    )


def test_budgets_are_read_as_amounts():
    assert parse_budget("£12k") == 12000
    assert parse_budget("12,500.50") == Decimal("12500.50")
    assert parse_budget(7) == 7
    assert parse_budget(True) is None
    assert parse_budget(-5) is None
    assert parse_budget("NaN") is None
    assert parse_budget("") is None
