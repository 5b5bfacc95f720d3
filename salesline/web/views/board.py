"""The pipeline board (kanban): a column per stage, cards moved by drag and drop or a menu.

Columns show the count and value of every matching opportunity (one grouped query) but only
the first cards, with "Show more" fetching the next ones: a board of ten thousand
opportunities costs the same to draw as one of a hundred. Moves go through
`opportunity_move`, the API's service; a refused move answers with a panel listing every unmet
criterion, with inputs for the missing fields and boxes for the checklist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from salesline.accounts.selectors import member_list
from salesline.analytics.quality import unmet_texts
from salesline.core.cursors import decode_cursor, encode_cursor
from salesline.core.errors import Problem, ValidationFailed
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline import services as pipeline_services
from salesline.pipeline.definition import pipeline_of
from salesline.pipeline.gates import Requirement
from salesline.pipeline.models import Stage
from salesline.pipeline.selectors import BoardFilters, CardCursor
from salesline.process.selectors import definition_for
from salesline.records import selectors as record_selectors
from salesline.records.campaign_selectors import campaign_choices
from salesline.records.fields import KINDS
from salesline.records.filters import parse_list_query
from salesline.records.services import custom_field_defs

from .. import forms
from ..errors import on_refusal
from ..formatting import money
from ..forms import choice_options
from .common import member_page, page_context

CARDS_PER_PAGE = 20
OPPORTUNITY = KINDS["opportunity"]
OPPORTUNITY_FIELDS = OPPORTUNITY.fields
PAGE = "web/board/page.html"
# Input types per field type; reference, choice, longtext and boolean get their own widgets.
INPUT_TYPES = {"decimal": "number", "number": "number", "date": "date", "text": "text"}


# ------------------------------------------------------------------ filters and cursors


class BadInput(ValueError):
    """A query parameter the board cannot read; args: {parameter: message}."""


# The board's filters are list filters of opportunities under shorter names; the list parser
# reads them, the board only names the problems in its own words.
BOARD_FILTERS = {
    "owner": ("owner_id", "Owner must be a member of this organisation."),
    "close_from": ("expected_close_date__gte", "Close from must be a date (YYYY-MM-DD)."),
    "close_to": ("expected_close_date__lte", "Close to must be a date (YYYY-MM-DD)."),
}


def _filters(actor, params: Mapping[str, str]) -> BoardFilters:
    """The board's filters from the query string; every unreadable one is named at once."""
    sent = {name: params.get(name, "").strip() for name in BOARD_FILTERS}
    mine = sent["owner"] == "me"
    if mine:
        sent["owner"] = str(actor.user.pk)
    elif sent["owner"] and not sent["owner"].isdecimal():
        sent["owner"] = "not-a-member"  # "null" (no owner) is a list filter, not the board's
    as_list = {BOARD_FILTERS[name][0]: raw for name, raw in sent.items() if raw}
    problems: dict[str, str] = {}
    try:
        lookups = parse_list_query(OPPORTUNITY, as_list, lambda: []).lookups
    except ValidationFailed as error:
        refused = {problem.loc[-1] for problem in error.problems}
        problems = {n: m for n, (list_name, m) in BOARD_FILTERS.items() if list_name in refused}
        readable = {name: raw for name, raw in as_list.items() if name not in refused}
        lookups = parse_list_query(OPPORTUNITY, readable, lambda: []).lookups
    owner_id = lookups.get("owner_id")
    members = {m.user_id for m in member_list(actor=actor)} if owner_id and not mine else ()
    if owner_id is not None and not mine and owner_id not in members:
        problems["owner"] = BOARD_FILTERS["owner"][1]
    low = lookups.get("expected_close_date__gte")
    high = lookups.get("expected_close_date__lte")
    if low and high and low > high:
        problems["close_to"] = "Close to must not be before Close from."
    if problems:
        raise BadInput({name: problems[name] for name in BOARD_FILTERS if name in problems})
    return BoardFilters(owner_id=owner_id, close_from=low, close_to=high)


