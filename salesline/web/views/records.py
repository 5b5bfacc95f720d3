"""Record pages: every field (editable in place), related records, notes and the timeline;
create and edit forms; delete with undo; lead conversion.

Every write is the API's: the same services, the same problems, the same version check. The
views only turn form text into the services' data and the services' problems back into
messages beside the inputs they name.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesline.core.errors import PreconditionFailed, ValidationFailed
from salesline.core.ids import is_id
from salesline.pipeline import conversion
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline import services as pipeline_services
from salesline.process.definition import Choice, choice_label
from salesline.process.selectors import definition_for
from salesline.records import selectors as record_selectors
from salesline.records import services as record_services
from salesline.records.fields import KINDS
from salesline.records.models import Note
from salesline.records.services import custom_field_defs

from .. import forms
from ..errors import bind_problems, on_refusal
from ..formatting import money, shown
from ..selectors import record_timeline, stage_history
from ..session import remember_viewed
from .common import kind_of, member_page, page_context

STALE_MESSAGE = (
    "This record was changed by someone else since you opened it, so nothing was saved. "
    "The form now shows the current values; apply your change again."
)
NOTE_TARGET = {kind: f"{kind}_id" for kind in KINDS}


def _record_or_404(actor, kind: str, record_id, *, deleted: bool = False):
    if not is_id(int(record_id)):  # a number past 64 bits in a URL names nothing
        raise Http404("No such record.")
    return record_selectors.record_get_for(
        actor=actor, kind=kind, record_id=record_id, deleted=deleted
    )


def _create(actor, kind: str, data: dict):
    """The API's create: opportunities enter a pipeline through the pipeline service."""
    if kind == "opportunity":
        return pipeline_services.opportunity_create(actor=actor, data=data)
    return record_services.record_create(actor=actor, kind=kind, data=data)


def _update(actor, kind: str, record_id: int, data: dict, version: int):
    if kind == "opportunity":
        return pipeline_services.opportunity_update(
            actor=actor, opportunity_id=record_id, data=data, expected_version=version
        )
    return record_services.record_update(
        actor=actor, kind=kind, record_id=record_id, data=data, expected_version=version
    )


def _posted_version(request: HttpRequest) -> int:
    """The version the page was rendered from. A form without one cannot prove it is not
    stale, so it is refused like a stale one (never saved unchecked)."""
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        raise PreconditionFailed(
            "The form did not say which version of the record it edits; reload the page."
        ) from None


# ---------------------------------------------------------------- the record page


def _display_text(
    kind: str, obj, name: str, custom_types: dict[str, str], choices: tuple[Choice, ...] = ()
) -> tuple[str, str]:
    """(text, link) of one field as the record page shows it: the page's one way of showing
    dates, numbers, money and yes/no (formatting.shown), a declared choice by its label."""
    if name == "stage":
        return f"{obj.pipeline.name}: {obj.stage.name}", ""
    if name.startswith(forms.CUSTOM_PREFIX):
        key = name.removeprefix(forms.CUSTOM_PREFIX)
        return shown((obj.custom_fields or {}).get(key), custom_types.get(key, "")), ""
    spec = KINDS[kind].fields[name]
    if spec.type == "reference":
        related = getattr(obj, spec.attr.removesuffix("_id"), None)
        if related is None:
            return "", ""
        if spec.reference == "user":
            return related.full_name or related.email, ""
        if spec.reference == "campaign":
            return related.name, reverse("web:campaign-edit", args=[related.pk])
        plural = KINDS[spec.reference].plural
        return related.name, reverse("web:record-detail", args=[plural, related.pk])
    value = getattr(obj, spec.attr)
    if choices and value:
        return choice_label(choices, value), ""
    if spec.type == "choice" and value:
        return value.capitalize(), ""
    if name == "value" and hasattr(obj, "currency"):
        return money(value, obj.currency), ""
    return shown(value, spec.type), ""


def _custom_types(custom_defs) -> dict[str, str]:
    return {definition.key: definition.type for definition in custom_defs}


def _field_row(
    kind: str,
    obj,
    name: str,
    label: str,
    custom_types: dict[str, str],
    choices: tuple[Choice, ...] = (),
) -> dict:
    text, url = _display_text(kind, obj, name, custom_types, choices)
    return {"name": name, "label": label, "text": text, "url": url}


