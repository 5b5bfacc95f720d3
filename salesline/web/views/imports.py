"""Import pages: upload, mapping, dry-run preview, live progress, report, undo.

The flow: an uploaded file is *staged* (kept on disk under a random token that only the
uploader's session knows) because the mapping step needs the file again and a browser cannot
send it twice. Choosing the mapping creates a dry-run import of the staged file, whose report is
the preview; "Run import" creates the real import from the dry run's stored file with the same
mapping and options. Every step calls the services the API calls, so the pages refuse exactly
what the API refuses.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from salesline.core.errors import DomainError, ValidationFailed
from salesline.records.fields import KINDS
from salesline.records.importing import services as imports
from salesline.records.importing.mapping import guess, targets
from salesline.records.importing.reader import UnreadableFile
from salesline.records.models import ImportIssue, ImportJob
from salesline.records.normalise import valid_region
from salesline.records.services import custom_field_defs

from ..errors import bind_problems, on_refusal
from .common import member_page, page_context

STAGED_DIR = imports.STAGED_DIR
STAGED_SESSION_KEY = "salesline_import_uploads"
# An upload nobody mapped within a day is abandoned; its file is deleted on a later upload.
STAGED_PER_SESSION = 5
# The mapping form has one field per column; the reader refuses files wider than the import
# limit (500 columns) for every interface, so the page (and Django's limit of 1,000 form
# fields) stays usable.
MAX_COLUMN_NAME = 500
SAMPLE_ROWS = 5
# "Same value for every row" slots the mapping form reads (the page adds one at a time).
MAX_CONSTANTS = 20
IMPORTS_PER_PAGE = 25
ISSUES_PER_PAGE = 50
# The report links the first of the records an import created and updated.
WRITTEN_SHOWN = 100
UNFINISHED = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING)
STATUS_TEXT = {
    ImportJob.Status.QUEUED: "Waiting for the worker",
    ImportJob.Status.RUNNING: "Importing",
    ImportJob.Status.DONE: "Done",
    ImportJob.Status.FAILED: "Failed",
    ImportJob.Status.UNDONE: "Undone",
}
KIND_CHOICES = [(plural, plural.capitalize()) for plural in imports.IMPORT_KINDS]
DUPLICATE_CHOICES = [
    (ImportJob.OnDuplicate.SKIP, "Skip the row and leave the record as it is"),
    (ImportJob.OnDuplicate.UPDATE, "Fill the record's empty fields from the row"),
    (ImportJob.OnDuplicate.OVERWRITE, "Replace the record's values with the row's"),
]


def _upload_limit() -> int:
    return getattr(settings, "SALESLINE_IMPORT_MAX_BYTES", 512 * 1024 * 1024)


class ImportOptionsForm(forms.Form):
    on_duplicate = forms.ChoiceField(
        label="When a row matches an existing record",
        choices=DUPLICATE_CHOICES,
        initial=ImportJob.OnDuplicate.SKIP,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose skip, update or overwrite."},
    )
    region = forms.CharField(
        label="Country of phone numbers without a + (optional)",
        required=False,
        max_length=2,
        help_text="A two-letter code such as GB or NO.",
        error_messages={"max_length": "Give a two-letter country code such as GB or NO."},
    )

    def clean_region(self) -> str:
        region = self.cleaned_data["region"].strip().upper()
        if region and not valid_region(region):
            raise forms.ValidationError(
                f"'{region}' is not a country code such as GB or NO.", code="invalid"
            )
        return region


class UploadForm(ImportOptionsForm):
    file = forms.FileField(
        label="File (CSV, XLSX or vCard)",
        error_messages={
            "required": "Choose a CSV, XLSX or vCard file to import.",
            "empty": "The file is empty: it needs a row of column names and rows of data.",
            "invalid": "No file was received: choose the file again.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,.vcf"}),
    )
    kind = forms.ChoiceField(
        label="The rows are",
        choices=KIND_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose leads, people or companies."},
    )
    field_order = ["file", "kind", "on_duplicate", "region"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = _upload_limit()
        if upload.size and upload.size > limit:
            raise forms.ValidationError(
                f"The file is too large: the limit is {limit // (1024 * 1024)} MiB.",
                code="too_large",
            )
        return upload


# --------------------------------------------------------------------------- reading a file


def _beyond_these_pages(preview: imports.ImportPreview) -> str | None:
    """Why the mapping form cannot show a file (too many or too long column names), if so."""
    most = imports.read_limits().columns
    if len(preview.columns) > most:
        return (
            f"it has {len(preview.columns)} columns; these pages map at most {most} "
            "(remove the columns you do not need)"
        )
    for number, column in enumerate(preview.columns, start=1):
        if len(column) > MAX_COLUMN_NAME:
            return (
                f"the name of column {number} is {len(column)} characters long; "
                f"column names must be at most {MAX_COLUMN_NAME}"
            )
    return None


def _read_preview(actor, kind: str, file_path: Path) -> imports.ImportPreview:
    """The file's preview (the API's), or Http404 when the file can no longer be shown."""
    try:
        preview = imports.import_preview(
            actor=actor, kind=kind, file=file_path, sample_rows=SAMPLE_ROWS
        )
    except (ValidationFailed, OSError):
        raise Http404("The file of this import is no longer readable; upload it again.") from None
    if _beyond_these_pages(preview):
        raise Http404("The file of this import is no longer readable; upload it again.")
    return preview


# --------------------------------------------------------------------------- staged uploads


def _staged_uploads(request: HttpRequest) -> dict:
    return dict(request.session.get(STAGED_SESSION_KEY, {}))


def _remember(request: HttpRequest, actor, staged: imports.StagedUpload, options: dict) -> None:
    """Let this session, and only it, map the staged upload (by its token)."""
    uploads = _staged_uploads(request)
    # One session keeps a handful of uploads at most (several tabs); the oldest goes first.
    while len(uploads) >= STAGED_PER_SESSION:
        oldest = next(iter(uploads))
        imports.staged_upload_discard(name=uploads.pop(oldest)["name"])
    uploads[staged.token] = {
        "name": staged.name,
        "organisation": actor.organisation.pk,
        "file_name": staged.file_name,
        **options,
    }
    request.session[STAGED_SESSION_KEY] = uploads


def _unstage(request: HttpRequest, token: str) -> None:
    uploads = _staged_uploads(request)
    staged = uploads.pop(token, None)
    if staged:
        imports.staged_upload_discard(name=staged["name"])
    request.session[STAGED_SESSION_KEY] = uploads


def _staged(request: HttpRequest, actor, token: str) -> dict:
    staged = _staged_uploads(request).get(token)
    if not staged or staged.get("organisation") != actor.organisation.pk:
        raise Http404("No such upload: it was used or has expired; upload the file again.")
    return staged


# --------------------------------------------------------------------------- helpers


def _job(actor, import_id) -> ImportJob:
    # Another organisation's import is NotFound: the web's error path answers 404.
    return imports.import_get_for(actor=actor, import_id=import_id)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _progress(job: ImportJob) -> dict:
    progress = imports.progress_of(job)
    finished = job.status not in UNFINISHED
    total = progress["rows_total"]
    done = progress["rows_done"]
    return {
        **progress,
        # An empty file has no rows to count: a finished one is shown full, not empty.
        "max": total or 1,
        "value": done if total else (1 if finished else 0),
        "rate": f"{rate:,.0f} {job.unit}s/s" if (rate := progress["rows_per_second"]) else "",
        "eta": _duration(progress["eta_seconds"]) if not finished else "",
    }


def _undoable(job: ImportJob) -> bool:
    """Whether to offer undo; import_undo itself refuses the rest with the reason."""
    return (
        job.kind in KINDS
        and not job.dry_run
        and job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    )


def _problem_messages(error: DomainError) -> list[str]:
    return bind_problems(None, error)


# --------------------------------------------------------------------------- pages


@member_page
def import_list_page(request: HttpRequest, actor) -> HttpResponse:
    try:
        page_number = min(max(int(request.GET.get("page", "1")), 1), 100_000)
    except ValueError:
        page_number = 1
    jobs = imports.import_list(
        actor=actor, limit=IMPORTS_PER_PAGE + 1, offset=(page_number - 1) * IMPORTS_PER_PAGE
    )
    rows = [
        {
            "job": job,
            "kind": imports.kind_plural(job.kind),
            "status": STATUS_TEXT.get(job.status, job.status),
            "who": job.created_by.email if job.created_by else "",
        }
        for job in jobs[:IMPORTS_PER_PAGE]
    ]
    return render(
        request,
        "web/imports/list.html",
        page_context(
            request,
            actor,
            rows=rows,
            page_number=page_number,
            has_next=len(jobs) > IMPORTS_PER_PAGE,
        ),
    )


@member_page
def import_upload_page(request: HttpRequest, actor) -> HttpResponse:
    """Choose the file, what its rows are and the duplicate policy; the file is checked for
    being readable before the mapping step, and nothing is created yet."""
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if form.is_bound and form.is_valid():
        upload = form.cleaned_data["file"]
        options = {
            "kind": form.cleaned_data["kind"],
            "on_duplicate": form.cleaned_data["on_duplicate"],
            "region": form.cleaned_data["region"],
        }
        try:
            staged = imports.import_stage(
                actor=actor,
                kind=options["kind"],
                file=upload,
                file_name=upload.name or "import.csv",
            )
        except ValidationFailed as error:
            form.add_error("file", " ".join(_problem_messages(error)))
        except OSError as exc:
            form.add_error("file", f"The file cannot be imported: {exc}.")
        else:
            too_wide = _beyond_these_pages(staged.preview)
            if too_wide:
                imports.staged_upload_discard(name=staged.name)
                form.add_error("file", f"The file cannot be imported: {too_wide}.")
            else:
                _remember(request, actor, staged, options)
                return redirect("web:import-upload-mapping", token=staged.token)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/imports/new.html",
        page_context(request, actor, form=form, limit_mib=_upload_limit() // (1024 * 1024)),
        status=status,
    )


def _posted_constants(request: HttpRequest) -> list[tuple[str, str]]:
    """The filled "same value for every row" slots of the form, (field, value) each."""
    slots = []
    for number in range(1, MAX_CONSTANTS + 1):
        field = request.POST.get(f"constant-field-{number}", "").strip()
        value = request.POST.get(f"constant-value-{number}", "")
        if field or value.strip():
            slots.append((field, value))
    return slots


def _constants_of(
    slots: list[tuple[str, str]], available: dict
) -> tuple[dict[str, str], list[str]]:
    """The constants the slots give, and what the form itself cannot take (a value without
    its field, a field given twice); the service checks the rest."""
    constants: dict[str, str] = {}
    errors = []
    for field, value in slots:
        if not field:
            errors.append(f"Choose the field that every row gets '{value.strip()[:60]}' in.")
        elif field in constants:
            label = available[field].label if field in available else field
            errors.append(f"{label} is given more than one value; keep one.")
        else:
            constants[field] = value
    return constants, errors


def _requirements(
    requirements: list[imports.Requirement],
    chosen: dict,
    constants: dict[str, str],
    columns: list[str],
    available: dict,
) -> list[dict]:
    """Each field every row needs, with what gives it: a column, one value, or nothing yet."""
    out = []
    for requirement in requirements:
        column = next((c for c in columns if chosen.get(c) in requirement.satisfied_by), None)
        constant = next((t for t in requirement.satisfied_by if t in constants), None)
        if column is not None:
            state = f"from column “{column[:60]}”"
        elif constant is not None:
            state = f"one value for every row: {constants[constant][:60]}"
        else:
            state = "not mapped: map a column to it or give one value for every row"
        out.append(
            {
                "label": requirement.label,
                "targets": " ".join(sorted(requirement.satisfied_by)),
                "given": column is not None or constant is not None,
                "state": state,
            }
        )
    return out


def _mapping_page(
    request: HttpRequest,
    actor,
    *,
    kind: str,
    file_path: Path,
    file_name: str,
    options: dict,
    initial_mapping: dict | None,
    action: str,
    initial_constants: dict | None = None,
):
    """The mapping form for a file; on a valid POST, the dry-run import it created (or the
    page's response when the mapping or the options are refused)."""
    preview = _read_preview(actor, kind, file_path)
    available = {target.key: target for target in preview.targets}
    column_errors: dict[str, list[str]] = {}
    constant_errors: dict[str, list[str]] = {}
    general_errors: list[str] = []
    posted = request.method == "POST"
    options_form = ImportOptionsForm(request.POST if posted else None, initial=options)
    saved = imports.saved_mapping_for(actor, kind, preview.columns)

    def show(error: ValidationFailed) -> None:
        """Each problem next to what it names: a column, an option, or above the form."""
        for problem in error.problems:
            where = problem.loc[0] if problem.loc else ""
            if where == "mapping" and len(problem.loc) > 1:
                column_errors.setdefault(str(problem.loc[1]), []).append(problem.msg)
            elif where == "constants" and len(problem.loc) > 1:
                constant_errors.setdefault(str(problem.loc[1]), []).append(problem.msg)
            elif where in ("on_duplicate", "region"):
                options_form.add_error(str(where), problem.msg)
            else:
                general_errors.append(problem.msg)
        if not error.problems:
            general_errors.append(str(error))

    if posted:
        chosen = {
            column: request.POST.get(f"column-{index}", "") or None
            for index, column in enumerate(preview.columns)
        }
        slots = _posted_constants(request)
        constants, slot_errors = _constants_of(slots, available)
        general_errors += slot_errors
        if not slot_errors and options_form.is_valid():
            try:
                started = imports.import_start(
                    actor=actor,
                    kind=kind,
                    file=file_path,
                    file_name=file_name,
                    mapping=chosen,
                    region=options_form.cleaned_data["region"] or None,
                    on_duplicate=options_form.cleaned_data["on_duplicate"],
                    dry_run=True,
                    constants=constants,
                )
            except ValidationFailed as error:
                show(error)
            else:
                return started.job
        else:
            # Report the mapping's and the constants' problems too, not only the form's.
            try:
                imports.mapping_and_constants(actor, kind, preview.columns, chosen, constants)
            except ValidationFailed as error:
                show(error)
    else:
        slots = list((initial_constants or {}).items())
        chosen = initial_mapping or preview.mapping
        if chosen is None:
            # Nothing guessed for the name: show the guesses and say what is missing.
            chosen = guess(kind, preview.columns, custom_field_defs(actor, kind))
            general_errors = _problem_messages(preview.mapping_error)

    columns = [
        {
            "index": index,
            "name": column,
            "chosen": chosen.get(column) or "",
            "examples": [
                cells[index] for _, cells in preview.sample if index < len(cells) and cells[index]
            ],
            "errors": column_errors.get(column, []),
        }
        for index, column in enumerate(preview.columns)
    ]
    constant_targets = [t for t in preview.targets if t.key not in imports.NOT_CONSTANT]
    constant_targets += imports.constant_only_targets(kind)
    constant_slots = [
        {
            "number": number,
            "field": field,
            "value": value,
            "errors": constant_errors.get(field, []) if field else [],
        }
        for number, (field, value) in enumerate([*slots, ("", "")][:MAX_CONSTANTS], start=1)
    ]
    shown = {field for field, _ in slots}
    general_errors += [m for f, msgs in constant_errors.items() if f not in shown for m in msgs]
    given = {field: value for field, value in slots if field and value.strip()}
    requirements = _requirements(
        imports.import_requirements(actor, kind), chosen, given, preview.columns, available
    )
    width = len(preview.columns)
    sample = [
        (number, [*cells[:width], *[""] * (width - len(cells))]) for number, cells in preview.sample
    ]
    return render(
        request,
        "web/imports/mapping.html",
        page_context(
            request,
            actor,
            kind=KINDS[kind],
            file_name=file_name,
            columns=columns,
            targets=list(available.values()),
            constant_targets=constant_targets,
            constant_slots=constant_slots,
            requirements=requirements,
            missing=sum(1 for r in requirements if not r["given"]),
            sample=sample,
            estimated_rows=preview.estimated_rows,
            unit=preview.unit,
            notes=preview.notes,
            options_form=options_form,
            general_errors=general_errors,
            saved=bool(saved) and not initial_mapping and not posted,
            action=action,
        ),
        status=400 if posted else 200,
    )


@member_page
def import_upload_mapping_page(request: HttpRequest, actor, token: str) -> HttpResponse:
    staged = _staged(request, actor, token)
    result = _mapping_page(
        request,
        actor,
        kind=imports.import_kind(staged["kind"]),
        file_path=imports.staged_upload_path(staged["name"]),
        file_name=staged["file_name"],
        options={"on_duplicate": staged["on_duplicate"], "region": staged["region"]},
        initial_mapping=None,
        action=reverse("web:import-upload-mapping", kwargs={"token": token}),
    )
    if isinstance(result, ImportJob):
        # The dry run keeps its own copy of the file; the staged one is done with.
        _unstage(request, token)
        return redirect("web:import-detail", import_id=result.pk)
    return result


@member_page
def import_mapping_page(request: HttpRequest, actor, import_id: int) -> HttpResponse:
    """Back to mapping: change an import's mapping or options and dry-run its file again."""
    job = _job(actor, import_id)
    if job.kind not in KINDS:
        raise Http404("A stage-history import has no column mapping.")
    try:
        file_path = Path(job.file.path)
    except ValueError:  # no file stored with the job
        raise Http404("This import has no file.") from None
    result = _mapping_page(
        request,
        actor,
        kind=job.kind,
        file_path=file_path,
        file_name=job.file_name,
        options={"on_duplicate": job.on_duplicate, "region": job.region},
        initial_mapping=dict(job.mapping) or None,
        initial_constants=dict(job.constants or {}),
        action=reverse("web:import-mapping", kwargs={"import_id": job.pk}),
    )
    if isinstance(result, ImportJob):
        return redirect("web:import-detail", import_id=result.pk)
    return result


def _issue_page(request: HttpRequest, job: ImportJob, type_: str, param: str):
    return Paginator(imports.import_issues(job, type_), ISSUES_PER_PAGE).get_page(
        request.GET.get(param)
    )


def _kind_of_job(job: ImportJob):
    """What the job pages say of a job's rows: a record kind, or (a stage-history import)
    the stage changes it writes."""
    if job.kind in KINDS:
        return KINDS[job.kind]
    return SimpleNamespace(key=job.kind, plural="stage changes", records=False)


def _job_context(request: HttpRequest, actor, job: ImportJob) -> dict:
    kind = _kind_of_job(job)
    running = job.status in UNFINISHED
    context = {
        "job": job,
        "kind": kind,
        "running": running,
        "status_text": STATUS_TEXT.get(job.status, job.status),
        "unit": job.unit,
        "progress": _progress(job),
        "undoable": _undoable(job),
        "records_import": job.kind in KINDS,
    }
    available = targets(job.kind, custom_field_defs(actor, job.kind)) if job.kind in KINDS else {}
    context["constants"] = [
        (available[key].label if key in available else key, value)
        for key, value in (job.constants or {}).items()
    ]
    if not running:
        # "row": the whole row (or card) was rejected, not one field of it.
        labels = {"row": f"(the whole {job.unit})"} | {
            key: target.label for key, target in available.items()
        }
        rejected = _issue_page(request, job, ImportIssue.Type.REJECTED, "rejected")
        for issue in rejected:
            issue.field_label = labels.get(issue.field, issue.field)
        context.update(
            rejected=rejected,
            duplicates=_issue_page(request, job, ImportIssue.Type.DUPLICATE, "duplicates"),
            possible=_issue_page(request, job, ImportIssue.Type.POSSIBLE_DUPLICATE, "possible"),
            mapping=[(column, labels.get(key, key)) for column, key in job.mapping.items()],
            written=imports.written_records(job, limit=WRITTEN_SHOWN),
            written_shown=WRITTEN_SHOWN,
            undo=job.undo_report or None,
        )
    return context


@member_page
def import_detail_page(request: HttpRequest, actor, import_id: int) -> HttpResponse:
    """A running import's progress; a finished one's report (a dry run's is the preview)."""
    job = _job(actor, import_id)
    return render(
        request,
        "web/imports/job.html",
        page_context(request, actor, **_job_context(request, actor, job)),
    )


@member_page
def import_status_fragment(request: HttpRequest, actor, import_id: int) -> HttpResponse:
    """What the job page polls: the same body, which stops polling once the import is over."""
    job = _job(actor, import_id)
    return render(
        request,
        "web/imports/job.html#job_body",
        page_context(request, actor, **_job_context(request, actor, job)),
    )


@member_page
@require_POST
def import_run_page(request: HttpRequest, actor, import_id: int) -> HttpResponse:
    """Run a dry run for real: the same file, mapping and options; once, however often the
    button is pressed."""

    def refused(error: DomainError) -> HttpResponse:
        if isinstance(error, ValidationFailed):
            messages.error(request, "The import cannot run: " + " ".join(_problem_messages(error)))
        else:
            messages.error(request, str(error))
        return redirect("web:import-detail", import_id=_job(actor, import_id).pk)

    on_refusal(request, refused)
    job, created = imports.import_run_dry_run(actor=actor, import_id=import_id)
    return redirect("web:import-detail", import_id=job.pk)


@member_page
def import_rejected_csv(request: HttpRequest, actor, import_id: int) -> HttpResponse:
    """The rejected rows as the file had them, with row and reason in front (the API's CSV)."""
    job = _job(actor, import_id)
    lines = imports.rejected_rows_csv(job)
    try:
        # Read the header now, so a missing file is a 404 rather than a broken download.
        first = next(lines)
    except (UnreadableFile, OSError, ValueError):
        raise Http404("The file of this import can no longer be read.") from None
    response = StreamingHttpResponse(
        itertools.chain([first], lines), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


@member_page
def import_undo_page(request: HttpRequest, actor, import_id: int) -> HttpResponse:
    """Say what undo will do, then do it on POST."""
    job = _job(actor, import_id)
    if request.method == "POST":

        def refused(error: DomainError) -> HttpResponse:
            messages.error(request, " ".join(_problem_messages(error)))
            return redirect("web:import-detail", import_id=job.pk)

        on_refusal(request, refused)
        job = imports.import_undo(actor=actor, import_id=job.pk)
        report = job.undo_report
        text = (
            f"Import undone: {report['removed']} {KINDS[job.kind].plural} removed "
            f"(restorable for 30 days), {report['restored']} given their previous values back"
        )
        if report.get("companies_removed"):
            text += f", {report['companies_removed']} companies removed"
        kept = report.get("kept_changed_since") or []
        if kept:
            text += f"; {len(kept)} kept as they are because they were edited since the import"
        messages.success(request, text + ".")
        return redirect("web:import-detail", import_id=job.pk)
    undoable = _undoable(job)
    return render(
        request,
        "web/imports/undo.html",
        page_context(
            request,
            actor,
            job=job,
            kind=_kind_of_job(job),
            undoable=undoable,
            status_text=STATUS_TEXT.get(job.status, job.status),
        ),
        status=200 if undoable else 409,
    )


class HistoryUploadForm(forms.Form):
    file = forms.FileField(
        label="File (CSV or XLSX)",
        error_messages={
            "required": "Choose a CSV or XLSX file of stage changes to import.",
            "empty": "The file is empty: it needs a row of column names and rows of data.",
            "invalid": "No file was received: choose the file again.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )
    dry_run = forms.BooleanField(
        label="Dry run: check every row and report, write nothing", required=False, initial=True
    )

    def clean_file(self):
        return UploadForm.clean_file(self)


HISTORY_KIND = "stage-history"


@member_page
def import_history_page(request: HttpRequest, actor) -> HttpResponse:
    """Upload a stage history from another CRM (admins only: it rewrites opportunities'
    past). No mapping step: the columns are found by their names."""
    imports.import_authorise(actor=actor, kind=HISTORY_KIND)
    bound = request.method == "POST"
    form = HistoryUploadForm(request.POST, request.FILES) if bound else HistoryUploadForm()
    if bound and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            started = imports.import_start(
                actor=actor,
                kind=HISTORY_KIND,
                file=upload,
                file_name=upload.name or "history.csv",
                dry_run=form.cleaned_data["dry_run"],
            )
        except ValidationFailed as error:
            form.add_error("file", " ".join(_problem_messages(error)))
        else:
            return redirect("web:import-detail", import_id=started.job.pk)
    return render(
        request,
        "web/imports/history.html",
        page_context(request, actor, form=form, limit_mib=_upload_limit() // (1024 * 1024)),
        status=400 if bound else 200,
    )


urlpatterns = [
    path("imports/", import_list_page, name="imports"),
    path("imports/new/", import_upload_page, name="import-new"),
    path("imports/new/stage-history/", import_history_page, name="import-new-history"),
    path("imports/new/<str:token>/", import_upload_mapping_page, name="import-upload-mapping"),
    path("imports/<int:import_id>/", import_detail_page, name="import-detail"),
    path("imports/<int:import_id>/status/", import_status_fragment, name="import-status"),
    path("imports/<int:import_id>/mapping/", import_mapping_page, name="import-mapping"),
    path("imports/<int:import_id>/run/", import_run_page, name="import-run"),
    path("imports/<int:import_id>/rejected.csv", import_rejected_csv, name="import-rejected"),
    path("imports/<int:import_id>/undo/", import_undo_page, name="import-undo"),
]
