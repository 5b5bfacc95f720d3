"""The activity map's check (capacity.transition.check_activities): an activity with no role is
unowned; one given to a role with nobody planned is listed apart, as nobody would do it."""

from salesline.capacity.transition import check_activities

PLANNED = {"salesperson": 2, "sales_coordinator": 2, "project_leader": 0, "customer_service": 3}


def test_an_activity_given_to_a_role_with_nobody_planned_is_not_owned():
    check = check_activities(
        [
            ("Meetings", "salesperson"),
            ("Outbound calls", "inside_sales"),  # never a planned role
            ("Site surveys", "project_leader"),  # 0 planned: a simple environment
            ("Reporting", ""),
            ("Order entry", "customer_service"),
        ],
        PLANNED,
    )
    assert check.unowned == ["Reporting"]
    assert check.unstaffed == ["Outbound calls", "Site surveys"]
    assert check.roles_without_activity == ["sales_coordinator"]
    assert not check.complete


def test_a_map_with_every_activity_staffed_is_complete():
    check = check_activities(
        [("Meetings", "salesperson"), ("Scheduling", "sales_coordinator")],
        {"salesperson": 2, "sales_coordinator": 2},
    )
    assert check.unowned == [] and check.unstaffed == [] and check.complete