def _detail_context(request, actor, kind: str, obj, **extra) -> dict:
    definition = definition_for(actor.organisation)
    custom_defs = custom_field_defs(actor, kind, definition)
    types = _custom_types(custom_defs)
    rows = [
        _field_row(kind, obj, name, label, types, definition.field_choices(kind, name))
        for name, label in forms.field_labels(kind, custom_defs)
    ]
    history = stage_history(actor=actor, obj=obj) if kind == "opportunity" else None
    path = (
        pipeline_selectors.opportunity_stage_path(actor=actor, opportunity=obj)
        if kind == "opportunity"
        else None
    )
    return page_context(
        request,
        actor,
        kind=KINDS[kind],
        obj=obj,
        rows=rows,
        related=record_selectors.related_records(actor=actor, kind=kind, obj=obj),
        history=history,
        path=path,
        timeline=record_timeline(actor=actor, kind=kind, obj=obj),
        note_kinds=Note.Kind.choices,
        **{"note_body": "", "note_errors": [], "note_kind": "note", **extra},
    )


@member_page
def record_detail(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    """Every field (each editable in place), related records, notes and the timeline. Note
    bodies are text: autoescaped, never HTML."""
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id)
    remember_viewed(request, actor=actor, kind=kind, obj=obj)
    return render(request, "web/records/detail.html", _detail_context(request, actor, kind, obj))


@member_page
@require_POST
def note_add(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id)
    body = request.POST.get("body", "")
    note_kind = request.POST.get("kind", "note")

    def refused(error):
        errors = bind_problems(None, error)
        context = _detail_context(
            request, actor, kind, obj, note_body=body, note_errors=errors, note_kind=note_kind
        )
        return render(request, "web/records/detail.html", context, status=400)

    on_refusal(request, refused)
    note = record_services.note_create(
        actor=actor, body=body, kind=note_kind, target={NOTE_TARGET[kind]: obj.pk}
    )
    messages.success(request, f"{note.get_kind_display()} logged.")
    return redirect(f"{reverse('web:record-detail', args=[plural, obj.pk])}#notes")


# ---------------------------------------------------------------- inline editing


def _inline_input(actor, kind: str, obj, name: str, value: str | None = None) -> forms.Input:
    custom_defs = custom_field_defs(actor, kind)
    values = forms.stored_values(kind, obj, custom_defs)
    if value is not None:
        values[name] = value
    found = forms.record_inputs(actor, kind, custom_defs, values=values, only=[name])
    if not found:
        raise Http404("No such field.")
    return found[0]


def _field_context(request, actor, kind: str, obj, name: str, **extra) -> dict:
    field_input = extra.pop("field_input", None) or _inline_input(actor, kind, obj, name)
    return {
        "kind": KINDS[kind],
        "obj": obj,
        "row": _field_row(
            kind,
            obj,
            name,
            field_input.label,
            _custom_types(custom_field_defs(actor, kind)),
            definition_for(actor.organisation).field_choices(kind, name),
        ),
        "input": field_input,
        "general": [],
        **extra,
    }


@member_page
def field_show(request: HttpRequest, actor, plural: str, record_id: int, name: str) -> HttpResponse:
    """One field's value (what Cancel puts back)."""
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id)
    context = _field_context(request, actor, kind, obj, name)
    return render(request, "web/records/_field.html#display", context)


@member_page
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, actor, plural: str, record_id: int, name: str) -> HttpResponse:
    """One field edited in place: its input (GET), then the service's update with the version
    the input was shown with (POST). Problems stay in place with what was typed."""
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id)
    if request.method == "GET":
        context = _field_context(request, actor, kind, obj, name)
        return render(request, "web/records/_field.html#edit", context)
    value = request.POST.get(name, "")
    field_input = _inline_input(actor, kind, obj, name, value)
    data = forms.service_data(kind, {name: value})

    def refused(error):
        if isinstance(error, PreconditionFailed):
            current = _record_or_404(actor, kind, record_id)
            context = _field_context(
                request,
                actor,
                kind,
                current,
                name,
                field_input=_inline_input(actor, kind, current, name),
                general=[STALE_MESSAGE],
            )
            return _inline_error(request, context, 409, plural, current)
        general = bind_problems([field_input], error)
        context = _field_context(
            request, actor, kind, obj, name, field_input=field_input, general=general
        )
        return _inline_error(request, context, 400, plural, obj)

    on_refusal(request, refused)
    obj = _update(actor, kind, obj.pk, data, _posted_version(request))
    if not request.htmx:
        messages.success(request, f"{field_input.label} saved.")
        return redirect("web:record-detail", plural, obj.pk)
    obj = _record_or_404(actor, kind, obj.pk)  # related names (company, stage) as stored
    return render(
        request, "web/records/_field.html#display", _field_context(request, actor, kind, obj, name)
    )