def _filter_query(params: Mapping[str, str]) -> str:
    """The filters as a query string, for "Show more" and moves (totals follow the filters)."""
    kept = {k: params[k] for k in BOARD_FILTERS if params.get(k, "").strip()}
    return urlencode(kept)


def _move_query(params: Mapping[str, str]) -> str:
    """A move page's query string: the board's filters, and whether to go back to the
    opportunity's page (where its Move buttons are) rather than to the board."""
    query = _filter_query(params)
    if params.get("back") == "record":
        query = f"{query}&back=record" if query else "back=record"
    return query


def _encode_cursor(cursor: CardCursor | None) -> str:
    # The column is in the URL, so the position needs no ordering key.
    return "" if cursor is None else encode_cursor(cursor.value, cursor.id)


def _decode_cursor(text: str, stage: Stage) -> CardCursor:
    """An open column's cursor holds a date (or nothing, among undated cards), a closed
    column's the time of closing."""
    try:
        raw_value, pk = decode_cursor(text)
        if stage.kind == Stage.Kind.OPEN:
            value = dt.date.fromisoformat(raw_value) if raw_value else None
        else:
            value = dt.datetime.fromisoformat(raw_value)
            if value.tzinfo is None:
                raise ValueError
        return CardCursor(value, pk)
    except ValueError:
        raise BadInput({"after": "'after' is not a position in this column."}) from None


# ------------------------------------------------------------------ columns and cards


def _card(row: dict[str, Any], stage_id: int, today: dt.date, is_open: bool) -> dict[str, Any]:
    close = row["expected_close_date"]
    return {
        "id": row["id"],
        "name": row["name"],
        "stage_id": stage_id,
        "value": money(row["value"], row["currency"]),
        "close": close,
        "late": bool(is_open and close and close < today),
        "undated": is_open and close is None,
        # People by name, as everywhere; the e-mail only for someone without one.
        "owner": row["owner__full_name"] or row["owner__email"] or "",
        "company": row["company__name"] or "",
        # The quality rating (analytics), absent until the worker has rated the opportunity.
        "quality": row.get("quality_rating__score"),
        "quality_band": row.get("quality_rating__band") or "",
        # What to do to raise it, read with the card (the record page lists them as links).
        "quality_unmet": unmet_texts(row.get("quality_rating__reasons") or ()),
    }


def _total(stage: Stage, total) -> dict[str, Any]:
    return {
        "stage_id": stage.pk,
        "count": total.count,
        "values": [money(amount, currency) for currency, amount in total.values],
    }


def _columns(actor, pipeline, filters: BoardFilters, query: str) -> list[dict[str, Any]]:
    totals = pipeline_selectors.board_totals(actor=actor, pipeline=pipeline, filters=filters)
    today = timezone.localdate()
    columns = []
    for stage in pipeline.stages.all():
        rows, cursor = pipeline_selectors.board_cards(
            actor=actor, stage=stage, filters=filters, limit=CARDS_PER_PAGE
        )
        is_open = stage.kind == Stage.Kind.OPEN
        columns.append(
            {
                "stage": stage,
                "total": _total(stage, totals[stage.pk]),
                "cards": [_card(row, stage.pk, today, is_open) for row in rows],
                "more": _more_url(pipeline.pk, stage.pk, cursor, query),
            }
        )
    return columns


def _more_url(pipeline_id: int, stage_id: int, cursor: CardCursor | None, query: str) -> str:
    if cursor is None:
        return ""
    url = reverse("web:board-more", args=[pipeline_id, stage_id])
    return f"{url}?{urlencode({'after': _encode_cursor(cursor)})}{'&' + query if query else ''}"


def _pipeline_or_404(actor, pipeline_id: int):
    return pipeline_selectors.pipeline_get_for(actor=actor, pipeline_id=pipeline_id)


# ------------------------------------------------------------------ pages


@require_GET
@member_page
def board(request: HttpRequest, actor) -> HttpResponse:
    """The first pipeline's board (the one most organisations have)."""
    first = pipeline_selectors.pipeline_list(actor=actor).first()
    if first is None:
        return render(request, PAGE, page_context(request, actor, pipeline=None))
    return _board(request, actor, first)


