"""Record lists: the API's parser and selector behind search, filters, sortable columns and
keyset pages; bulk assign, delete (confirmed, undoable) and export of the current filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from salesline.accounts.selectors import member_list
from salesline.analytics.quality import unmet_texts
from salesline.core.errors import NotFound, ValidationFailed
from salesline.pipeline import selectors as pipeline_selectors
from salesline.pipeline.models import Opportunity
from salesline.process.definition import ProcessDefinitionSpec
from salesline.process.kinds import list_columns
from salesline.process.selectors import definition_for
from salesline.records import export
from salesline.records import selectors as record_selectors
from salesline.records import services as record_services
from salesline.records.campaign_selectors import campaign_choices
from salesline.records.fields import KINDS, KindDef
from salesline.records.filters import RESERVED, parse_list_query, ranked
from salesline.records.importing.services import IMPORT_KINDS
from salesline.records.matching import query_words
from salesline.records.services import custom_field_defs

from ..errors import bind_problems, on_refusal
from ..formatting import day, money, shown
from .common import kind_of, member_page, page_context

# The columns a list page shows per kind (API field names); the record page shows them all.
LIST_COLUMNS = {
    "company": ("name", "market", "sector", "segment", "email_domain", "created_at"),
    "person": ("name", "email", "phone", "title", "company__name", "created_at"),
    "lead": ("name", "company_name", "email", "source", "business_unit", "created_at"),
    "opportunity": (
        "name",
        "company__name",
        "stage__name",
        "value",
        "expected_close_date",
        "owner",
        "quality",
    ),
}
COLUMN_LABELS = {
    "company__name": "Company",
    "stage__name": "Stage",
    "created_at": "Created",
    "owner": "Owner",
    "quality": "Quality",
}


@dataclass(frozen=True)
class DescribedCell:
    """A cell's text with a longer description: a tooltip, and text for screen readers."""

    text: str
    description: str

    def __str__(self) -> str:
        return self.text


def _quality_cell(score: int, band: str, reasons: list[dict[str, Any]]) -> DescribedCell:
    unmet = unmet_texts(reasons)
    to_raise = "To raise it: " + " ".join(unmet) if unmet else "Every quality spec is met."
    return DescribedCell(f"{score} ({band})", to_raise)


# Columns shown from others: a person by name, or by e-mail when the name is blank; an amount
# with its currency.
COMPOSED_COLUMNS: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = {
    "owner": (("owner__full_name", "owner__email"), lambda name, email: name or email or ""),
    "value": (("value", "currency"), money),
    # The quality rating (analytics), empty until the worker has rated the opportunity; what
    # would raise it is its description (read with the row, like the score).
    "quality": (
        ("quality_rating__score", "quality_rating__band", "quality_rating__reasons"),
        lambda score, band, reasons: "" if score is None else _quality_cell(score, band, reasons),
    ),
}
# `owner_id=me` in a list's address is the signed-in user (the filter panel's "Me").
ME = "me"
# The opportunity list shows open opportunities unless asked for another status or any
# (`status=any`; the panel's empty choice arrives as `status=` and becomes it).
ANY_STATUS = "any"
# The filters the panel offers per kind, besides every custom field; any other filter of the
# API still works in the URL.
FILTER_FIELDS = {
    "company": (
        "owner_id",
        "contact_type",
        "market",
        "sector",
        "segment",
        "business_unit",
        "life_cycle",
    ),
    "person": ("owner_id", "business_unit", "title", "buying_influence"),
    "lead": ("owner_id", "source", "campaign_id", "business_unit", "converted"),
    "opportunity": (
        "owner_id",
        "pipeline",
        "stage",
        "status",
        "sector",
        "value",
        "expected_close_date",
        "win_probability",
        "source",
        "campaign_id",
    ),
}
# The filter form's column choices: `column=cf_<key>` for each custom field ticked, and
# `columns=set` saying the form sent its choices (none ticked is a choice too). A list remembers
# them per kind in the session, so sort links, pages and the menu keep the columns.
COLUMN_PARAM, COLUMNS_SENT = "column", "columns"
COLUMNS_KEY = "salesline_list_columns"
PAGE_SIZE = 50
# One page's worth of boxes at most is ticked; a bigger bulk request is not from our page.
MAX_BULK = 500
UNDO_KEY = "salesline_undo_delete"