def _inline_error(request, context: dict, status: int, plural: str, obj) -> HttpResponse:
    if request.htmx:
        return render(request, "web/records/_field.html#edit", context, status=status)
    # Without JavaScript the inline form was a plain post: say why on the edit page.
    for message in [*context["general"], *context["input"].errors]:
        messages.error(request, message)
    return redirect("web:record-edit", plural, obj.pk)


# ---------------------------------------------------------------- create and edit


def _stage_needs(request, actor, obj=None) -> list[dict]:
    """An opportunity form's stage requirements: for each stage it can choose, what entering
    it needs (the name rule, fields, checklist boxes to tick here), as a move would check it.
    The form shows the chosen stage's; records.js follows the choice."""
    ticked = set(request.POST.getlist("checks")) if request.method == "POST" else set()
    blocks = []
    for pipeline in pipeline_selectors.pipeline_list(actor=actor):
        for stage in pipeline.stages.all():
            staying = obj is not None and obj.stage_id == stage.pk
            requirements = (
                []
                if staying
                else pipeline_selectors.move_requirements(
                    actor=actor, opportunity=obj, pipeline_key=pipeline.key, stage_key=stage.key
                )
            )
            items = [
                {
                    "text": r.text,
                    "label": r.box,
                    "state": ("met" if r.met else "unmet") if obj is not None else "rule",
                    "box": r.field if r.kind == "checklist" and not r.met else "",
                    "checked": r.field in ticked,
                }
                for r in requirements
                if r.kind != "reason" or obj is not None  # a new opportunity opens: no reason
            ]
            value = f"{pipeline.key}{forms.STAGE_SEPARATOR}{stage.key}"
            blocks.append({"value": value, "name": stage.name, "items": items, "here": staying})
    return blocks


def _show_name_rule(actor, inputs, pipeline_key: str, name_input: str = "name") -> None:
    """The pipeline's name pattern beside the name input, where a name is typed, not first
    when a move is refused."""
    rule = pipeline_selectors.name_rule(actor=actor, pipeline_key=pipeline_key)
    for item in inputs:
        if rule is not None and item.name == name_input and not item.help:
            item.help = f"From {rule.stage} on: {rule.pattern.message}"


def _form_response(request, actor, kind: str, inputs, *, obj=None, general=(), status=200):
    kind_def = KINDS[kind]
    stage_needs = _stage_needs(request, actor, obj) if kind == "opportunity" else []
    chosen = next((i.value for i in inputs if i.name == "stage"), "")
    if kind == "opportunity":
        _show_name_rule(actor, inputs, chosen.partition(forms.STAGE_SEPARATOR)[0])
    return render(
        request,
        "web/records/form.html",
        page_context(
            request,
            actor,
            kind=kind_def,
            obj=obj,
            inputs=inputs,
            general=list(general),
            problem_count=len(general) + sum(len(i.errors) for i in inputs),
            stage_needs=stage_needs,
            chosen_stage=chosen,
        ),
        status=status,
    )


def _new_record_values(actor, kind: str) -> dict[str, str]:
    """A new record's form: the model's defaults (currency EUR…), owned by whoever creates it,
    an opportunity in the first stage of the first pipeline."""
    blank = KINDS[kind].model()
    values = {
        name: forms.as_text(getattr(blank, spec.attr)) for name, spec in KINDS[kind].fields.items()
    }
    values["owner_id"] = str(actor.user.pk)
    if kind == "opportunity":
        groups = forms.stage_groups(actor)
        values["stage"] = groups[0][1][0][0] if groups and groups[0][1] else ""
    return values


