"""Settings: the organisation's own, custom fields, members and roles, API tokens, the process
definition.

Every change goes through the same service as the API and the CLI, so a page refuses exactly
what they refuse: an admin-only change answers a salesperson with a 403 page naming the rule.
"""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from salesline.accounts import selectors as account_selectors
from salesline.accounts import services as account_services
from salesline.accounts.models import Coordination, Role
from salesline.core.errors import PermissionDenied
from salesline.core.ids import is_id
from salesline.pipeline.definition import pipelines_of
from salesline.playbooks import selectors as playbook_selectors
from salesline.process import selectors as process_selectors
from salesline.process import services as process_services
from salesline.process.definition import MAX_DEFINITION_CHARS, choice_label
from salesline.process.kinds import builtin_fields
from salesline.process.models import CustomField
from salesline.records.fields import KINDS

from ..definition_problems import bare_message, locate_problems
from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

RECORD_LABELS = {
    "company": "Companies",
    "person": "People",
    "lead": "Leads",
    "opportunity": "Opportunities",
}
# UTF-8 takes at least a byte a character: a file within this is within the loader's limit.
MAX_DEFINITION_BYTES = MAX_DEFINITION_CHARS
OPERATOR_WORDS = {
    "==": "is",
    "!=": "is not",
    ">": "is more than",
    ">=": "is at least",
    "<": "is less than",
    "<=": "is at most",
    "in": "is one of",
    "not_in": "is none of",
}


def _id(value: int) -> int:
    # A path id beyond a 64-bit integer names nothing, and SQLite overflows on it.
    if not is_id(value):
        raise Http404("No such object.")
    return value


def _is_admin(actor) -> bool:
    """Whether the page offers organisation-wide changes: the services' own rule."""
    try:
        account_services.require_admin(actor)
    except PermissionDenied:
        return False
    return True


# ---------------------------------------------------------------- overview


@member_page
def settings_home(request: HttpRequest, actor) -> HttpResponse:
    definition = process_selectors.definition_row_for(actor.organisation)
    return render(
        request,
        "web/settings/home.html",
        page_context(
            request,
            actor,
            section="",
            is_admin=_is_admin(actor),
            definition=definition,
            field_count=len(process_selectors.definition_for(actor.organisation).custom_fields),
            member_count=len(account_selectors.member_list(actor=actor)),
            token_count=account_selectors.token_list(actor=actor).filter(revoked_at=None).count(),
        ),
    )


# ---------------------------------------------------------------- organisation


class OrganisationForm(forms.Form):
    # Every value is checked by the service (the same rules as the API and the CLI); the
    # lengths only bound input.
    phone_region = forms.CharField(
        label="Phone region",
        max_length=20,
        required=False,
        help_text="Two letters, e.g. GB: phone numbers written without +country code are read "
        "as that country's. Empty: every number needs its +country code.",
    )
    country = forms.CharField(
        label="Country for working days",
        max_length=20,
        required=False,
        help_text="Two letters, e.g. NO: its public holidays are not working days when a "
        "playbook sets a to-do task's due date. Empty: the phone region's country.",
    )
    booking_url = forms.CharField(
        label="Meeting-booking link",
        max_length=1000,
        required=False,
        help_text="A web address starting with https://, e.g. your calendar's booking page: "
        "canned messages show it where they say {{ links.booking }}.",
        widget=forms.URLInput,
    )
    from_email = forms.CharField(
        label="From address of canned messages",
        max_length=320,
        required=False,
        help_text="E.g. partnerships@example.com: messages are sent from it unless their "
        "template names its own. Empty: the server's default address.",
        widget=forms.EmailInput,
    )
    PLAYBOOK_FIELDS = ("country", "booking_url", "from_email")

    def general_fields(self):
        return [self[name] for name in self.fields if name not in self.PLAYBOOK_FIELDS]

    def playbook_fields(self):
        return [self[name] for name in self.PLAYBOOK_FIELDS]