@require_GET
@member_page
def board_page(request: HttpRequest, actor, pipeline_id: int) -> HttpResponse:
    return _board(request, actor, _pipeline_or_404(actor, pipeline_id))


def _board(request: HttpRequest, actor, pipeline) -> HttpResponse:
    params = request.GET
    problems: dict[str, str] = {}
    try:
        filters = _filters(actor, params)
    except BadInput as exc:
        # The board still shows, unfiltered, with the reason next to the filter.
        problems, filters = exc.args[0], BoardFilters()
    query = "" if problems else _filter_query(params)
    context = page_context(
        request,
        actor,
        pipeline=pipeline,
        pipelines=list(pipeline_selectors.pipeline_list(actor=actor)),
        columns=_columns(actor, pipeline, filters, query),
        members=member_list(actor=actor),
        owner=params.get("owner", ""),
        close_from=params.get("close_from", ""),
        close_to=params.get("close_to", ""),
        filtered=bool(query),
        problems=problems,
        query=query,
    )
    return render(request, PAGE, context, status=400 if problems else 200)


@require_GET
@member_page
def board_more(request: HttpRequest, actor, pipeline_id: int, stage_id: int) -> HttpResponse:
    """The next cards of one column, and the button for the ones after them."""
    pipeline = _pipeline_or_404(actor, pipeline_id)
    stage = next((s for s in pipeline.stages.all() if s.pk == stage_id), None)
    if stage is None:
        raise Http404("No such stage.")
    try:
        filters = _filters(actor, request.GET)
        after = _decode_cursor(request.GET.get("after", ""), stage)
    except BadInput as exc:
        return HttpResponse(" ".join(exc.args[0].values()), status=400, content_type="text/plain")
    rows, cursor = pipeline_selectors.board_cards(
        actor=actor, stage=stage, filters=filters, after=after, limit=CARDS_PER_PAGE
    )
    today, is_open = timezone.localdate(), stage.kind == Stage.Kind.OPEN
    column = {
        "stage": stage,
        "cards": [_card(row, stage.pk, today, is_open) for row in rows],
        "more": _more_url(pipeline.pk, stage.pk, cursor, _filter_query(request.GET)),
    }
    return render(request, f"{PAGE}#more_cards", {"column": column})


# ------------------------------------------------------------------ moves


@dataclass
class PanelInput:
    """One thing to fix in the gate panel: a field to fill, a box to tick, or a reason."""

    name: str  # the form field's name
    label: str
    widget: str  # text | number | date | textarea | select | reference | checkbox
    value: Any = ""
    messages: list[str] = field(default_factory=list)
    options: list[tuple[str, str]] = field(default_factory=list)
    step: str = ""
    reference: str = ""  # company | person, for the picker's search
    id: str = ""  # the input's HTML id, unique on the board
    checked: bool = False  # a checklist box ticked in the refused attempt


def _is_script(request: HttpRequest) -> bool:
    """board.js asks with fetch and wants fragments; a plain form post wants pages."""
    return request.headers.get("X-Requested-With") == "fetch"


def _submitted_fields(actor, post: QueryDict) -> dict[str, Any]:
    """The values typed into a gate panel, in the API's shape (`fields` of a move)."""
    fields: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name in post:
        if name in OPPORTUNITY_FIELDS:
            fields[name] = post.get(name, "")
        elif name.startswith("cf."):
            custom[name[3:]] = post.get(name, "")
    if custom:
        fields["custom_fields"] = custom
    return fields


def _reference_options(actor, reference: str, opportunity) -> list[tuple[str, str]]:
    """The picker's first choices: members for an owner, else the first records by name (for a
    contact, the opportunity's company's people: nearly always the one; the picker can look
    at everyone)."""
    if reference == "user":
        return [(str(m.user_id), m.label) for m in member_list(actor=actor)]
    if reference == "campaign":
        return campaign_choices(actor=actor)
    company = str(opportunity.company_id or "") if reference == "person" else ""
    matches = forms.picker_matches(actor, reference, company=company)
    return [(match["id"], match["name"]) for match in matches]


