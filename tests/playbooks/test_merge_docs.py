"""docs/messages.md lists exactly the merge fields the code has (MERGE_FIELDS is the source)."""

import re
from pathlib import Path

from salesline.playbooks import merge

DOC = Path(__file__).resolve().parents[2] / "docs" / "messages.md"
REGENERATE = (
    ".venv/bin/python -c 'from salesline.playbooks.merge import merge_fields_markdown as m; "
    'print(m(), end="")\''
)


def documented_table() -> str:
    found = re.search(
        r"<!-- merge-fields:start[^>]*-->\n(.*?)<!-- merge-fields:end -->", DOC.read_text(), re.S
    )
    assert found, "docs/messages.md lost its merge-fields markers"
    return found[1]


def test_the_documented_table_is_the_catalogue():
    assert documented_table() == merge.merge_fields_markdown(), (
        f"docs/messages.md and MERGE_FIELDS disagree: regenerate the table with {REGENERATE}"
    )


def test_every_field_is_documented_once_with_what_it_holds():
    rows = re.findall(r"^\| `\{\{ ([\w.]+) \}\}` \| (.+) \|$", documented_table(), re.M)
    assert [name for name, _ in rows] == [name for name, _ in merge.merge_field_catalogue()]
    assert all(description.strip() for _, description in rows)


def test_the_catalogue_the_api_lists_is_the_documented_one(api):
    items = api.get("/merge-fields").json()["items"]
    rows = re.findall(r"^\| `\{\{ ([\w.]+) \}\}` \|", documented_table(), re.M)
    assert [item["name"] for item in items] == rows