@member_page
@require_http_methods(["GET", "POST"])
def organisation_settings(request: HttpRequest, actor) -> HttpResponse:
    """The organisation's own settings: everyone sees them, an admin changes them."""
    if request.method == "POST":
        account_services.require_admin(actor, "change these settings")
    organisation = actor.organisation
    form = OrganisationForm(
        request.POST if request.method == "POST" else None,
        initial={name: getattr(organisation, name) for name in OrganisationForm.base_fields},
    )

    def render_page(status: int) -> HttpResponse:
        return render(
            request,
            "web/settings/organisation.html",
            page_context(
                request, actor, section="organisation", form=form, is_admin=_is_admin(actor)
            ),
            status=status,
        )

    def saved() -> HttpResponse:
        before = {name: getattr(organisation, name) for name in form.fields}
        saved = account_services.organisation_update(actor=actor, data=form.cleaned_data)
        labels = {name: str(form.fields[name].label) for name in form.fields}
        labels["phone_region"] = "Phone region"
        nothing = {
            "phone_region": "none (every number needs its +country code)",
            "country": "none (the phone region's)",
        }
        changed = [name for name in form.fields if getattr(saved, name) != before[name]]
        for name in changed:
            value = getattr(saved, name) or nothing.get(name, "none")
            messages.success(request, f"{labels[name]} saved: {value}.")
        if not changed:
            messages.info(request, "Nothing changed.")
        return redirect("web:settings-organisation")

    return _form_page(request, form, render_page, saved)


# ---------------------------------------------------------------- custom fields


def key_from_label(label: str) -> str:
    """A custom field's key made from its label: "Contract № (2027)" → "contract_no_2027"."""
    folded = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    key = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:60].rstrip("_")
    return f"f_{key}"[:60] if key[:1].isdecimal() else key


