"""The web's one error path (`web.errors`): a DomainError leaving a page becomes the 404 page,
the 403 page or the view's own re-render; `bind_problems` puts problems beside inputs."""

import pytest
from django import forms as django_forms
from django.contrib.sessions.backends.db import SessionStore
from django.http import Http404, HttpResponse
from django.test import RequestFactory

from salesline.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Problem,
    ValidationFailed,
)
from salesline.web.errors import bind_problems, on_refusal
from salesline.web.forms import Input
from salesline.web.views.common import member_page


def _request(user):
    request = RequestFactory().get("/somewhere/")
    request.user, request.session, request.htmx = user, SessionStore(), False
    return request


def _page(error: DomainError, responder=None):
    @member_page
    def view(request, actor):
        if responder is not None:
            on_refusal(request, responder)
        raise error

    return view


def test_not_found_is_the_404_page(user):
    with pytest.raises(Http404):
        _page(NotFound("No company with id 5."))(_request(user))


def test_permission_denied_is_the_403_page_naming_the_rule(user):
    response = _page(PermissionDenied("Only an admin of Piql can do that."))(_request(user))
    assert response.status_code == 403
    assert "Only an admin of Piql can do that." in response.content.decode()


@pytest.mark.parametrize(
    "error", [ValidationFailed("bad"), Conflict("taken"), PreconditionFailed("stale")]
)
def test_a_refusal_is_the_views_own_page(user, error):
    answered = []

    def responder(refusal):
        answered.append(refusal)
        return HttpResponse("again", status=refusal.status)

    response = _page(error, responder)(_request(user))
    assert (response.status_code, response.content) == (error.status, b"again")
    assert answered == [error]


def test_a_refusal_no_view_expected_is_not_hidden(user):
    with pytest.raises(Conflict):
        _page(Conflict("taken"))(_request(user))


def test_a_salespersons_admin_page_is_the_403_page(browser):
    page = browser.get("/settings/fields/new/")
    assert page.status_code == 403 and "Only an admin" in page.content.decode()


def test_switching_to_someone_elses_organisation_is_404(browser, other_org):
    assert browser.post("/organisation/", {"organisation": other_org.pk}).status_code == 404
    assert browser.post("/organisation/", {"organisation": "x"}).status_code == 404
    assert browser.post("/organisation/", {"organisation": 2**64}).status_code == 404


def _inputs(*names):
    return [Input(name=name, label=name, widget="text") for name in names]


def test_bind_problems_to_inputs_by_their_form_name():
    inputs = _inputs("name", "cf_tier", "company-market", "stage")
    error = ValidationFailed(
        problems=[
            Problem(("name",), "Name is required."),
            Problem(("name",), "Name is required."),
            Problem(("custom_fields", "tier"), "Tier must be one of: A, B."),
            Problem(("company", "market"), "Market is required."),
            Problem(("pipeline",), "No such pipeline."),
            Problem(("checks", "budget"), "Tick budget."),
        ]
    )
    general = bind_problems(inputs, error)
    assert [i.errors for i in inputs] == [
        ["Name is required."],
        ["Tier must be one of: A, B."],
        ["Market is required."],
        ["No such pipeline."],
    ]
    assert general == ["Tick budget."]


def test_bind_problems_with_another_field_of_and_message_of():
    inputs = _inputs("pipeline")
    error = ValidationFailed(problems=[Problem(("pipeline",), "No such pipeline.")])
    general = bind_problems(
        inputs, error, field_of=lambda p: "pipeline", message_of=lambda p: p.msg.upper()
    )
    assert general == [] and inputs[0].errors == ["NO SUCH PIPELINE."]


def test_bind_problems_without_a_form_lists_every_message():
    two = ValidationFailed(problems=[Problem(("a",), "One."), Problem(("b",), "Two.")])
    assert bind_problems(None, two) == ["One.", "Two."]
    assert bind_problems(None, Conflict("Already converted.")) == ["Already converted."]


class _Form(django_forms.Form):
    email = django_forms.CharField()


def test_bind_problems_to_a_django_form():
    form = _Form({"email": "x"})
    assert form.is_valid()
    error = ValidationFailed(
        problems=[Problem(("email",), "Not an address."), Problem(("role",), "No such role.")]
    )
    assert bind_problems(form, error) == []
    assert form.errors == {"email": ["Not an address."], "__all__": ["No such role."]}
    other = _Form({"email": "x"})
    other.is_valid()
    bind_problems(other, Conflict("Already a member."))
    assert other.non_field_errors() == ["Already a member."]
