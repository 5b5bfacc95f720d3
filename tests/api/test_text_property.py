"""Any text at all, in any writable text field of any record kind: the API answers 201 or 422,
never a 500; what it stores passes the text rule; the list and the export still answer."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesline.core.text import text_problem
from tests.api.test_hostile_text import PLURAL, RECORD_FIELDS
from tests.conftest import COMPANY, LEAD

# Every code point, surrogates and controls included (hypothesis leaves surrogates out unless
# told), in short strings and long ones.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40) | st.text(
    st.sampled_from("a\x00\x07\n\t\u202e\ud800\uffff é李"), min_size=200, max_size=300
)
BASE = {"company": COMPANY, "lead": LEAD, "opportunity": {"name": "Deal"}}
FIELDS = [(kind, name, multiline) for kind, name, _, multiline in RECORD_FIELDS if kind in BASE]


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(target=st.sampled_from(FIELDS), value=ANY_TEXT)
def test_any_text_in_any_field_answers_201_or_422_never_500(api, target, value):
    kind, field, multiline = target
    data = {**BASE[kind], field: value}
    if kind == "company" and field != "name":
        data["name"] = "Fuzz Company"

    response = api.post(f"/{PLURAL[kind]}", data)

    assert response.status_code in (201, 422), response.content
    if response.status_code == 201:
        stored = response.json()[field]
        assert text_problem(stored, multiline=multiline) is None
    assert api.get(f"/{PLURAL[kind]}").status_code == 200
    assert api.get(f"/{PLURAL[kind]}/export").status_code == 200