@dataclass
class FilterControl:
    """One input (or a from/to pair) of the filter panel."""

    name: str
    label: str
    widget: str  # select | text | number | date | range-number | range-date
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    low: str = ""
    high: str = ""


def filter_params(request: HttpRequest) -> dict[str, str]:
    """The query string without empty values: an empty box in the panel means "any", whereas
    the API reads `owner_id=` as "no owner"."""
    return {
        name: value
        for name, value in request.GET.items()
        if value.strip() != "" and name not in (COLUMN_PARAM, COLUMNS_SENT)
    }


def _value_options(
    actor, kind_def: KindDef, name: str, definition: ProcessDefinitionSpec
) -> list[tuple[str, str]] | None:
    """A text field's filter as a choice: its declared choices (by label), else for a field
    keeping a list of values (a lead's source) the values in use, one per spelling ignoring
    case (the filter ignores case too); None when it stays free text."""
    choices = definition.field_choices(kind_def.key, name)
    if choices:
        return [(c.value, c.label) for c in choices]
    if name not in kind_def.value_lists:
        return None
    found, more = record_selectors.values_in_use(actor=actor, kind=kind_def.key, field=name)
    if more:
        return None
    folded: dict[str, str] = {}
    for value in found:
        folded.setdefault(value.casefold(), value)
    return sorted(((v, v) for v in folded.values()), key=lambda option: option[0].casefold())


def _field_control(
    actor,
    kind_def: KindDef,
    name: str,
    params: dict[str, str],
    members,
    definition: ProcessDefinitionSpec,
):
    if name == "pipeline":
        pipelines = list(pipeline_selectors.pipeline_list(actor=actor))
        options = [(p.key, p.name) for p in pipelines]
        return FilterControl(name, "Pipeline", "select", params.get(name, ""), options)
    if name == "stage":
        pipelines = list(pipeline_selectors.pipeline_list(actor=actor))
        groups = [(p.name, [(s.key, s.name) for s in p.stages.all()]) for p in pipelines]
        return FilterControl(name, "Stage", "select", params.get(name, ""), groups=groups)
    if name == "status":
        options = [(value, label) for value, label in Opportunity.Status.choices]
        return FilterControl(name, "Status", "select", params.get(name, ""), options)
    if name == "converted":
        options = [("true", "Converted"), ("false", "Not converted")]
        return FilterControl(name, "Conversion", "select", params.get(name, ""), options)
    field_def = kind_def.fields[name]
    if field_def.type == "reference" and field_def.reference == "campaign":
        options = [*campaign_choices(actor=actor), ("null", "No campaign")]
        return FilterControl(name, field_def.label, "select", params.get(name, ""), options)
    if field_def.type == "reference" and field_def.reference == "user":
        options = [(ME, "Me"), *((str(m.user_id), m.label) for m in members)]
        options.append(("null", "No owner"))
        return FilterControl(name, field_def.label, "select", params.get(name, ""), options)
    options = _value_options(actor, kind_def, name, definition)
    if options is None and field_def.type == "choice":
        options = [(c, c.capitalize()) for c in field_def.choices]
    if options is not None:
        # The filter ignores case (and takes a label): the option it matched is selected; one
        # matching none (from a link) is still shown.
        given = params.get(name, "")
        folded = given.casefold()
        value = next((v for v, label in options if folded in (v.casefold(), label.casefold())), "")
        if given and not value:
            value = given
            options.append((given, given))
        return FilterControl(name, field_def.label, "select", value, options)
    if field_def.type in {"decimal", "number", "date"}:
        widget = "range-date" if field_def.type == "date" else "range-number"
        return FilterControl(
            name,
            field_def.label,
            widget,
            low=params.get(f"{name}__gte", ""),
            high=params.get(f"{name}__lte", ""),
        )
    return FilterControl(name, field_def.label, "text", params.get(name, ""))