class CustomFieldForm(forms.Form):
    # The label first: the key is made from it unless typed (settings.js shows it as you type).
    field_order = ["record", "label", "key", "type", "choices", "help"]
    record = forms.ChoiceField(
        label="Record kind", choices=[(key, KINDS[key].key.capitalize()) for key in KINDS]
    )
    key = forms.CharField(
        label="Key",
        max_length=60,
        required=False,
        help_text="snake_case, e.g. contract_number; used by the API and imports; cannot change. "
        "Made from the label when left empty.",
        widget=forms.TextInput(attrs={"data-key-from": "id_label"}),
    )
    label = forms.CharField(label="Label", max_length=120)

    def clean(self):
        data = super().clean()
        if "key" in self.fields and not data.get("key") and data.get("label"):
            data["key"] = key_from_label(data["label"])
            if not data["key"]:
                self.add_error("key", "Give a key: the label has no letters or digits to make one.")
        return data

    type = forms.ChoiceField(label="Type", choices=CustomField.Type.choices)
    choices = forms.CharField(
        label="Choices (one per line, for a choice field)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    help = forms.CharField(label="Help text", max_length=255, required=False)

    def clean_choices(self) -> list[str]:
        lines = (line.strip() for line in self.cleaned_data["choices"].splitlines())
        return [line for line in lines if line]


class CustomFieldEditForm(CustomFieldForm):
    """Key, record kind and type stay as they are: values already stored depend on them."""

    def __init__(self, *args, field: CustomField, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("record", "key", "type"):
            del self.fields[name]
        if field.type != CustomField.Type.CHOICE:
            del self.fields["choices"]


def _custom_fields(actor) -> list[CustomField]:
    return list(process_selectors.custom_field_list(actor=actor))


def _custom_field_input(problem) -> str | None:
    """The input a definition problem names (custom_fields[3].label -> label)."""
    location = str(problem.loc[1]) if len(problem.loc) > 1 else ""
    match = re.match(r"custom_fields\[\d+\](?:\.(\w+))?", location)
    name = match.group(1) if match else None
    if name is None and match and "choices" in bare_message(problem):
        name = "choices"  # "a choice field needs a list of choices" names the entry
    return name


def _admin_only(view):
    """A settings page that changes organisation-wide settings: a salesperson gets the 403
    page (the services refuse them too; this also keeps them from seeing a form they cannot
    use)."""

    def wrapper(request: HttpRequest, actor, *args, **kwargs) -> HttpResponse:
        account_services.require_admin(actor, "change these settings")
        return view(request, actor, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@member_page
def field_list(request: HttpRequest, actor) -> HttpResponse:
    fields = _custom_fields(actor)
    groups = [
        (kind, RECORD_LABELS[kind], [f for f in fields if f.record == kind]) for kind in KINDS
    ]
    return render(
        request,
        "web/settings/fields.html",
        page_context(request, actor, section="fields", groups=groups, is_admin=_is_admin(actor)),
    )


def _field_or_404(actor, field_id: int):
    return process_selectors.custom_field_get_for(actor=actor, field_id=_id(field_id))


def _form_page(request: HttpRequest, form, render_page, save, **binding) -> HttpResponse:
    """A settings form: GET shows it (200); a POST that the form or the service refuses shows
    it again with each problem under the field it names (400, or the service's status; the
    `binding` is `bind_problems`'); a saved one is `save()`'s answer. `render_page(status)`
    renders the page."""
    if request.method != "POST":
        return render_page(200)
    if not form.is_valid():
        return render_page(400)

    def refused(error):
        bind_problems(form, error, **binding)
        return render_page(error.status)

    on_refusal(request, refused)
    return save()


def _field_form_page(request: HttpRequest, actor, form, field, save, done: str) -> HttpResponse:
    """The add and edit pages of a custom field: `save(form)` calls the service; its errors go
    under the fields they name, and nothing is saved until there are none."""

    def render_page(status: int) -> HttpResponse:
        return render(
            request,
            "web/settings/field_form.html",
            page_context(request, actor, section="fields", form=form, field=field),
            status=status,
        )

    def saved() -> HttpResponse:
        field = save(form)
        messages.success(request, f"Custom field “{field.label}” {done}.")
        return redirect(f"{reverse('web:settings-fields')}#record-{field.record}")

    return _form_page(
        request,
        form,
        render_page,
        saved,
        field_of=_custom_field_input,
        message_of=bare_message,
    )


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def field_create(request: HttpRequest, actor) -> HttpResponse:
    initial = {"record": request.GET.get("record")} if request.GET.get("record") in KINDS else {}
    form = CustomFieldForm(request.POST if request.method == "POST" else None, initial=initial)

    def create(form):
        return process_services.custom_field_create(actor=actor, data=form.cleaned_data)

    return _field_form_page(request, actor, form, None, create, "added")


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def field_edit(request: HttpRequest, actor, field_id: int) -> HttpResponse:
    field = _field_or_404(actor, field_id)
    initial = {"label": field.label, "choices": "\n".join(field.choices), "help": field.help}
    form = CustomFieldEditForm(
        request.POST if request.method == "POST" else None, initial=initial, field=field
    )

    def update(form):
        data = {name: form.cleaned_data[name] for name in form.fields}
        return process_services.custom_field_update(actor=actor, field_id=field.pk, data=data)

    return _field_form_page(request, actor, form, field, update, "saved")


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def field_delete(request: HttpRequest, actor, field_id: int) -> HttpResponse:
    field = _field_or_404(actor, field_id)

    def render_page(status: int, problems=()) -> HttpResponse:
        return render(
            request,
            "web/settings/field_delete.html",
            page_context(
                request,
                actor,
                section="fields",
                field=field,
                general=list(problems),
                summary_title="The field was not removed",
            ),
            status=status,
        )

    if request.method != "POST":
        return render_page(200)

    def refused(error) -> HttpResponse:
        return render_page(error.status, bind_problems(None, error, message_of=bare_message))

    on_refusal(request, refused)
    process_services.custom_field_delete(actor=actor, field_id=field.pk)
    messages.success(request, f"Custom field “{field.label}” removed.")
    return redirect("web:settings-fields")


# ---------------------------------------------------------------- members and roles


class MemberAddForm(forms.Form):
    email = forms.CharField(label="E-mail", max_length=254)
    full_name = forms.CharField(label="Name (for a new user)", max_length=200, required=False)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.SALESPERSON)


class MemberRolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label="Roles",
        choices=Role.choices,
        required=False,  # the service names the problem of no role
        widget=forms.CheckboxSelectMultiple,
    )
    confirm_self = forms.BooleanField(label="Yes, change my own roles", required=False)


class MemberRemoveForm(forms.Form):
    confirm_self = forms.BooleanField(label="Yes, remove me from the organisation", required=False)


def _member_or_404(actor, user_id: int):
    return account_selectors.member_get_for(actor=actor, user_id=_id(user_id))


@member_page
def member_list(request: HttpRequest, actor) -> HttpResponse:
    lines = _coordination(actor)
    return render(
        request,
        "web/settings/members.html",
        page_context(
            request,
            actor,
            section="members",
            member_rows=[
                (member, lines.get(member.user_id, ""))
                for member in account_selectors.member_list(actor=actor)
            ],
            is_admin=_is_admin(actor),
        ),
    )


def _coordination(actor) -> dict[int, str]:
    """Each member's line about calendars: whom a coordinator coordinates, who coordinates a
    salesperson."""
    rows = Coordination.objects.filter(organisation=actor.organisation).values_list(
        "coordinator_id",
        "coordinator__full_name",
        "coordinator__email",
        "salesperson_id",
        "salesperson__full_name",
        "salesperson__email",
    )
    runs: dict[int, list[str]] = {}
    lines: dict[int, str] = {}
    for coordinator_id, c_name, c_email, salesperson_id, s_name, s_email in rows:
        runs.setdefault(coordinator_id, []).append(s_name or s_email)
        lines[salesperson_id] = f"Coordinated by {c_name or c_email}"
    for coordinator_id, names in runs.items():
        lines[coordinator_id] = "Coordinates " + ", ".join(sorted(names))
    return lines


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def member_add(request: HttpRequest, actor) -> HttpResponse:
    form = MemberAddForm(request.POST if request.method == "POST" else None)

    def render_page(status: int) -> HttpResponse:
        return render(
            request,
            "web/settings/member_add.html",
            page_context(request, actor, section="members", form=form),
            status=status,
        )

    def saved() -> HttpResponse:
        user = account_services.member_add(actor=actor, **form.cleaned_data)
        messages.success(request, f"{user.email} is now a member.")
        return redirect("web:settings-members")

    return _form_page(request, form, render_page, saved)


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def member_edit(request: HttpRequest, actor, user_id: int) -> HttpResponse:
    member = _member_or_404(actor, user_id)
    form = MemberRolesForm(
        request.POST if request.method == "POST" else None, initial={"roles": list(member.roles)}
    )

    def render_page(status: int) -> HttpResponse:
        return _member_form_page(request, actor, "member_edit", form, member, status)

    def saved() -> HttpResponse:
        account_services.member_set_roles(
            actor=actor,
            user_id=member.user_id,
            roles=form.cleaned_data["roles"],
            confirm_self=form.cleaned_data["confirm_self"],
        )
        messages.success(request, f"Roles of {member.email} saved.")
        return redirect("web:settings-members")

    return _form_page(request, form, render_page, saved)


def _member_form_page(
    request: HttpRequest, actor, template: str, form: forms.Form, member, status: int
) -> HttpResponse:
    """A page with a form about one member (editing roles, removing them)."""
    return render(
        request,
        f"web/settings/{template}.html",
        page_context(
            request,
            actor,
            section="members",
            form=form,
            member=member,
            is_self=member.user_id == actor.user.pk,
        ),
        status=status,
    )


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, actor, user_id: int) -> HttpResponse:
    member = _member_or_404(actor, user_id)
    form = MemberRemoveForm(request.POST if request.method == "POST" else None)

    def render_page(status: int) -> HttpResponse:
        return _member_form_page(request, actor, "member_remove", form, member, status)

    def saved() -> HttpResponse:
        account_services.member_remove(
            actor=actor, user_id=member.user_id, confirm_self=form.cleaned_data["confirm_self"]
        )
        messages.success(request, f"{member.email} was removed and their API tokens revoked.")
        if member.user_id == actor.user.pk:
            return redirect("web:home")
        return redirect("web:settings-members")

    if request.method == "POST" and not form.is_valid():
        return render_page(200)  # a confirmation: nothing to correct, the page again
    return _form_page(request, form, render_page, saved)


