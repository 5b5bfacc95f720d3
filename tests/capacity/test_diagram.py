"""The organisation model's drawing (pure): one circle per person, a group per function with
people, the work queues between the roles present, escaped text, well-formed standalone SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from salesline.capacity.diagram import MAX_CIRCLES, org_model_svg

SVG = "{http://www.w3.org/2000/svg}"
NEW_MODEL = {
    "salesperson": 2,
    "sales_coordinator": 2,
    "project_leader": 4,
    "customer_service": 5,
    "promotions_coordinator": 1,
    "sales_support_manager": 1,
    "sales_manager": 0,
}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, under test


def roles_drawn(root: ET.Element) -> dict[str, int]:
    return {
        g.get("data-role"): len(g.findall(f"{SVG}circle"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "role"
    }


def test_one_circle_per_person_in_each_role_present():
    root = parse(org_model_svg(NEW_MODEL, title="New model"))
    assert root.tag == f"{SVG}svg"
    assert roles_drawn(root) == {role: n for role, n in NEW_MODEL.items() if n}
    assert len(list(root.iter(f"{SVG}circle"))) == 15


def test_functions_are_groups_only_for_the_roles_present():
    root = parse(org_model_svg(NEW_MODEL, title="New model"))
    functions = [
        g.get("data-function") for g in root.iter(f"{SVG}g") if g.get("class") == "function"
    ]
    # No sales manager for a field team of two: no management box.
    assert functions == ["sales_support", "field_sales", "project_leadership"]
    simple = parse(org_model_svg({"salesperson": 3, "sales_manager": 1}, title="Today"))
    functions = [
        g.get("data-function") for g in simple.iter(f"{SVG}g") if g.get("class") == "function"
    ]
    assert functions == ["management", "field_sales"]


def test_the_work_queues_join_the_roles_that_pass_work_on():
    root = parse(org_model_svg(NEW_MODEL, title="New model"))
    queues = {
        (g.get("data-from"), g.get("data-to")): "".join(g.itertext())
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "queue"
    }
    assert queues == {
        ("promotions_coordinator", "sales_coordinator"): "opportunities queue",
        ("sales_coordinator", "salesperson"): "salespeople's calendars",
        ("salesperson", "project_leader"): "won projects",
        ("salesperson", "customer_service"): "orders and issues",
    }
    # A queue to nobody is not drawn: a simple environment has no project leaders.
    simple = parse(org_model_svg({**NEW_MODEL, "project_leader": 0}, title="Simple"))
    assert ("salesperson", "project_leader") not in {
        (g.get("data-from"), g.get("data-to")) for g in simple.iter(f"{SVG}g")
    }


def test_a_large_role_is_capped_and_says_how_many_more():
    root = parse(org_model_svg({"salesperson": 130}, title="Big"))
    assert roles_drawn(root) == {"salesperson": MAX_CIRCLES}
    more = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "more"]
    assert more == [f"+{130 - MAX_CIRCLES} more"]
    assert "130 field salespeople" in root.find(f"{SVG}desc").text


def test_title_desc_and_activities_are_text_and_escaped():
    hostile = '<script>alert("x")</script> & Co'
    svg = org_model_svg(
        {"salesperson": 1, "customer_service": 1},
        title=hostile,
        activities=[(hostile, "customer_service"), ("Meetings", "salesperson"), ("Lost", "nobody")],
    )
    assert "<script>" not in svg
    root = parse(svg)
    assert root.find(f"{SVG}title").text == hostile
    assert root.get("role") == "img" and root.get("aria-labelledby")
    desc = root.find(f"{SVG}desc").text
    assert "Field sales: 1 field salesperson." in desc
    assert "Sales support: 1 customer-service representative." in desc
    texts = " ".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))
    assert "Meetings" in texts and "Lost" not in texts
    assert hostile[:20] in texts


def test_no_style_attributes_or_elements_for_the_pages_csp():
    svg = org_model_svg(NEW_MODEL, title="New model", activities=[("A", "salesperson")])
    root = parse(svg)
    assert not any(el.get("style") for el in root.iter())
    assert root.find(f".//{SVG}style") is None and "<script" not in svg


def test_many_activities_of_one_role_are_summarised():
    activities = [(f"Activity {i}", "salesperson") for i in range(6)]
    root = parse(org_model_svg({"salesperson": 1}, title="T", activities=activities))
    lines = [t.text for t in root.iter(f"{SVG}text") if (t.text or "").startswith("·")]
    assert lines == ["· Activity 0", "· Activity 1", "· +4 more activities"]


def test_nobody_planned_is_still_a_valid_drawing():
    root = parse(org_model_svg({}, title="Empty"))
    assert roles_drawn(root) == {}
    assert root.find(f"{SVG}desc").text == "Nobody planned yet."