def filter_controls(
    actor, kind: str, params: dict[str, str], spec: ProcessDefinitionSpec | None = None
) -> list[FilterControl]:
    kind_def = KINDS[kind]
    members = member_list(actor=actor)
    spec = spec or definition_for(actor.organisation)
    controls = [
        _field_control(actor, kind_def, name, params, members, spec) for name in FILTER_FIELDS[kind]
    ]
    for definition in custom_field_defs(actor, kind, spec):
        name = f"cf_{definition.key}"
        value = params.get(name, "")
        if definition.type == "choice":
            options = [(c, c) for c in definition.choices]
            controls.append(FilterControl(name, definition.label, "select", value, options))
        elif definition.type == "boolean":
            options = [("true", "Yes"), ("false", "No")]
            controls.append(FilterControl(name, definition.label, "select", value, options))
        elif definition.type in {"number", "date"}:
            controls.append(FilterControl(name, definition.label, definition.type, value))
        else:
            controls.append(FilterControl(name, definition.label, "text", value))
    # Columns other apps keep (the quality score): a from/to range, and a band to choose.
    for column in list_columns(kind).values():
        controls.append(
            FilterControl(
                column.name,
                column.label,
                "range-number",
                low=params.get(f"{column.name}__gte", ""),
                high=params.get(f"{column.name}__lte", ""),
            )
        )
        if column.choice_filter:
            name, _, allowed = column.choice_filter
            options = [(value, value.capitalize()) for value in allowed]
            label = f"{column.label} band"
            controls.append(FilterControl(name, label, "select", params.get(name, ""), options))
    return controls


def active_filters(controls: list[FilterControl], params: dict[str, str]) -> list[dict]:
    """The filters in force, each with a link that drops it: what the list is showing at a
    glance, and one click to widen it."""
    labels = {}
    for control in controls:
        labels[control.name] = control.label
        labels[f"{control.name}__gte"] = f"{control.label} from"
        labels[f"{control.name}__lte"] = f"{control.label} to"
    option_labels = {
        (c.name, value): label
        for c in controls
        for value, label in [*c.options, *(o for _, group in c.groups for o in group)]
    }
    chips = []
    for name, value in params.items():
        if name in RESERVED or (name, value) == ("status", ANY_STATUS):
            continue
        remaining = {k: v for k, v in params.items() if k not in (name, "cursor", "offset")}
        if name == "status" and "pipeline" in labels:  # opportunities: open is the default
            remaining["status"] = ANY_STATUS
        chips.append(
            {
                "label": labels.get(name, name),
                "value": option_labels.get((name, value), value),
                "remove": _query_string(remaining),
            }
        )
    return chips


def _query_string(params: dict[str, str]) -> str:
    query = QueryDict(mutable=True)
    query.update(params)
    return query.urlencode()


def list_params(request: HttpRequest, kind: str) -> dict[str, str]:
    """The list's filters as its page and links carry them: opportunities open by default."""
    params = filter_params(request)
    if kind == "opportunity":
        given = request.GET.get("status")
        params["status"] = Opportunity.Status.OPEN if given is None else given or ANY_STATUS
    return params


def query_params(actor, params: dict[str, str]) -> dict[str, str]:
    """The list's parameters as the API's parser reads them: "me" is the user's id, and "any"
    status is no status filter."""
    given = dict(params)
    if given.get("owner_id") == ME:
        given["owner_id"] = str(actor.user.pk)
    if given.get("status") == ANY_STATUS:
        del given["status"]
    return given


@dataclass(frozen=True)
class CustomColumn:
    """A custom field a list may show as a column (not sortable: the API orders by built-in
    fields only)."""

    name: str  # cf_<key>
    key: str
    label: str
    type: str
    chosen: bool


def custom_columns(request: HttpRequest, actor, kind: str) -> list[CustomColumn]:
    """The kind's custom fields, each marked whether the list shows it: as the filter form
    sent it, else as this user last chose for this kind in this organisation."""
    remembered = request.session.get(COLUMNS_KEY, {})
    where = f"{actor.organisation.pk}:{kind}"
    if COLUMNS_SENT in request.GET:
        chosen = set(request.GET.getlist(COLUMN_PARAM))
        request.session[COLUMNS_KEY] = {**remembered, where: sorted(chosen)}
    else:
        chosen = set(remembered.get(where, ()))
    columns = []
    for definition in custom_field_defs(actor, kind):
        name = f"cf_{definition.key}"
        columns.append(
            CustomColumn(name, definition.key, definition.label, definition.type, name in chosen)
        )
    return columns


def _column(
    row: dict[str, Any], column: str, types: dict[str, str], labels: dict[str, str] | None = None
) -> Any:
    if column in types:
        key = column.removeprefix("cf_")
        return shown((row["custom_fields"] or {}).get(key), types[column])
    if labels:  # a declared choice is shown by its label
        value = row.get(column)
        return labels.get(value, value)
    if column not in COMPOSED_COLUMNS:
        return _cell(row.get(column))
    parts, show = COMPOSED_COLUMNS[column]
    return show(*(row[part] for part in parts))


