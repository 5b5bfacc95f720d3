"""Stage gates: pure tests, no database."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesline.pipeline.gates import (
    OPERATORS,
    ChecklistItem,
    Condition,
    Gate,
    MoveFacts,
    NamePattern,
    StageSpec,
    UnknownStage,
    UnmetCriterion,
    evaluate_gate,
    evaluate_move,
    fallback_label,
    gate_requirements,
    is_blank,
    stages_entered,
)

# A pipeline whose every stage has one requirement named after it, so a test can read off which
# stages a move entered from the unmet criteria.
STAGES = (
    StageSpec("a", "Alpha", "open", 10, Gate(require=("field_a",))),
    StageSpec("b", "Bravo", "open", 30, Gate(require=("field_b",))),
    StageSpec("c", "Charlie", "open", 50, Gate(require=("field_c",))),
    StageSpec("d", "Delta", "open", 70, Gate(require=("field_d",))),
    StageSpec("won", "Won", "won", 100, Gate(reason_required=True)),
    StageSpec("lost", "Lost", "lost", 0, Gate(reason_required=True)),
)
OPEN_KEYS = ["a", "b", "c", "d"]


def entered(current: str | None, target: str) -> list[str]:
    return [stage.key for stage in stages_entered(STAGES, current, target)]


def gate_stage(**gate: object) -> StageSpec:
    return StageSpec("qualify", "Qualify", "open", 25, Gate(**gate))  # type: ignore[arg-type]


def unmet(stage: StageSpec, reason: str = "", ticked: frozenset[str] = frozenset(), **fields):
    return evaluate_gate(stage, MoveFacts(fields=fields, ticked=ticked, reason=reason))


def messages(criteria: list[UnmetCriterion]) -> list[str]:
    return [criterion.message for criterion in criteria]


# --- blank values and labels -------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n", [], {}, (), set()])
def test_blank_values(value):
    assert is_blank(value)


@pytest.mark.parametrize(
    "value", [0, 0.0, Decimal(0), False, "x", " x ", [0], {"a": 1}, date(2025, 1, 1)]
)
def test_zero_false_and_content_are_not_blank(value):
    assert not is_blank(value)


@pytest.mark.parametrize(
    ("field", "label"),
    [
        ("expected_close_date", "Expected close date"),
        ("company_id", "Company"),
        ("primary_contact_id", "Primary contact"),
        ("value", "Value"),
        ("id", "Id"),
    ],
)
def test_fallback_label(field, label):
    assert fallback_label(field) == label


def test_given_labels_win_over_the_fallback():
    stage = gate_stage(require=("data_volume",))
    facts = MoveFacts(fields={}, labels={"data_volume": "Volume of information"})
    assert messages(evaluate_gate(stage, facts)) == [
        "Volume of information is required to enter Qualify."
    ]


# --- require -----------------------------------------------------------------------------------


def test_require_reports_each_blank_field_with_a_sentence():
    stage = gate_stage(require=("company_id", "expected_close_date", "value", "sector"))
    result = unmet(stage, company_id=7, expected_close_date=None, value=0, sector="  ")
    assert result == [
        UnmetCriterion(
            "qualify",
            "require",
            "expected_close_date",
            "Expected close date is required to enter Qualify.",
        ),
        UnmetCriterion("qualify", "require", "sector", "Sector is required to enter Qualify."),
    ]


def test_require_treats_an_absent_field_as_blank():
    assert messages(unmet(gate_stage(require=("use_case",)))) == [
        "Use case is required to enter Qualify."
    ]


# --- conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "expected", "actual", "holds"),
    [
        ("==", "public", "public", True),
        ("==", "public", "private", False),
        ("!=", "public", "private", True),
        ("!=", "public", "public", False),
        (">", 0, 1, True),
        (">", 0, 0, False),
        (">=", 10, 10, True),
        (">=", 10, 9, False),
        ("<", 100, 99, True),
        ("<", 100, 100, False),
        ("<=", 100, 100, True),
        ("<=", 100, 101, False),
        ("in", ("public", "private"), "private", True),
        ("in", ("public", "private"), "other", False),
        ("not_in", ("lost", "cancelled"), "open", True),
        ("not_in", ("lost", "cancelled"), "lost", False),
        ("==", True, True, True),
        ("==", True, False, False),
    ],
)
def test_each_operator(op, expected, actual, holds):
    stage = gate_stage(conditions=(Condition("x", op, expected),))
    assert (unmet(stage, x=actual) == []) is holds


@pytest.mark.parametrize(
    "amount", [Decimal("180000.00"), 180000, 180000.0, "180000", " 180000.5 ", Decimal("0.01")]
)
def test_numbers_compare_whatever_their_python_type(amount):
    stage = gate_stage(conditions=(Condition("value", ">", 0),))
    assert unmet(stage, value=amount) == []


def test_numbers_in_a_list_compare_by_value():
    stage = gate_stage(conditions=(Condition("data_volume", "in", (1, 2.5)),))
    assert unmet(stage, data_volume=Decimal("2.50")) == []
    assert unmet(stage, data_volume="1") == []


def test_quoted_number_in_the_rule_still_compares_numerically():
    stage = gate_stage(conditions=(Condition("value", ">", "9"),))
    assert unmet(stage, value=Decimal(10)) == []


@pytest.mark.parametrize(
    "close_date",
    [date(2025, 3, 1), datetime(2025, 3, 1, 12, 0, tzinfo=UTC), "2025-03-01", "2025-03-01T08:00"],
)
def test_dates_compare_as_dates_or_iso_text(close_date):
    after = gate_stage(conditions=(Condition("expected_close_date", ">=", "2025-01-01"),))
    before = gate_stage(conditions=(Condition("expected_close_date", "<", date(2025, 1, 1)),))
    assert unmet(after, expected_close_date=close_date) == []
    assert len(unmet(before, expected_close_date=close_date)) == 1


def test_failed_condition_messages_name_field_rule_and_stage():
    stage = gate_stage(
        conditions=(
            Condition("value", ">", 0),
            Condition("sector", "in", ("public", "private")),
            Condition("win_probability", "<=", 100),
            Condition("vertical", "not_in", ("defence",)),
            Condition("currency", "==", "EUR"),
        )
    )
    result = unmet(
        stage, value=0, sector="other", win_probability=120, vertical="defence", currency="NOK"
    )
    assert messages(result) == [
        "Value must be greater than 0 to enter Qualify.",
        "Sector must be one of public or private to enter Qualify.",
        "Win probability must be at most 100 to enter Qualify.",
        "Vertical must not be defence to enter Qualify.",
        "Currency must be EUR to enter Qualify.",
    ]
    assert {criterion.kind for criterion in result} == {"condition"}


def test_a_managers_message_replaces_the_default_and_names_the_stage():
    stage = gate_stage(conditions=(Condition("value", ">", 0, message="Estimate the value."),))
    assert messages(unmet(stage, value=-5)) == ["To enter Qualify: Estimate the value."]


def test_blank_field_in_require_is_reported_once_as_required():
    stage = gate_stage(require=("value",), conditions=(Condition("value", ">", 0),))
    assert unmet(stage, value=None) == [
        UnmetCriterion("qualify", "require", "value", "Value is required to enter Qualify.")
    ]


def test_blank_field_not_in_require_fails_its_condition_as_must_be_set():
    stage = gate_stage(conditions=(Condition("sector", "in", ("public", "private")),))
    assert unmet(stage, sector="") == [
        UnmetCriterion("qualify", "condition", "sector", "Sector must be set to enter Qualify.")
    ]


def test_zero_is_a_value_not_a_blank():
    stage = gate_stage(require=("value",), conditions=(Condition("value", ">", 0),))
    assert messages(unmet(stage, value=0)) == ["Value must be greater than 0 to enter Qualify."]


@pytest.mark.parametrize(
    ("op", "expected", "actual", "message"),
    [
        (
            ">",
            0,
            "abc",
            "Value must be greater than 0 to enter Qualify, but 'abc' is not a number.",
        ),
        ("==", 5, "five", "Value must be 5 to enter Qualify, but 'five' is not a number."),
        (
            ">",
            0,
            "NaN",
            "Value must be greater than 0 to enter Qualify, but 'NaN' is not a number.",
        ),
        (
            ">=",
            date(2025, 1, 1),
            "soon",
            "Value must be at least 2025-01-01 to enter Qualify, but 'soon' is not a date "
            "(YYYY-MM-DD).",
        ),
        ("==", "public", 3, "Value must be public to enter Qualify, but '3' is not text."),
        ("==", True, "yes", "Value must be yes to enter Qualify, but 'yes' is not true or false."),
        (
            ">",
            "m",
            ["x"],
            "Value must be greater than m to enter Qualify, but it holds several values, not text.",
        ),
    ],
)
def test_wrong_types_are_unmet_with_a_clear_message(op, expected, actual, message):
    stage = gate_stage(conditions=(Condition("value", op, expected),))
    assert messages(unmet(stage, value=actual)) == [message]


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
    st.datetimes(),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(), scalars))


@given(actual=values, expected=scalars, op=st.sampled_from(OPERATORS))
def test_comparisons_never_crash(actual, expected, op):
    rule = (expected, expected) if op in ("in", "not_in") else expected
    stage = gate_stage(conditions=(Condition("x", op, rule),))
    for criterion in unmet(stage, x=actual):
        assert criterion.kind == "condition"
        assert criterion.message.endswith(".")
        assert "Qualify" in criterion.message


def test_an_empty_list_rule_is_unmet_not_a_crash():
    stage = gate_stage(conditions=(Condition("sector", "in", ()),))
    assert messages(unmet(stage, sector="public")) == [
        "Sector must be one of (nothing) to enter Qualify."
    ]


def test_an_unknown_operator_is_unmet_not_a_crash():
    stage = gate_stage(conditions=(Condition("value", "~", 1),))
    assert messages(unmet(stage, value=1)) == ["Value must satisfy ~ 1 to enter Qualify."]


# --- name pattern, checklist, reason -----------------------------------------------------------

NAME_RULE = NamePattern(r"\d+ TB - .+", "Name must start with the amount of data.")


def test_name_pattern_must_match_the_whole_name():
    stage = gate_stage(name_pattern=NAME_RULE)
    assert unmet(stage, name="3 TB - Personnel records") == []
    assert unmet(stage, name="  3 TB - Personnel records  ") == []
    assert unmet(stage, name="About 3 TB - Personnel records") == [
        UnmetCriterion(
            "qualify",
            "name_pattern",
            "name",
            "To enter Qualify: Name must start with the amount of data.",
        )
    ]


def test_blank_name_is_only_required_when_name_is_in_require():
    with_require = gate_stage(require=("name",), name_pattern=NAME_RULE)
    without = gate_stage(name_pattern=NAME_RULE)
    assert [c.kind for c in unmet(with_require, name="")] == ["require"]
    assert [c.kind for c in unmet(without, name="")] == ["name_pattern"]
    assert [c.kind for c in unmet(without, name=42)] == ["name_pattern"]


def test_an_invalid_name_regex_is_unmet_not_a_crash():
    stage = gate_stage(name_pattern=NamePattern("([", "Bad rule."))
    assert [c.kind for c in unmet(stage, name="anything")] == ["name_pattern"]


def test_checklist_items_must_be_ticked():
    stage = gate_stage(
        checklist=(
            ChecklistItem("use_case_verified", "Use-case verified by the client"),
            ChecklistItem("poc_done", "Proof of concept done"),
        )
    )
    assert unmet(stage, ticked=frozenset({"use_case_verified"})) == [
        UnmetCriterion(
            "qualify", "checklist", "poc_done", "Tick 'Proof of concept done' to enter Qualify."
        )
    ]
    assert unmet(stage, ticked=frozenset({"use_case_verified", "poc_done", "other"})) == []


@pytest.mark.parametrize(("reason", "met"), [("", False), ("   ", False), ("Budget cut", True)])
def test_reason_required(reason, met):
    stage = StageSpec("lost", "Lost", "lost", 0, Gate(reason_required=True))
    missing = UnmetCriterion("lost", "reason", "reason", "A reason is required to enter Lost.")
    expected = [] if met else [missing]
    assert unmet(stage, reason=reason) == expected


def test_no_reason_needed_when_not_required():
    assert unmet(gate_stage(), reason="") == []


def test_every_unmet_criterion_of_a_gate_in_rule_order():
    stage = gate_stage(
        reason_required=True,
        checklist=(ChecklistItem("verified", "Verified"),),
        name_pattern=NAME_RULE,
        conditions=(Condition("value", ">", 0),),
        require=("company_id",),
    )
    assert [(c.kind, c.field) for c in unmet(stage, name="x", value=-1)] == [
        ("require", "company_id"),
        ("condition", "value"),
        ("name_pattern", "name"),
        ("checklist", "verified"),
        ("reason", "reason"),
    ]


# --- which stages a move enters ----------------------------------------------------------------


def test_moving_one_stage_forward_enters_that_stage():
    assert entered("a", "b") == ["b"]


def test_skipped_stages_are_entered_too():
    assert entered("a", "d") == ["b", "c", "d"]


def test_a_new_opportunity_enters_every_stage_up_to_its_target():
    assert entered(None, "a") == ["a"]
    assert entered(None, "c") == ["a", "b", "c"]


def test_winning_enters_every_remaining_open_stage_then_won():
    assert entered("b", "won") == ["c", "d", "won"]
    assert entered("d", "won") == ["won"]
    assert entered(None, "won") == ["a", "b", "c", "d", "won"]


def test_losing_checks_only_the_lost_stage():
    assert entered("a", "lost") == ["lost"]
    assert entered(None, "lost") == ["lost"]
    assert entered("won", "lost") == ["lost"]


def test_moving_backwards_checks_nothing():
    assert entered("d", "a") == []
    assert entered("c", "b") == []


def test_moving_to_the_current_stage_is_a_no_op():
    assert entered("b", "b") == []
    assert entered("won", "won") == []


def test_reopening_from_a_closed_stage_starts_before_the_first_stage():
    assert entered("lost", "b") == ["a", "b"]
    assert entered("won", "a") == ["a"]
    assert entered("lost", "won") == ["a", "b", "c", "d", "won"]


def test_unknown_stages_raise():
    with pytest.raises(UnknownStage):
        entered("a", "nowhere")
    with pytest.raises(UnknownStage):
        entered("nowhere", "a")
    with pytest.raises(ValueError):
        evaluate_move(STAGES, None, "nowhere", MoveFacts(fields={}))


@given(st.sampled_from(OPEN_KEYS), st.sampled_from(OPEN_KEYS))
def test_open_moves_enter_exactly_the_stages_in_between(current, target):
    start, end = OPEN_KEYS.index(current), OPEN_KEYS.index(target)
    assert entered(current, target) == OPEN_KEYS[start + 1 : end + 1]


# --- evaluate_move -----------------------------------------------------------------------------


def test_evaluate_move_lists_all_unmet_criteria_in_stage_order():
    result = evaluate_move(STAGES, "a", "won", MoveFacts(fields={"field_c": "done"}))
    assert [(c.stage, c.kind, c.field) for c in result] == [
        ("b", "require", "field_b"),
        ("d", "require", "field_d"),
        ("won", "reason", "reason"),
    ]
    assert messages(result) == [
        "Field b is required to enter Bravo.",
        "Field d is required to enter Delta.",
        "A reason is required to enter Won.",
    ]


def test_evaluate_move_passes_when_every_entered_gate_is_met():
    facts = MoveFacts(fields={"field_b": 1, "field_c": 2}, reason="")
    assert evaluate_move(STAGES, "a", "c", facts) == []


def test_losing_ignores_the_criteria_of_the_open_stages():
    facts = MoveFacts(fields={}, reason="No budget this year")
    assert evaluate_move(STAGES, "a", "lost", facts) == []


def test_backward_move_passes_with_nothing_filled_in():
    assert evaluate_move(STAGES, "d", "a", MoveFacts(fields={})) == []


# --- requirements before a move ------------------------------------------------------------------

QUALIFY = StageSpec(
    "qualify",
    "Qualify",
    "open",
    25,
    Gate(
        require=("company_id", "value"),
        conditions=(Condition("value", ">", 0),),
        name_pattern=NamePattern(r"\d+ TB - .+", "Name must read '<n> TB - <content>'."),
        checklist=(ChecklistItem("fit", "Fits our services"),),
        reason_required=True,
    ),
)


def test_gate_requirements_list_every_rule_in_order_marked_met_or_not():
    facts = MoveFacts(
        fields={"company_id": 7, "value": Decimal("-5"), "name": "3 TB - Tax"},
        labels={"company_id": "Company", "value": "Estimated value"},
    )
    found = gate_requirements(QUALIFY, facts)
    assert [(r.kind, r.field, r.met) for r in found] == [
        ("require", "company_id", True),
        ("require", "value", True),
        ("condition", "value", False),
        ("name_pattern", "name", True),
        ("checklist", "fit", False),
        ("reason", "reason", False),
    ]
    assert found[2].text == "Estimated value must be greater than 0"
    # What is not met carries the refusal's own words, for a panel that shows it beforehand.
    assert found[2].message == "Estimated value must be greater than 0 to enter Qualify."
    assert found[4].text == "Tick 'Fits our services'" and found[4].box == "Fits our services"
    assert found[3].text == "Name must read '<n> TB - <content>'." and found[3].message == ""


def test_a_condition_on_an_empty_field_is_not_met_though_only_required_is_reported():
    found = gate_requirements(QUALIFY, MoveFacts(fields={}, ticked=frozenset({"fit"})))
    by_kind = {(r.kind, r.field): r for r in found}
    assert not by_kind[("require", "value")].met
    assert not by_kind[("condition", "value")].met
    assert (
        by_kind[("condition", "value")].message == "Value must be greater than 0 to enter Qualify."
    )
    assert by_kind[("checklist", "fit")].met
