"""docs/messages.md and docs/playbooks.md list exactly the merge fields the code has (MERGE_FIELDS
is the source)."""

import re
from pathlib import Path

import pytest

from salesline.playbooks import merge

DOCS = Path(__file__).resolve().parents[2] / "docs"
# Issue 11 sends readers to docs/playbooks.md for the fields; docs/messages.md explains them.
DOCUMENTED_IN = ("messages.md", "playbooks.md")
REGENERATE = (
    ".venv/bin/python -c 'from salesline.playbooks.merge import merge_fields_markdown as m; "
    'print(m(), end="")\''
)


def documented_table(name: str) -> str:
    found = re.search(
        r"<!-- merge-fields:start[^>]*-->\n(.*?)<!-- merge-fields:end -->",
        (DOCS / name).read_text(),
        re.S,
    )
    assert found, f"docs/{name} lost its merge-fields markers"
    return found[1]


@pytest.mark.parametrize("name", DOCUMENTED_IN)
def test_the_documented_table_is_the_catalogue(name):
    assert documented_table(name) == merge.merge_fields_markdown(), (
        f"docs/{name} and MERGE_FIELDS disagree: regenerate the table with {REGENERATE}"
    )


@pytest.mark.parametrize("name", DOCUMENTED_IN)
def test_every_field_is_documented_once_with_what_it_holds(name):
    rows = re.findall(r"^\| `\{\{ ([\w.]+) \}\}` \| (.+) \|$", documented_table(name), re.M)
    assert [field for field, _ in rows] == [field for field, _ in merge.merge_field_catalogue()]
    assert all(description.strip() for _, description in rows)


def test_the_fields_the_contract_names_are_in_the_catalogue():
    names = {name for name, _ in merge.merge_field_catalogue()}
    assert {
        "contact.name",
        "contact.email",
        "company.name",
        "opportunity.name",
        "opportunity.value",
        "sender.name",
        "organisation.name",
        "links.booking",
    } <= names


def test_the_catalogue_the_api_lists_is_the_documented_one(api):
    items = api.get("/merge-fields").json()["items"]
    for name in DOCUMENTED_IN:
        rows = re.findall(r"^\| `\{\{ ([\w.]+) \}\}` \|", documented_table(name), re.M)
        assert [item["name"] for item in items] == rows
