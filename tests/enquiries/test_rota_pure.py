"""The rota's arithmetic (pure): default ends, overlaps and gaps, on duty and next."""

from datetime import date

from salesline.enquiries.rota import (
    Period,
    add_months,
    default_end,
    next_on_duty,
    on_duty,
    placement_problems,
    successor,
)

Q1 = Period(date(2027, 1, 1), date(2027, 3, 31), "Agile", 1)
Q2 = Period(date(2027, 4, 1), date(2027, 6, 30), "Webarch", 2)


def test_a_quarter_by_default():
    assert default_end(date(2027, 1, 1), 3) == date(2027, 3, 31)
    assert default_end(date(2027, 11, 15), 3) == date(2028, 2, 14)
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)


def test_the_first_period_goes_anywhere_and_the_next_must_touch():
    assert placement_problems(Q1, []) == []
    assert placement_problems(Q2, [Q1]) == []
    before = Period(date(2026, 10, 1), date(2026, 12, 31))
    assert placement_problems(before, [Q1, Q2]) == []


def test_an_overlap_names_the_clashing_period():
    clash = Period(date(2027, 3, 1), date(2027, 5, 31))
    assert placement_problems(clash, [Q1, Q2]) == [
        "It overlaps the period 2027-01-01 to 2027-03-31 (Agile).",
        "It overlaps the period 2027-04-01 to 2027-06-30 (Webarch).",
    ]


def test_a_gap_is_refused_with_the_day_it_should_start():
    late = Period(date(2027, 7, 2), date(2027, 9, 30))
    assert placement_problems(late, [Q1, Q2]) == [
        "It leaves a gap after the period 2027-04-01 to 2027-06-30 (Webarch): a new period "
        "must start on 2027-07-01."
    ]
    early = Period(date(2026, 6, 1), date(2026, 12, 30))
    assert placement_problems(early, [Q1]) == [
        "It leaves a gap before the period 2027-01-01 to 2027-03-31 (Agile): a new period "
        "must end on 2026-12-31."
    ]


def test_backwards_is_refused():
    assert placement_problems(Period(date(2027, 2, 1), date(2027, 1, 1)), []) != []


def test_on_duty_and_next():
    periods = [Q2, Q1]
    assert on_duty(periods, date(2027, 3, 31)) == Q1
    assert next_on_duty(periods, date(2027, 3, 31)) == Q2
    assert on_duty(periods, date(2026, 12, 1)) is None
    assert next_on_duty(periods, date(2026, 12, 1)) == Q1
    assert next_on_duty(periods, date(2027, 5, 1)) is None
    assert successor(periods, Q1) == Q2
    assert successor(periods, Q2) is None