# ---------------------------------------------------------------- API tokens


class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        required=False,
        help_text="To recognise the token later, e.g. “laptop script”.",
    )


def _tokens_context(request: HttpRequest, actor, **extra) -> dict:
    return page_context(
        request,
        actor,
        section="tokens",
        tokens=list(account_selectors.token_list(actor=actor)),
        member_tokens=list(account_selectors.member_token_list(actor=actor)),
        form=TokenForm(),
        **extra,
    )


@member_page
def token_list(request: HttpRequest, actor) -> HttpResponse:
    return render(request, "web/settings/tokens.html", _tokens_context(request, actor))


@member_page
@require_POST
def token_create(request: HttpRequest, actor) -> HttpResponse:
    """The plain token is in this one response and nowhere else: it is not kept (only its hash
    is), the response is not cached, and reloading the list page never shows it again."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        context = _tokens_context(request, actor)
        context["form"] = form
        if request.htmx:  # htmx swaps only a 2xx answer; the errors are in this fragment
            return render(request, "web/settings/tokens.html#tokens", context)
        return render(request, "web/settings/tokens.html", context, status=400)
    token, plain = account_services.token_create(actor=actor, name=form.cleaned_data["name"])
    context = _tokens_context(request, actor, created=token, plain=plain)
    template = "web/settings/tokens.html#tokens" if request.htmx else "web/settings/tokens.html"
    response = render(request, template, context, status=201 if request.htmx else 200)
    response["Cache-Control"] = "no-store"
    return response


@member_page
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, actor, token_id: int) -> HttpResponse:
    token = account_selectors.token_get_for(actor=actor, token_id=_id(token_id))
    if request.method == "POST":
        account_services.token_revoke(actor=actor, token_id=token.pk)
        messages.success(request, f"Token {token.prefix}… revoked: it no longer opens the API.")
        return redirect("web:settings-tokens")
    return render(
        request,
        "web/settings/token_revoke.html",
        page_context(request, actor, section="tokens", token=token),
    )


# ---------------------------------------------------------------- process definition


def _process_view(actor) -> dict:
    """The definition in force, shaped for reading: labels instead of field names."""
    spec = process_selectors.definition_for(actor.organisation)
    builtin = builtin_fields()
    labels = {kind: spec.labels(kind, builtin) for kind in KINDS}
    opportunity = labels["opportunity"]
    pipelines = []
    for pipeline in pipelines_of(spec):
        stages = []
        for stage in pipeline.stages:
            gate = stage.gate
            conditions = [
                {
                    "field": opportunity.get(c.field, c.field),
                    "op": OPERATOR_WORDS.get(c.op, c.op),
                    # A declared choice by its label: "Public sector", not "public".
                    "value": ", ".join(
                        choice_label(spec.field_choices("opportunity", c.field), str(v))
                        for v in (c.value if isinstance(c.value, tuple | list) else (c.value,))
                    ),
                    "message": c.message,
                }
                for c in gate.conditions
            ]
            stages.append(
                {
                    "spec": stage,
                    "require": [opportunity.get(name, name) for name in gate.require],
                    "conditions": conditions,
                    "has_gate": bool(
                        gate.require
                        or gate.conditions
                        or gate.name_pattern
                        or gate.checklist
                        or gate.reason_required
                    ),
                }
            )
        pipelines.append({"spec": pipeline, "stages": stages})
    minimum = [
        (RECORD_LABELS[kind], [labels[kind].get(name, name) for name in names])
        for kind, names in spec.minimum_fields.items()
        if names
    ]
    types = dict(CustomField.Type.choices)
    # Each custom field with its record kind and type in words, as the custom fields page says.
    custom_fields = [
        (f, f.record.capitalize(), types.get(f.type, f.type)) for f in spec.custom_fields
    ]
    choice_lists = [
        (
            RECORD_LABELS[kind],
            [
                (labels[kind].get(name, name), ", ".join(c.label for c in items))
                for name, items in by_field.items()
            ],
        )
        for kind, by_field in spec.choices.items()
        if kind in RECORD_LABELS
    ]
    return {
        "spec": spec,
        "pipelines": pipelines,
        "minimum": minimum,
        "custom_fields": custom_fields,
        "choice_lists": choice_lists,
    }


@member_page
def process_page(request: HttpRequest, actor) -> HttpResponse:
    return render(
        request,
        "web/settings/process.html",
        page_context(
            request,
            actor,
            section="process",
            definition=process_selectors.definition_row_for(actor.organisation),
            is_admin=_is_admin(actor),
            playbooks=playbook_selectors.playbook_overview(actor=actor),
            built_in_schedules=playbook_selectors.built_in_schedules(actor=actor),
            **_process_view(actor),
        ),
    )


@member_page
def process_download(request: HttpRequest, actor) -> HttpResponse:
    row = process_selectors.definition_row_for(actor.organisation)
    if row is None:
        raise Http404("This organisation has no process definition yet.")
    text = row.source if row.source.endswith("\n") else row.source + "\n"
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    filename = f"{actor.organisation.slug}-process-v{row.version}.yaml"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class DefinitionUploadForm(forms.Form):
    file = forms.FileField(label="YAML file", required=False)
    source = forms.CharField(
        label="Or paste the YAML",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
    )

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("file")
        text = cleaned.get("source") or ""
        if upload is not None:
            if upload.size > MAX_DEFINITION_BYTES:
                raise forms.ValidationError(
                    f"The file is {upload.size:,} bytes; a definition may have at most "
                    f"{MAX_DEFINITION_BYTES:,}."
                )
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(
                    "The file is not UTF-8 text: save it as UTF-8 and upload it again."
                ) from None
        if not text.strip():
            raise forms.ValidationError("Choose a YAML file or paste the definition.")
        cleaned["text"] = text
        return cleaned


@member_page
@_admin_only
@require_http_methods(["GET", "POST"])
def process_upload(request: HttpRequest, actor) -> HttpResponse:
    """Check first, load only when the check passes; a failed upload changes nothing and shows
    every problem with the line of the uploaded text it is about."""
    form = DefinitionUploadForm(
        request.POST if request.method == "POST" else None, request.FILES or None
    )
    status, problems, checked = 200, [], None

    def render_page(status: int, problems, checked=None) -> HttpResponse:
        return render(
            request,
            "web/settings/process_upload.html",
            page_context(
                request,
                actor,
                section="process",
                form=form,
                problems=problems,
                checked=checked,
                definition=process_selectors.definition_row_for(actor.organisation),
            ),
            status=status,
        )

    if request.method == "POST":
        status = 400
        if form.is_valid():
            text = form.cleaned_data["text"]
            # Show what was sent, so a fix is an edit, not a fresh paste.
            form = DefinitionUploadForm(initial={"source": text})
            on_refusal(
                request,
                lambda error: render_page(error.status, locate_problems(text, error.problems)),
            )
            spec = process_services.process_check(actor=actor, text=text)
            if "check_only" not in request.POST:
                row = process_services.process_load(actor=actor, text=text)
                messages.success(
                    request, f"Version {row.version} of “{spec.name}” is now in force."
                )
                return redirect("web:settings-process")
            checked, status = spec, 200
    return render_page(status, problems, checked)


urlpatterns = [
    path("settings/", settings_home, name="settings"),
    path("settings/organisation/", organisation_settings, name="settings-organisation"),
    path("settings/fields/", field_list, name="settings-fields"),
    path("settings/fields/new/", field_create, name="settings-field-create"),
    path("settings/fields/<int:field_id>/", field_edit, name="settings-field-edit"),
    path("settings/fields/<int:field_id>/delete/", field_delete, name="settings-field-delete"),
    path("settings/members/", member_list, name="settings-members"),
    path("settings/members/new/", member_add, name="settings-member-add"),
    path("settings/members/<int:user_id>/", member_edit, name="settings-member-edit"),
    path("settings/members/<int:user_id>/remove/", member_remove, name="settings-member-remove"),
    path("settings/tokens/", token_list, name="settings-tokens"),
    path("settings/tokens/new/", token_create, name="settings-token-create"),
    path("settings/tokens/<int:token_id>/revoke/", token_revoke, name="settings-token-revoke"),
    path("settings/process/", process_page, name="settings-process"),
    path("settings/process/download/", process_download, name="settings-process-download"),
    path("settings/process/upload/", process_upload, name="settings-process-upload"),
]