def _cell(value: Any) -> Any:
    # A list shows the day a record was created; the record page has the exact time.
    if isinstance(value, dt.datetime):
        return day(value)
    return shown(value)


@member_page
def record_list(request: HttpRequest, actor, plural: str) -> HttpResponse:
    """A list with the API's filters, search, ordering and keyset pagination: the same parser,
    the same selector. A bad filter is shown on the page (400), never a 500. An htmx request
    (typing in the search box, changing a filter) gets the results fragment only."""
    kind = kind_of(plural)
    kind_def = KINDS[kind]
    params = list_params(request, kind)
    extra = custom_columns(request, actor, kind)
    types = {c.name: c.type for c in extra if c.chosen}
    columns = [*LIST_COLUMNS[kind], *types]
    labels = {
        **{name: field.label for name, field in kind_def.fields.items()},
        **COLUMN_LABELS,
        **{c.name: c.label for c in extra},
    }
    definition = definition_for(actor.organisation)
    controls = filter_controls(actor, kind, params, definition)
    choice_labels = {
        column: {c.value: c.label for c in definition.field_choices(kind, column)}
        for column in columns
    }
    without_paging = {k: v for k, v in params.items() if k not in ("cursor", "offset")}
    sort_base = {k: v for k, v in without_paging.items() if k != "ordering"}
    context = page_context(
        request,
        actor,
        kind=kind_def,
        columns=[
            (c, labels.get(c, c), c in KINDS[kind].orderings or c in list_columns(kind))
            for c in columns
        ],
        custom_columns=extra,
        q=params.get("q", ""),
        ordering=params.get("ordering", "name" if params.get("q") else "-created_at"),
        controls=controls,
        chips=active_filters(controls, params),
        filters_open=any(name not in RESERVED for name in params),
        sort_base=_query_string(sort_base),
        current_query=_query_string(without_paging),
        members=member_list(actor=actor),
        undo=request.session.pop(UNDO_KEY, None) if not request.htmx else None,
        problems=[],
        rows=[],
        page=None,
    )
    template = "web/records/list.html#results" if request.htmx else "web/records/list.html"

    def refused(error) -> HttpResponse:
        context["problems"] = bind_problems(None, error)
        return render(request, template, context, status=400)

    on_refusal(request, refused)
    query = parse_list_query(
        kind_def,
        {"limit": str(PAGE_SIZE), **query_params(actor, params)},
        lambda: custom_field_defs(actor, kind),
    )
    read = [part for c in LIST_COLUMNS[kind] for part in COMPOSED_COLUMNS.get(c, ((c,), None))[0]]
    if types:
        read.append("custom_fields")
    page = record_selectors.record_list(actor=actor, kind=kind, query=query, columns=["id", *read])
    # A ranked search is not in name order: the Name column must not claim it is.
    context["ranked"] = ranked(kind_def, query)
    # Surnames rank second for a one-word search only (records.selectors.Search).
    context["surnames_ranked"] = len(query_words(query.q)) == 1
    context["rows"] = [
        (row["id"], [_column(row, c, types, choice_labels[c]) for c in columns])
        for row in page.items
    ]
    if not page.items and not query.deleted:
        # A first visit (never a record, not even a deleted one), not a filter that matched
        # nothing: offer the ways to add some.
        context["none_yet"] = not kind_def.model.objects.filter(
            organisation=actor.organisation
        ).exists()
        context["importable"] = plural in IMPORT_KINDS
    context["page"] = page
    if page.next_cursor:
        context["next_query"] = _query_string({**without_paging, "cursor": page.next_cursor})
    return render(request, template, context)


@member_page
def record_export(request: HttpRequest, actor, plural: str) -> HttpResponseBase:
    """The current filter, every page, as CSV or XLSX: the API's export, audited the same way."""
    kind = kind_of(plural)

    def refused(error) -> HttpResponse:
        messages.error(request, " ".join(bind_problems(None, error)))
        return redirect(reverse("web:record-list", args=[plural]))

    on_refusal(request, refused)
    params = query_params(actor, list_params(request, kind))
    fmt, query, filters = export.parse_export_query(kind, params, actor, with_format=True)
    result = export.records_export(actor=actor, kind=kind, query=query, format=fmt, filters=filters)
    return export.export_response(result)


