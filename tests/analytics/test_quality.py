"""The quality rating's pure core: rate(spec, facts) -> score, band and reasons."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from salesline.analytics.quality import (
    DEFAULT_QUALITY,
    QualityDefinition,
    QualityFacts,
    QualitySpec,
    rate,
    stages_ahead,
    stages_passed,
)
from salesline.pipeline.gates import ChecklistItem, Condition, Gate, MoveFacts, StageSpec

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)

STAGES = (
    StageSpec("lead", "Lead", "open", 10, Gate(require=("company_id",))),
    StageSpec(
        "qualify",
        "Qualify",
        "open",
        30,
        Gate(
            require=("value", "expected_close_date"),
            checklist=(ChecklistItem("budget", "Budget confirmed"), ChecklistItem("nda", "NDA")),
        ),
    ),
    StageSpec("propose", "Propose", "open", 60, Gate(require=("use_case",))),
    StageSpec("won", "Won", "won", 100),
    StageSpec("lost", "Lost", "lost", 0),
)


def facts(
    stage="qualify",
    fields=None,
    ticked=(),
    contact=True,
    last_activity=NOW - timedelta(days=3),
) -> QualityFacts:
    values = {
        "company_id": 7,
        "value": Decimal("50000"),
        "expected_close_date": date(2026, 9, 30),
        "use_case": "",
    }
    values.update(fields or {})
    return QualityFacts(
        stages=STAGES,
        stage=stage,
        move_facts=MoveFacts(fields=values, ticked=frozenset(ticked), labels={"value": "Value"}),
        has_contact=contact,
        last_activity=last_activity,
        now=NOW,
    )


def test_everything_met_scores_100_and_is_good():
    rating = rate(DEFAULT_QUALITY, facts(ticked={"budget", "nda"}))
    assert rating.score == 100
    assert rating.band == "good"
    assert all(reason.met for reason in rating.reasons)
    assert [r.key for r in rating.reasons] == [
        "gate-fields",
        "checklist",
        "contact",
        "recent-activity",
        "close-date",
        "value",
    ]


def test_half_the_checklist_earns_half_its_weight():
    # Weights 25 + 15 + 15 + 20 + 15 + 10 = 100; one of two boxes ticked: 15 / 2 = 7.5 lost.
    rating = rate(DEFAULT_QUALITY, facts(ticked={"budget"}))
    assert rating.score == 93  # 92.5 rounds half up
    checklist = rating.reasons[1]
    assert not checklist.met
    assert checklist.met_share == 0.5
    assert checklist.text == "Tick 'NDA' on the checklist."


def test_fields_of_the_stages_passed_and_the_checklist_of_the_next_count():
    # In lead, lead's gate asks for company_id (filled); qualify's checklist is the work in
    # hand: 2 of 2 items unticked, 15 lost.
    rating = rate(DEFAULT_QUALITY, facts(stage="lead"))
    assert rating.reasons[0].met
    assert rating.reasons[0].text == "Every field the gates ask for is filled."
    assert rating.reasons[1].met_share == 0
    assert rating.score == 85
    # In propose, the next stage (won is not "next open") has no checklist; qualify's counts.
    assert (
        rate(DEFAULT_QUALITY, facts(stage="propose", ticked={"budget"})).reasons[1].met_share == 0.5
    )
    # In propose, use_case (empty) is missing: 3 of 4 gate fields, 25 * 3/4 = 18.75.
    rating = rate(DEFAULT_QUALITY, facts(stage="propose", ticked={"budget", "nda"}))
    assert rating.reasons[0].met_share == 0.75
    assert rating.reasons[0].text == "Fill in Use case: the stage gates passed ask for it."
    assert rating.score == 94  # 100 - 6.25 = 93.75


def test_nothing_done_is_poor_with_an_action_for_each_unmet_spec():
    rating = rate(
        DEFAULT_QUALITY,
        facts(
            fields={"company_id": None, "value": None, "expected_close_date": None},
            contact=False,
            last_activity=NOW - timedelta(days=45),
        ),
    )
    assert rating.score == 0
    assert rating.band == "poor"
    assert [r.text for r in rating.unmet] == [
        "Fill in Company, Value and Expected close date: the stage gates passed ask for them.",
        "Tick 'Budget confirmed' and 'NDA' on the checklist.",
        "Name a primary contact: who speaks for the customer?",
        "Log a call, a meeting or a note: the last activity was 45 days ago (more than 30).",
        "Set the expected close date.",
        "Estimate the value of the opportunity.",
    ]


def test_a_close_date_in_the_past_is_unmet_while_open_and_fine_once_closed():
    past = {"expected_close_date": date(2026, 6, 14)}
    rating = rate(DEFAULT_QUALITY, facts(fields=past, ticked={"budget", "nda"}))
    assert rating.score == 85
    assert rating.band == "good"
    assert rating.unmet[0].text == "The expected close date 2026-06-14 has passed: set a new one."
    won = rate(DEFAULT_QUALITY, facts(stage="won", fields=past | {"use_case": "Archive"}))
    assert won.reasons[4].met


def test_activity_exactly_n_days_ago_is_still_recent():
    spec = QualityDefinition(specs=(QualitySpec("recent", "recent_activity", 1, days=14),))
    assert rate(spec, facts(last_activity=NOW - timedelta(days=14))).score == 100
    assert rate(spec, facts(last_activity=NOW - timedelta(days=14, seconds=1))).score == 0
    assert rate(spec, facts(last_activity=None)).reasons[0].text == (
        "Log a note or a call: nothing in 14 days."
    )


def test_a_condition_check_uses_the_gate_rules_and_bands_are_configurable():
    spec = QualityDefinition(
        specs=(
            QualitySpec(
                "big", "condition", 3, condition=Condition("value", ">=", 100000), label=""
            ),
            QualitySpec("contact", "contact", 1),
        ),
        good=90,
        fair=20,
    )
    rating = rate(spec, facts())
    assert rating.score == 25  # 1 of 4
    assert rating.band == "fair"
    assert rating.reasons[0].text == "Value must be at least 100000."
    assert rate(spec, facts(fields={"value": Decimal("100000")})).band == "good"


def test_stages_passed_and_ahead():
    assert [s.key for s in stages_ahead(STAGES, "lead")] == ["lead", "qualify"]
    assert [s.key for s in stages_ahead(STAGES, "propose")] == ["lead", "qualify", "propose"]
    assert [s.key for s in stages_ahead(STAGES, "lost")] == ["lead", "qualify", "propose"]
    assert [s.key for s in stages_passed(STAGES, "qualify")] == ["lead", "qualify"]
    assert [s.key for s in stages_passed(STAGES, "won")] == ["lead", "qualify", "propose", "won"]
    assert [s.key for s in stages_passed(STAGES, "lost")] == ["lead", "qualify", "propose"]
