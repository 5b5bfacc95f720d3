"""The pure vote count: early decisions never differ from the deadline's."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesline.enquiries.voting import decide, eligibility_reasons

MAJORITIES = st.sampled_from([0.5, 0.6, 2 / 3, 0.75, 0.0, 0.9])
MODES = st.sampled_from(["cast", "members"])


def test_at_the_deadline_the_count_decides():
    assert decide(2, 1, 5, 0.5, "cast", closed=True) == "approved"
    assert decide(1, 1, 5, 0.5, "cast", closed=True) == "rejected"  # a tie is not a majority
    assert decide(2, 0, 5, 0.5, "members", closed=True) == "rejected"  # 2 of 5 is no majority
    assert decide(3, 0, 5, 0.5, "members", closed=True) == "approved"
    assert decide(0, 0, 5, 0.5, "cast", closed=True) == "rejected"  # nobody voted


def test_counted_against_members_is_decided_once_a_majority_of_members_said_yes():
    assert decide(2, 0, 5, 0.5, "members", closed=False) == "undecided"
    assert decide(3, 0, 5, 0.5, "members", closed=False) == "approved"
    # 3 no of 5: yes can reach 2 at most, never more than half of 5.
    assert decide(0, 3, 5, 0.5, "members", closed=False) == "rejected"


def test_counted_against_cast_waits_while_the_missing_votes_could_swing_it():
    assert decide(1, 0, 3, 0.5, "cast", closed=False) == "undecided"
    assert decide(1, 1, 3, 0.5, "cast", closed=False) == "undecided"
    assert decide(2, 1, 3, 0.5, "cast", closed=False) == "approved"  # everyone voted
    # 2 yes of 3 members: even if the last votes no, 2 of 3 cast is a majority.
    assert decide(2, 0, 3, 0.5, "cast", closed=False) == "approved"


def test_a_two_thirds_majority_is_exact():
    # 2 is not more than 2/3 of 3
    assert decide(2, 1, 3, 2 / 3, "cast", closed=True) == "rejected"
    assert decide(2, 1, 3, 0.6667, "cast", closed=True) == "rejected"
    assert decide(3, 1, 4, 2 / 3, "cast", closed=True) == "approved"


def test_unknown_base_is_refused():
    with pytest.raises(ValueError):
        decide(1, 0, 3, 0.5, "everyone", closed=False)


@st.composite
def votes_so_far_and_later(draw):
    members = draw(st.integers(min_value=0, max_value=40))
    yes = draw(st.integers(min_value=0, max_value=members))
    no = draw(st.integers(min_value=0, max_value=members - yes))
    remaining = members - yes - no
    later_yes = draw(st.integers(min_value=0, max_value=remaining))
    later_no = draw(st.integers(min_value=0, max_value=remaining - later_yes))
    return members, yes, no, later_yes, later_no


@given(votes_so_far_and_later(), MAJORITIES, MODES)
def test_an_early_decision_never_differs_from_the_deadline(counts, majority, mode):
    members, yes, no, later_yes, later_no = counts
    early = decide(yes, no, members, majority, mode, closed=False)
    final = decide(yes + later_yes, no + later_no, members, majority, mode, closed=True)
    if early != "undecided":
        assert early == final


@given(votes_so_far_and_later(), MAJORITIES, MODES)
def test_once_decided_more_votes_do_not_undo_it(counts, majority, mode):
    members, yes, no, later_yes, later_no = counts
    early = decide(yes, no, members, majority, mode, closed=False)
    later = decide(yes + later_yes, no + later_no, members, majority, mode, closed=False)
    if early != "undecided":
        assert later == early


@given(st.integers(min_value=0, max_value=30), MAJORITIES, MODES, st.data())
def test_when_everyone_has_voted_the_outcome_is_known(members, majority, mode, data):
    yes = data.draw(st.integers(min_value=0, max_value=members))
    early = decide(yes, members - yes, members, majority, mode, closed=False)
    assert early == decide(yes, members - yes, members, majority, mode, closed=True)


def test_eligibility_uk_cooperatives_only():
    rules = {"countries": ("GB",), "legal_forms": ("co-operative",)}
    assert eligibility_reasons(country="GB", legal_form="Worker co-op", **rules) == []
    assert eligibility_reasons(country="gb", legal_form="Cooperative society", **rules) == []
    reasons = eligibility_reasons(country="FR", legal_form="SCOP co-operative", **rules)
    assert len(reasons) == 1 and "GB" in reasons[0]
    reasons = eligibility_reasons(country="DE", legal_form="GmbH", **rules)
    assert len(reasons) == 2
    assert eligibility_reasons(country="DE", legal_form="GmbH", countries=(), legal_forms=()) == []