def _selected_ids(request: HttpRequest) -> list[int] | None:
    raw = request.POST.getlist("ids")
    try:
        ids = list(dict.fromkeys(int(value) for value in raw))
    except ValueError:
        return None
    return ids if 0 < len(ids) <= MAX_BULK else None


def _back_to_list(request: HttpRequest, plural: str) -> HttpResponse:
    """Back to the list the user acted on, with its filters; only ever a path of our own."""
    query = request.POST.get("back", "")
    url = reverse("web:record-list", args=[plural])
    return redirect(f"{url}?{query}" if query and "\n" not in query else url)


def _names(actor, kind: str, ids: list[int]) -> list[Any]:
    found = []
    for record_id in ids:
        try:
            found.append(
                record_selectors.record_get_for(actor=actor, kind=kind, record_id=record_id)
            )
        except NotFound:
            continue
    return found


@member_page
@require_POST
def record_bulk(request: HttpRequest, actor, plural: str) -> HttpResponse:
    """Bulk actions on the ticked rows. All or nothing: one record that cannot take the change
    (another organisation's, deleted meanwhile, failing validation) rolls the whole batch back
    and is named in the message."""
    kind = kind_of(plural)
    kind_def = KINDS[kind]
    ids = _selected_ids(request)
    action = request.POST.get("action", "")
    if ids is None:
        messages.error(request, f"Tick between 1 and {MAX_BULK} {kind_def.plural} first.")
        return _back_to_list(request, plural)
    if action == "assign":
        return _bulk_assign(request, actor, kind_def, ids)
    if action == "delete":
        if request.POST.get("confirm") != "yes":
            return render(
                request,
                "web/records/bulk_delete.html",
                page_context(
                    request,
                    actor,
                    kind=kind_def,
                    records=_names(actor, kind, ids),
                    back=request.POST.get("back", ""),
                ),
            )
        return _bulk_delete(request, actor, kind_def, ids)
    if action == "restore":
        return _bulk_restore(request, actor, kind_def, ids)
    messages.error(request, "Choose an action: assign owner or delete.")
    return _back_to_list(request, kind_def.plural)


def _run_all(request: HttpRequest, bulk) -> bool:
    """Run one all-or-nothing bulk service; False (and nothing changed) when it refuses, with
    a message naming the record that could not take the change."""
    try:
        bulk()
    except ValidationFailed as error:
        messages.error(request, f"Nothing was changed. {error}")
        return False
    return True


def _bulk_assign(request: HttpRequest, actor, kind_def: KindDef, ids: list[int]) -> HttpResponse:
    owner = request.POST.get("owner", "")
    members = {str(m.user_id): m for m in member_list(actor=actor)}
    if owner != "null" and owner not in members:
        messages.error(request, "Choose the new owner (a member of this organisation).")
        return _back_to_list(request, kind_def.plural)
    owner_id = None if owner == "null" else int(owner)

    def assign() -> None:
        record_services.records_bulk_assign(
            actor=actor, kind=kind_def.key, ids=ids, owner_id=owner_id
        )

    if _run_all(request, assign):
        whom = members[owner].label if owner_id else "no one"
        messages.success(request, f"Assigned {len(ids)} {kind_def.plural} to {whom}.")
    return _back_to_list(request, kind_def.plural)


def _bulk_delete(request: HttpRequest, actor, kind_def: KindDef, ids: list[int]) -> HttpResponse:
    def delete() -> None:
        record_services.records_bulk_delete(actor=actor, kind=kind_def.key, ids=ids)

    if _run_all(request, delete):
        # The list page shows an Undo button for this batch once (they stay restorable for
        # 30 days through the API either way).
        request.session[UNDO_KEY] = {"kind": kind_def.key, "ids": ids}
        messages.success(request, f"Deleted {len(ids)} {kind_def.plural}.")
    return _back_to_list(request, kind_def.plural)


def _bulk_restore(request: HttpRequest, actor, kind_def: KindDef, ids: list[int]) -> HttpResponse:
    def restore() -> None:
        record_services.records_bulk_restore(actor=actor, kind=kind_def.key, ids=ids)

    if _run_all(request, restore):
        messages.success(request, f"Restored {len(ids)} {kind_def.plural}.")
    return _back_to_list(request, kind_def.plural)


urlpatterns = [
    path("records/<str:plural>/", record_list, name="record-list"),
    path("records/<str:plural>/export/", record_export, name="record-export"),
    path("records/<str:plural>/bulk/", record_bulk, name="record-bulk"),
]