def _field_input(actor, name: str, opportunity) -> PanelInput:
    field_def = OPPORTUNITY_FIELDS[name]
    value = getattr(opportunity, field_def.attr)
    shown = "" if value is None else str(value)
    if field_def.type == "reference":
        options = _reference_options(actor, field_def.reference, opportunity)
        if value is not None and shown not in {pk for pk, _ in options}:
            related = getattr(opportunity, name.removesuffix("_id"), None)
            options.insert(0, (shown, str(related)))
        widget = "select" if field_def.reference in ("user", "campaign") else "reference"
        return PanelInput(
            name, field_def.label, widget, shown, options=options, reference=field_def.reference
        )
    choices = definition_for(actor.organisation).field_choices("opportunity", name)
    if choices:
        options = choice_options(choices, shown)
        return PanelInput(name, field_def.label, "select", shown, options=options)
    if field_def.type == "choice":
        return PanelInput(
            name, field_def.label, "select", shown, options=[(c, c) for c in field_def.choices]
        )
    if field_def.type == "longtext":
        return PanelInput(name, field_def.label, "textarea", shown)
    if field_def.type == "date" and value is not None:
        shown = value.isoformat()
    step = "0.01" if field_def.type == "decimal" else "1" if field_def.type == "number" else ""
    return PanelInput(name, field_def.label, INPUT_TYPES[field_def.type], shown, step=step)


def _custom_input(definition, value: Any) -> PanelInput:
    name = f"cf.{definition.key}"
    shown = "" if value is None else str(value)
    if definition.type == "boolean":
        shown = "" if value is None else "yes" if value else "no"
        return PanelInput(
            name, definition.label, "select", shown, [], [("yes", "Yes"), ("no", "No")]
        )
    if definition.type == "choice":
        options = [(c, c) for c in definition.choices]
        return PanelInput(name, definition.label, "select", shown, [], options)
    widget = {"number": "number", "date": "date"}.get(definition.type, "text")
    return PanelInput(
        name, definition.label, widget, shown, step="any" if widget == "number" else ""
    )


def _panel(actor, opportunity, stage: Stage, problems: list[Problem], post: QueryDict) -> dict:
    """Every problem of a refused move, each beside the input that fixes it (in the order the
    service reported them), then every other input the refused attempt sent, with what was
    typed and ticked: a move refused for one mistake is completed by fixing that mistake alone.
    What cannot be fixed here (a stage-wide rule) is listed above."""
    spec = definition_for(actor.organisation)
    try:
        stage_specs = pipeline_of(spec, opportunity.pipeline.key).stages
    except KeyError:  # a definition loaded since without this pipeline: messages only
        stage_specs = ()
    checklist = {item.key: item.label for s in stage_specs for item in s.gate.checklist}
    custom = {d.key: d for d in custom_field_defs(actor, "opportunity")}
    ticked = post.getlist("checks")

    def checkbox(key: str) -> PanelInput:
        return PanelInput("checks", checklist[key], "checkbox", key, checked=key in ticked)

    inputs: dict[str, PanelInput] = {}
    general: list[str] = []
    for problem in problems:
        loc = problem.loc
        key = str(loc[-1]) if loc else ""
        if len(loc) == 2 and loc[0] == "checks" and key in checklist:
            box = inputs.setdefault(f"check:{key}", checkbox(key))
        elif loc == ("reason",):
            box = inputs.setdefault("reason", PanelInput("reason", "Reason", "textarea"))
        elif len(loc) == 1 and key in OPPORTUNITY_FIELDS:
            box = inputs.get(key) or inputs.setdefault(key, _field_input(actor, key, opportunity))
        elif key in custom and (len(loc) == 1 or loc[0] == "custom_fields"):
            current = (opportunity.custom_fields or {}).get(key)
            box = inputs.setdefault(f"cf.{key}", _custom_input(custom[key], current))
        else:
            general.append(problem.msg)
            continue
        box.messages.append(problem.msg)
    # Everything the attempt sent: the inputs of problems solved by what was typed stay, filled
    # in, so that the next attempt sends them again.
    sent: dict[str, PanelInput] = {}
    for name in post:
        if name == "checks":
            for key in ticked:
                if key in checklist:
                    sent.setdefault(f"check:{key}", inputs.get(f"check:{key}") or checkbox(key))
        elif name == "reason":
            sent[name] = inputs.get(name) or PanelInput("reason", "Reason", "textarea")
        elif name in OPPORTUNITY_FIELDS and name not in ("stage", "version"):
            sent[name] = inputs.get(name) or _field_input(actor, name, opportunity)
        elif name.startswith("cf.") and name[3:] in custom:
            sent[name] = inputs.get(name) or _custom_input(custom[name[3:]], None)
    # What is still to do first, then what the attempt got right, in its form's order.
    ordered = {**inputs, **{key: box for key, box in sent.items() if key not in inputs}}
    # What was typed and refused is shown again, not the stored value.
    for number, box in enumerate(ordered.values(), start=1):
        box.id = f"g{opportunity.pk}-{number}"
        if box.widget != "checkbox" and box.name in post:
            box.value = post.get(box.name, "")
            _keep_chosen(actor, box)
    return {
        "opportunity": opportunity,
        "stage": stage,
        "general": general,
        "inputs": list(ordered.values()),
        "kept_from": next((n for n, box in enumerate(ordered.values()) if not box.messages), None),
        "count": sum(len(box.messages) for box in inputs.values()) + len(general),
    }