@member_page
@require_http_methods(["GET", "POST"])
def record_create(request: HttpRequest, actor, plural: str) -> HttpResponse:
    kind = kind_of(plural)
    custom_defs = custom_field_defs(actor, kind)
    if request.method == "GET":
        values = _new_record_values(actor, kind)
        return _form_response(
            request, actor, kind, forms.record_inputs(actor, kind, custom_defs, values=values)
        )
    values = forms.submitted_values(kind, request.POST, custom_defs)
    inputs = forms.record_inputs(actor, kind, custom_defs, values=values)

    def refused(error):
        general = bind_problems(inputs, error)
        return _form_response(request, actor, kind, inputs, general=general, status=400)

    on_refusal(request, refused)
    data = forms.service_data(kind, values)
    if kind == "opportunity":
        data["checks"] = request.POST.getlist("checks")
    obj = _create(actor, kind, data)
    messages.success(request, f"{KINDS[kind].key.capitalize()} “{obj.name}” created.")
    return redirect("web:record-detail", plural, obj.pk)


@member_page
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    """The whole record in one form. The form carries the version it was filled from: if the
    record changed since, nothing is written and the current values are shown, with what the
    user had typed beside each field that differs."""
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id)
    custom_defs = custom_field_defs(actor, kind)
    stored = forms.stored_values(kind, obj, custom_defs)
    if request.method == "GET":
        inputs = forms.record_inputs(actor, kind, custom_defs, values=stored)
        return _form_response(request, actor, kind, inputs, obj=obj)
    values = forms.submitted_values(kind, request.POST, custom_defs)
    data = forms.service_data(kind, values)
    if kind == "opportunity" and values.get("stage") == stored.get("stage"):
        # Unchanged stage: no move, so no gate is evaluated for staying where it is.
        data.pop("pipeline", None)
        data.pop("stage", None)
    elif kind == "opportunity":
        data["checks"] = request.POST.getlist("checks")
    inputs = forms.record_inputs(actor, kind, custom_defs, values=values)

    def refused(error):
        if not isinstance(error, PreconditionFailed):
            general = bind_problems(inputs, error)
            return _form_response(
                request, actor, kind, inputs, obj=obj, general=general, status=400
            )
        current = _record_or_404(actor, kind, record_id)
        now = forms.stored_values(kind, current, custom_defs)
        current_inputs = forms.record_inputs(actor, kind, custom_defs, values=now)
        for field_input in current_inputs:
            typed = values.get(field_input.name)
            if typed is not None and typed != now.get(field_input.name):
                field_input.help = f"You had entered: {typed or '(empty)'}"
        return _form_response(
            request, actor, kind, current_inputs, obj=current, general=[STALE_MESSAGE], status=409
        )

    on_refusal(request, refused)
    obj = _update(actor, kind, obj.pk, data, _posted_version(request))
    messages.success(request, f"{KINDS[kind].key.capitalize()} “{obj.name}” saved.")
    return redirect("web:record-detail", plural, obj.pk)


@member_page
@require_GET
def pick(request: HttpRequest, actor, plural: str) -> JsonResponse:
    """What a company or person combobox offers for the text typed: `q` (empty: the first by
    name), `company` narrowing people to that company's. JSON, built into options by
    combobox.js with textContent, so a name is never markup."""
    kind = kind_of(plural)
    if kind not in ("company", "person", "opportunity", "lead"):
        raise Http404("Nothing to pick there.")
    q = request.GET.get("q", "").replace("\x00", "").strip()
    company = request.GET.get("company", "").strip()
    if company and not company.isdecimal():
        return JsonResponse({"detail": "company must be the id of a company."}, status=400)
    return JsonResponse({"items": forms.picker_matches(actor, kind, q, company)})


# ---------------------------------------------------------------- delete and restore


@member_page
@require_http_methods(["GET", "POST"])
def record_delete(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    """A confirmation page, then a soft delete that can be undone for 30 days."""
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id)
    if request.method == "GET":
        return render(
            request,
            "web/records/delete.html",
            page_context(request, actor, kind=KINDS[kind], obj=obj, deleted=False),
        )
    record_services.record_delete(actor=actor, kind=kind, record_id=obj.pk)
    return redirect("web:record-deleted", plural, obj.pk)