def _keep_chosen(actor, box: PanelInput) -> None:
    """A company or person chosen in the refused attempt stays chosen, even one beyond the
    picker's first names."""
    if box.widget == "reference" and box.value and box.value not in dict(box.options):
        name = record_selectors.reference_name(actor=actor, kind=box.reference, record_id=box.value)
        if name is not None:
            box.options.insert(0, (box.value, name))


def _message_panel(request, opportunity_id: int, stage: Stage | None, message: str, status: int):
    context = {"opportunity": {"pk": opportunity_id}, "stage": stage, "general": [message]}
    context["count"], context["inputs"], context["final"] = 1, [], True
    return render(request, f"{PAGE}#gate_panel", context, status=status)


def _requirement_problem(requirement: Requirement) -> Problem:
    """An unmet requirement as the refusal of a move would report it, for the same panel."""
    loc: tuple[str, ...] = (requirement.field,) if requirement.field else ("stage",)
    if requirement.kind == "checklist":
        loc = ("checks", requirement.field or "")
    return Problem(loc, requirement.message, type=f"gate.{requirement.kind}")


def _move_page(request, actor, opportunity, pipeline, stages: dict[str, Stage]) -> HttpResponse:
    """Before a move: with `?stage=`, what that stage needs (board.js's Move dialog asks for the
    list; a page gets the gate panel with an input for each thing still to do); without, the
    stages to choose from, each with what it needs."""
    target = stages.get(request.GET.get("stage", ""))
    query = _move_query(request.GET)

    def needs(stage: Stage) -> list[Requirement]:
        return pipeline_selectors.move_requirements(
            actor=actor, opportunity=opportunity, pipeline_key=pipeline.key, stage_key=stage.key
        )

    names = {stage.key: stage.name for stage in stages.values()}

    def grouped(requirements: list[Requirement]) -> list[dict]:
        # A move past several stages meets each one's gate: say which stage asks for what.
        groups: dict[str, list[Requirement]] = {}
        for requirement in requirements:
            groups.setdefault(requirement.stage, []).append(requirement)
        return [{"name": names.get(key, key), "items": items} for key, items in groups.items()]

    if target is not None and target.pk != opportunity.stage_id:
        requirements = needs(target)
        if _is_script(request):
            context = {"stage": target, "groups": grouped(requirements)}
            return render(request, f"{PAGE}#needs", context)
        problems = [_requirement_problem(r) for r in requirements if not r.met]
        context = _panel(actor, opportunity, target, problems, QueryDict())
        done = [r for r in requirements if r.met]
        context.update(preview=True, done=grouped(done), query=query)
        return render(request, "web/board/move.html", page_context(request, actor, **context))
    ordered = list(stages.values())
    current = next(i for i, stage in enumerate(ordered) if stage.pk == opportunity.stage_id)
    following = ordered[current + 1] if current + 1 < len(ordered) else None
    choices = [
        {"stage": stage, "groups": grouped(needs(stage)), "default": stage == following}
        for stage in ordered
        if stage.pk != opportunity.stage_id
    ]
    if following is None and choices:
        choices[0]["default"] = True
    context = page_context(request, actor, opportunity=opportunity, choices=choices, query=query)
    return render(request, "web/board/move.html", context)


@require_http_methods(["GET", "POST"])
@member_page
def board_move(request: HttpRequest, actor, opportunity_id: int) -> HttpResponse:
    """Move a card through `opportunity_move`, with any fields, ticks and reason the gate panel
    sent. Scripts get the card and the new totals, or the panel; forms get pages. GET is the
    page a card's Move link opens without JavaScript: the stages to choose from."""
    opportunity = record_selectors.record_get_for(
        actor=actor, kind="opportunity", record_id=opportunity_id
    )
    pipeline = _pipeline_or_404(actor, opportunity.pipeline_id)
    stages = {stage.key: stage for stage in pipeline.stages.all()}
    if request.method == "GET":
        return _move_page(request, actor, opportunity, pipeline, stages)
    stage = stages.get(request.POST.get("stage", ""))
    if stage is None:
        known = ", ".join(stages)
        message = f"Choose a stage of {pipeline.name} to move to (one of: {known})."
        return _message_panel(request, opportunity.pk, None, message, 400)
    version_text = request.POST.get("version", "").strip()
    if version_text and not version_text.isdecimal():
        return _message_panel(request, opportunity.pk, stage, "The version must be a number.", 400)

    def refused(error) -> HttpResponse:
        if not isinstance(error, ValidationFailed):  # a stale version (412)
            return _message_panel(request, opportunity.pk, stage, str(error), error.status)
        context = _panel(actor, opportunity, stage, error.problems, request.POST)
        template = f"{PAGE}#gate_panel" if _is_script(request) else "web/board/move.html"
        if not _is_script(request):
            context = page_context(request, actor, **context, query=_move_query(request.GET))
        return render(request, template, context, status=422)

    on_refusal(request, refused)
    pipeline_services.opportunity_move(
        actor=actor,
        opportunity_id=opportunity.pk,
        stage=stage.key,
        checks=request.POST.getlist("checks"),
        reason=request.POST.get("reason", ""),
        fields=_submitted_fields(actor, request.POST),
        expected_version=int(version_text) if version_text else None,
    )
    try:
        filters = _filters(actor, request.GET)
    except BadInput:
        filters = BoardFilters()
    if not _is_script(request):
        opportunity.refresh_from_db(fields=["name"])  # the move may have corrected it
        messages.success(request, f"“{opportunity.name}” moved to {stage.name}.")
        if request.GET.get("back") == "record":
            return redirect("web:record-detail", "opportunities", opportunity.pk)
        query = _filter_query(request.GET)
        url = reverse("web:board-pipeline", args=[pipeline.pk])
        return redirect(f"{url}?{query}" if query else url)
    row = pipeline_selectors.board_card(actor=actor, opportunity_id=opportunity.pk)
    totals = pipeline_selectors.board_totals(actor=actor, pipeline=pipeline, filters=filters)
    context = {
        "card": _card(row, stage.pk, timezone.localdate(), stage.kind == Stage.Kind.OPEN),
        "totals": [_total(s, totals[s.pk]) for s in pipeline.stages.all()],
    }
    return render(request, f"{PAGE}#moved", context)


urlpatterns = [
    path("board/", board, name="board"),
    path("board/<int:pipeline_id>/", board_page, name="board-pipeline"),
    path("board/<int:pipeline_id>/stages/<int:stage_id>/more/", board_more, name="board-more"),
    path("board/move/<int:opportunity_id>/", board_move, name="board-move"),
]