@member_page
def record_deleted(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    """A deleted record: what it was, and the Restore button."""
    kind = kind_of(plural)
    obj = _record_or_404(actor, kind, record_id, deleted=True)
    return render(
        request,
        "web/records/delete.html",
        page_context(request, actor, kind=KINDS[kind], obj=obj, deleted=True),
    )


@member_page
@require_POST
def record_restore(request: HttpRequest, actor, plural: str, record_id: int) -> HttpResponse:
    kind = kind_of(plural)
    deleted = _record_or_404(actor, kind, record_id, deleted=True)

    def refused(error):
        messages.error(request, str(error))
        return redirect("web:record-deleted", plural, record_id)

    on_refusal(request, refused)
    obj = record_services.record_restore(actor=actor, kind=kind, record_id=deleted.pk)
    messages.success(request, f"“{obj.name}” restored.")
    return redirect("web:record-detail", plural, obj.pk)


# ---------------------------------------------------------------- lead conversion

PERSON_FROM_LEAD = ("name", "email", "phone", "business_unit", "linkedin")
COMPANY_FROM_LEAD = ("name", "business_unit", "email_domain")
OPPORTUNITY_ASKED = ("name", "value", "expected_close_date")
SET_BY_CONVERSION = {"company_id", "primary_contact_id", "owner_id"}


def _conversion_inputs(
    actor, lead, matches, pipeline_key: str, post=None
) -> dict[str, list[forms.Input]]:
    """The inputs of a new person, company and opportunity: what the lead gives, plus whatever
    the organisation's minimum fields ask for, prefilled as the service would fill them."""
    proposed = f"{matches.company.name if matches.company else lead.company_name} - {lead.name}"
    rule = pipeline_selectors.name_rule(actor=actor, pipeline_key=pipeline_key)
    if rule is not None and not rule.allows(proposed):
        # A name the organisation's own rule would refuse is no proposal: the rule is shown
        # beside the empty input instead, for the user to name the deal as it wants.
        proposed = ""
    prefilled = {
        "person": forms_values(conversion.lead_person_data(lead)),
        "company": forms_values(conversion.lead_company_data(lead)),
        "opportunity": {"name": proposed},
    }
    asked = {
        "person": PERSON_FROM_LEAD,
        "company": COMPANY_FROM_LEAD,
        "opportunity": OPPORTUNITY_ASKED,
    }
    out = {}
    for kind in ("person", "company", "opportunity"):
        custom_defs = custom_field_defs(actor, kind)
        # Minimum fields name custom fields by their key; their inputs are "cf_<key>".
        minimum = {
            name if name in KINDS[kind].fields else forms.CUSTOM_PREFIX + name
            for name in forms.minimum_fields(actor, kind)
        }
        wanted = (set(asked[kind]) | minimum) - SET_BY_CONVERSION
        values = prefilled[kind]
        if post is not None:
            values = forms.submitted_values(kind, post, custom_defs, prefix=f"{kind}-")
        out[kind] = forms.record_inputs(
            actor, kind, custom_defs, values=values, prefix=f"{kind}-", only=wanted
        )
    _show_name_rule(actor, out["opportunity"], pipeline_key, "opportunity-name")
    return out


def _convert_input(problem) -> str:
    """A pipeline problem belongs beside the conversion's own pipeline input."""
    return "pipeline" if problem.loc[:1] == ("pipeline",) else forms.input_name_of(problem)


def forms_values(data: dict) -> dict[str, str]:
    return {name: forms.as_text(value) for name, value in data.items()}


def _pipeline_input(request, actor) -> forms.Input:
    pipelines = list(pipeline_selectors.pipeline_list(actor=actor))
    return forms.Input(
        name="pipeline",
        label="Pipeline",
        widget="select",
        value=request.POST.get("pipeline", "") or (pipelines[0].key if pipelines else ""),
        options=[(p.key, p.name) for p in pipelines],
    )


def _conversion_pickers(actor, matches, post) -> dict[str, forms.Input]:
    """The pickers of "Link to another company/person": the person among the chosen company's
    people, else the matched company's."""
    company = matches.company
    return {
        "company": forms.picker_input(
            actor, "company", name="company_id", label="Company", value=post.get("company_id", "")
        ),
        "person": forms.picker_input(
            actor,
            "person",
            name="person_id",
            label="Person",
            value=post.get("person_id", ""),
            narrow="company_id",
            company=(str(company.pk), company.name) if company else ("", ""),
        ),
    }


def _convert_page(
    request,
    actor,
    lead,
    matches,
    inputs,
    pipeline_input=None,
    *,
    pickers=None,
    general=(),
    status=200,
):
    chosen = request.POST if request.method == "POST" else {}
    pickers = pickers or _conversion_pickers(actor, matches, chosen)
    return render(
        request,
        "web/records/convert.html",
        page_context(
            request,
            actor,
            kind=KINDS["lead"],
            obj=lead,
            matches=matches,
            inputs=inputs,
            pipeline_input=pipeline_input or _pipeline_input(request, actor),
            pickers=pickers,
            person_choice=chosen.get("person_choice", "link" if matches.person else "new"),
            company_choice=chosen.get("company_choice", "link" if matches.company else "new"),
            create_opportunity=chosen.get("create_opportunity") == "on",
            general=list(general),
        ),
        status=status,
    )


@member_page
@require_http_methods(["GET", "POST"])
def lead_convert(request: HttpRequest, actor, record_id: int) -> HttpResponse:
    """The matches a conversion would link to, shown before anything is written; then the
    conversion service, with the user's choice to link each match or create a new record."""
    lead = _record_or_404(actor, "lead", record_id)
    matches = conversion.find_matches(actor=actor, lead=lead)
    pipeline_input = _pipeline_input(request, actor)
    if request.method == "GET":
        inputs = _conversion_inputs(actor, lead, matches, pipeline_input.value)
        return _convert_page(request, actor, lead, matches, inputs, pipeline_input)
    inputs = _conversion_inputs(actor, lead, matches, pipeline_input.value, post=request.POST)
    sent = {
        kind: forms.service_data(
            kind,
            forms.submitted_values(kind, request.POST, custom_field_defs(actor, kind), f"{kind}-"),
        )
        for kind in inputs
    }
    wants_opportunity = request.POST.get("create_opportunity") == "on"
    pickers = _conversion_pickers(actor, matches, request.POST)
    # "other": link the record chosen in the picker (an empty one is refused, by name).
    picked = {
        kind: request.POST.get(f"{kind}_id", "")
        if request.POST.get(f"{kind}_choice") == "other"
        else None
        for kind in ("company", "person")
    }

    def refused(error):
        general, status = [str(error)], error.status  # already converted (409)
        if isinstance(error, ValidationFailed):
            everything = [*inputs["person"], *inputs["company"], *inputs["opportunity"]]
            everything += [pickers["company"], pickers["person"], pipeline_input]
            general = bind_problems(everything, error, field_of=_convert_input)
            status = 400
        return _convert_page(
            request,
            actor,
            lead,
            matches,
            inputs,
            pipeline_input,
            pickers=pickers,
            general=general,
            status=status,
        )

    on_refusal(request, refused)
    lead = conversion.lead_convert(
        actor=actor,
        lead_id=lead.pk,
        person=sent["person"],
        company=sent["company"],
        pipeline=(request.POST.get("pipeline") or None) if wants_opportunity else None,
        opportunity=sent["opportunity"] if wants_opportunity else None,
        link_person=request.POST.get("person_choice") != "new",
        link_company=request.POST.get("company_choice") != "new",
        person_id=picked["person"],
        company_id=picked["company"],
    )
    what = f"person “{lead.converted_person.name}” at “{lead.converted_company.name}”"
    if lead.converted_opportunity_id:
        messages.success(request, f"Lead converted: {what}, with a new opportunity.")
        return redirect("web:record-detail", "opportunities", lead.converted_opportunity_id)
    messages.success(request, f"Lead converted: {what}.")
    return redirect("web:record-detail", "people", lead.converted_person_id)


urlpatterns = [
    path("records/<str:plural>/new/", record_create, name="record-create"),
    path("records/<str:plural>/<int:record_id>/", record_detail, name="record-detail"),
    path("records/<str:plural>/<int:record_id>/edit/", record_edit, name="record-edit"),
    path("records/<str:plural>/<int:record_id>/notes/", note_add, name="note-add"),
    path("records/<str:plural>/<int:record_id>/fields/<str:name>/", field_show, name="field-show"),
    path(
        "records/<str:plural>/<int:record_id>/fields/<str:name>/edit/",
        field_edit,
        name="field-edit",
    ),
    path("records/<str:plural>/<int:record_id>/delete/", record_delete, name="record-delete"),
    path("records/<str:plural>/<int:record_id>/deleted/", record_deleted, name="record-deleted"),
    path("records/<str:plural>/<int:record_id>/restore/", record_restore, name="record-restore"),
    path("records/leads/<int:record_id>/convert/", lead_convert, name="lead-convert"),
    path("pick/<str:plural>/", pick, name="pick"),
]
