"""Every write an import makes: create the job, run it (inline or in the worker), undo it."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import itertools
import os
import secrets
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from salesline.accounts.services import actor_for, system_actor
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.customfields import CustomFieldDef
from salesline.core.errors import Conflict, NotFound, Problem, ValidationFailed
from salesline.core.spreadsheets import neutralise
from salesline.core.tasks import enqueue_on_commit
from salesline.process.definition import Choice, ProcessDefinitionSpec
from salesline.process.selectors import definition_for
from salesline.records import campaign_selectors
from salesline.records.fields import KINDS, FieldDef
from salesline.records.models import Company, ImportChange, ImportIssue, ImportJob, ImportMapping
from salesline.records.normalise import valid_region
from salesline.records.services import custom_field_defs, refresh_derived

from . import mapping as mapping_rules
from .engine import ImportRun, Progress, members_of
from .files import Table, open_table
from .kinds import ImportKind, column_positions, other_kind, other_kinds
from .limits import ReadLimits
from .reader import UnreadableFile
from .rows import CAMPAIGN_CONSTANT, SPECIAL, ColumnRule, RowPlan, constant_problems

# The kinds a file can hold, by the names the CLI and API use.
IMPORT_KINDS = {"leads": "lead", "people": "person", "companies": "company"}
TEXT_TYPES = {"text", "longtext", "choice"}


def import_kind(name: str) -> str:
    """'leads' or 'lead' -> 'lead' (and a registered kind's names -> its kind, e.g.
    'stage-history'); ValidationFailed otherwise."""
    kind = IMPORT_KINDS.get(name) or (name if name in IMPORT_KINDS.values() else None)
    if kind is None and (registered := other_kind(name)) is not None:
        kind = registered.kind
    if kind is None:
        names = [*IMPORT_KINDS, *(k.plural for k in other_kinds())]
        raise ValidationFailed(
            f"Cannot import '{name}'.",
            problems=[Problem(loc=("kind",), msg=f"Kind must be one of: {', '.join(names)}.")],
        )
    return kind


def import_authorise(*, actor: Actor, kind: str) -> None:
    """PermissionDenied when `actor` may not run imports of `kind` (a registered kind's own
    rule; record imports are open to every member), for pages that ask before the upload."""
    registered = other_kind(import_kind(kind))
    if registered is not None:
        registered.authorise(actor)


def kind_plural(kind: str) -> str:
    """What the report calls a job's kind: 'leads', 'stage-history'."""
    registered = other_kind(kind)
    return registered.plural if registered is not None else KINDS[kind].plural


def read_limits() -> ReadLimits:
    """How much of a file any import reads (rows, columns, cells, characters, inflated bytes):
    the defaults of `ReadLimits`, with `SALESLINE_IMPORT_LIMITS` (a dict) over them."""
    return ReadLimits.of(getattr(settings, "SALESLINE_IMPORT_LIMITS", None))


def open_spreadsheet(path: Path | str) -> Table:
    """The file as a table (a spreadsheet, read within `read_limits()`, or a vCard file);
    UnreadableFile otherwise."""
    return open_table(path, read_limits())


NO_DATA = "it has column names but no rows of data"


def _saved_mapping(actor: Actor, kind: str, header: list[str]) -> dict[str, str] | None:
    saved = ImportMapping.objects.filter(
        organisation=actor.organisation,
        kind=kind,
        signature=mapping_rules.shape_signature(kind, header),
    ).first()
    return saved.mapping if saved else None


def mapping_for(
    actor: Actor, kind: str, header: list[str], explicit: Mapping[str, Any] | None
) -> dict[str, str]:
    """The mapping to use for a file, or ValidationFailed naming each problem."""
    mapping, problems = mapping_rules.resolve(
        kind,
        header,
        custom_field_defs(actor, kind),
        explicit,
        saved=_saved_mapping(actor, kind, header),
    )
    if problems:
        raise ValidationFailed("The column mapping cannot be used.", problems=problems)
    return mapping


def _choices(
    definition: ProcessDefinitionSpec, kind: str, field: FieldDef | None
) -> tuple[Choice, ...]:
    """The values a column of `field` may hold: its choice list in the definition, else the
    built-in field's fixed values; none for free text."""
    if field is None:
        return ()
    declared = definition.field_choices(kind, field.name)
    return declared or tuple(Choice(value, value) for value in field.choices)


def _rule(
    definition: ProcessDefinitionSpec,
    kind: str,
    custom: Mapping[str, CustomFieldDef],
    available: Mapping[str, mapping_rules.Target],
    target: str,
    index: int,
    *,
    note: str | None = None,
) -> ColumnRule | None:
    """How the values of `target` are cleaned (a column's at `index`, or a constant's), or None
    for a reference field, which a file names through "owner" / "company"."""
    label = available[target].label if target in available else target
    if target.startswith(mapping_rules.CUSTOM_PREFIX):
        return ColumnRule(index, target, label, "custom", custom=custom[target[3:]])
    field = KINDS[kind].fields.get(target)
    how = SPECIAL.get(target, "text")
    if field is not None and field.type not in TEXT_TYPES and how == "text":
        return None
    return ColumnRule(
        index,
        target,
        label,
        how,
        max_length=field.max_length if field else None,
        choices=_choices(definition, kind, field),
        multiline=field is not None and field.type == "longtext",
        rank=0,
        note=mapping_rules.EXTRA_LABELS.get(target, label) if note is None else note,
    )


@dataclass(frozen=True)
class Requirement:
    """A field every row of a kind needs (the process definition's minimum fields, and the
    name), by target: `satisfied_by` are the targets that give it."""

    target: str
    label: str
    satisfied_by: frozenset[str]


def import_requirements(actor: Actor, kind: str) -> list[Requirement]:
    """The fields each imported row of `kind` must have, name first."""
    kind_def = KINDS[kind]
    custom = {c.key: c for c in custom_field_defs(actor, kind)}
    required = definition_for(actor.organisation).minimum_fields.get(kind, ())
    out = [Requirement("name", kind_def.fields["name"].label, NAME_TARGETS)]
    for name in required:
        if name == "name":
            continue
        if name in ("company_id", "owner_id"):  # given by name / e-mail in a file
            target = mapping_rules.COMPANY if name == "company_id" else mapping_rules.OWNER
            out.append(Requirement(target, kind_def.fields[name].label, frozenset({target})))
        elif name in kind_def.fields:
            out.append(Requirement(name, kind_def.fields[name].label, frozenset({name})))
        elif name in custom:
            target = mapping_rules.CUSTOM_PREFIX + name
            out.append(Requirement(target, custom[name].label, frozenset({target})))
    return out


NAME_TARGETS = frozenset({"name", *mapping_rules.NAME_PARTS})


def missing_requirements(
    requirements: list[Requirement], mapping: Mapping[str, Any], constants: Mapping[str, Any]
) -> list[Requirement]:
    """The requirements that no mapped column and no constant gives."""
    given = {target for target in mapping.values() if target} | set(constants)
    return [r for r in requirements if not r.satisfied_by & given]


def build_plan(actor: Actor, job: ImportJob, header: list[str]) -> RowPlan:
    definition = definition_for(actor.organisation)
    custom = {c.key: c for c in custom_field_defs(actor, job.kind, definition)}
    available = mapping_rules.targets(job.kind, list(custom.values()))
    rules = []
    # A column of free text mapped to the details is written as it is when it is the only one.
    free_text = sum(
        1
        for column in header
        if job.mapping.get(column) == "details"
        and mapping_rules.detail_label(column) == column.strip()
    )
    for index, column in enumerate(header):
        target = job.mapping.get(column)
        if not target:
            continue
        note = (
            mapping_rules.detail_label(column, alone=free_text == 1)
            if SPECIAL.get(target) == "details"
            else None
        )
        rule = _rule(definition, job.kind, custom, available, target, index, note=note)
        if rule is not None:
            if target in ("email", "phone"):
                rule = dataclasses.replace(rule, rank=mapping_rules.preference(column))
            rules.append(rule)
    constants = []
    for target, value in (job.constants or {}).items():
        rule = _rule(definition, job.kind, custom, available, target, -1, note="")
        if rule is not None:
            constants.append((rule, value))
    minimum = [(r.target, r.label) for r in import_requirements(actor, job.kind)]
    required = set(definition.minimum_fields.get(job.kind, ()))
    if "name" not in required:  # the name is always checked by the mapping, not per row
        minimum = [m for m in minimum if m[0] != "name"]
    return RowPlan(
        kind=job.kind,
        region=job.region or None,
        rules=tuple(rules),
        minimum=tuple(minimum),
        members=frozenset(members_of(job.organisation_id)),
        keeps_extras="details" in KINDS[job.kind].fields,
        constants=tuple(constants),
    )


# Fields a constant cannot give: they tell the rows apart (one value would make every row a
# duplicate of the first), or are not one field (a web address goes to one of two).
NOT_CONSTANT = frozenset({*NAME_TARGETS, "email", mapping_rules.WEB})


def _constant_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value).strip()
    return None


def constants_for(
    actor: Actor, kind: str, mapping: Mapping[str, Any], constants: Mapping[str, Any] | None
) -> tuple[dict[str, str], list[Problem]]:
    """The constants to store ({target: text}) and the problems of those given: an unknown
    field, one that cannot take one value for every row, no value, or a field a column is
    mapped to as well (the column's and the constant's values would compete)."""
    if not constants:
        return {}, []
    if not isinstance(constants, Mapping):
        return {}, [
            Problem(
                loc=("constants",),
                msg='Constants must be a JSON object: {"field": "one value for every row"}.',
            )
        ]
    available = mapping_rules.targets(kind, custom_field_defs(actor, kind))
    mapped = {target: column for column, target in mapping.items() if target}
    out: dict[str, str] = {}
    problems: list[Problem] = []
    if "campaign_id" in KINDS[kind].fields:
        constants = dict(constants)
        campaign, campaign_problems = _campaign_constant(actor, constants)
        problems += campaign_problems
        if campaign is not None:
            out[CAMPAIGN_CONSTANT] = str(campaign.pk)
    for name, value in constants.items():
        key = str(name).removeprefix("custom_fields.")
        key = mapping_rules.CUSTOM_PREFIX + key if f"cf_{key}" in available else key
        if key not in available:
            problems.append(
                Problem(
                    loc=("constants", name),
                    msg=f"'{name}' is not a field of {KINDS[kind].plural} (fields: "
                    f"{', '.join(sorted(set(available) - NOT_CONSTANT))}).",
                )
            )
            continue
        label = available[key].label
        if key in NOT_CONSTANT:
            problems.append(
                Problem(
                    loc=("constants", name),
                    msg=f"{label} cannot be given one value for every row: it tells the rows "
                    "apart. Map a column to it.",
                )
            )
            continue
        text = _constant_text(value)
        if text is None:
            problems.append(
                Problem(loc=("constants", name), msg=f"The value for {label} must be text.")
            )
        elif not text:
            problems.append(
                Problem(
                    loc=("constants", name),
                    msg=f"Give a value for {label} (one for every row), or leave it out.",
                    type="missing",
                )
            )
        elif key in mapped:
            problems.append(
                Problem(
                    loc=("constants", name),
                    msg=f"{label} is both mapped to a column ('{mapped[key]}') and given one "
                    "value for every row; choose one of them.",
                )
            )
        else:
            out[key] = text
    return out, problems


def constant_only_targets(kind: str) -> list[mapping_rules.Target]:
    """Fields a constant can give that no column maps to: a lead file's campaign, by name."""
    kind = IMPORT_KINDS.get(kind, kind)
    if "campaign_id" not in KINDS[kind].fields:
        return []
    return [mapping_rules.Target("campaign", "Campaign (its name)")]


def _campaign_constant(actor: Actor, constants: dict[str, Any]) -> tuple[Any, list[Problem]]:
    """The live campaign a file's rows are credited to, given as `campaign` or `campaign_id`
    (its id or its name, ignoring case), taken out of `constants`; or the problem with it."""
    given = [name for name in ("campaign", "campaign_id") if name in constants]
    if not given:
        return None, []
    values = [constants.pop(name) for name in given]
    if len(given) > 1:
        return None, [
            Problem(
                loc=("constants", given[1]), msg="Give the campaign once: campaign or campaign_id."
            )
        ]
    text = _constant_text(values[0])
    if not text:
        return None, [
            Problem(
                loc=("constants", given[0]),
                msg="Give the campaign by its name or id, or leave it out.",
                type="missing" if text == "" else "invalid",
            )
        ]
    found = campaign_selectors.campaign_find(actor=actor, reference=text)
    if found is None:
        known = [name for _, name in campaign_selectors.campaign_choices(actor=actor)[:10]]
        listing = f" (campaigns: {', '.join(known)})" if known else " (there are none yet)"
        return None, [
            Problem(
                loc=("constants", given[0]),
                msg=f"No campaign '{text}' in this organisation{listing}.",
            )
        ]
    return found, []


def mapping_and_constants(
    actor: Actor,
    kind: str,
    header: list[str],
    mapping: Mapping[str, Any] | None,
    constants: Mapping[str, Any] | None,
    *,
    region: str = "",
) -> tuple[dict[str, str], dict[str, str]]:
    """The mapping and the constants to use for a file, or ValidationFailed naming every
    problem of both."""
    problems: list[Problem] = []
    try:
        chosen = mapping_for(actor, kind, header, mapping)
    except ValidationFailed as error:
        problems += error.problems
        chosen = {}
    fixed, wrong = constants_for(actor, kind, chosen, constants)
    problems += wrong
    if fixed and not problems:
        # Each value is cleaned as a cell of its field: a value no row could take is refused
        # now rather than rejecting every row.
        probe = ImportJob(
            organisation=actor.organisation, kind=kind, mapping={}, constants=fixed, region=region
        )
        for target, reason in constant_problems(build_plan(actor, probe, [])):
            problems.append(Problem(loc=("constants", target), msg=reason + "."))
    if problems:
        raise ValidationFailed(
            "The column mapping or the constants cannot be used."
            if constants
            else "The column mapping cannot be used.",
            problems=problems,
        )
    return chosen, fixed


def _problem(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(msg, problems=[Problem(loc=(field,), msg=msg)])


def import_create(
    *,
    actor: Actor,
    kind: str,
    file: IO[bytes] | Path,
    file_name: str,
    mapping: Mapping[str, Any] | None = None,
    region: str | None = None,
    on_duplicate: str | None = None,
    dry_run: bool = False,
    constants: Mapping[str, Any] | None = None,
) -> ImportJob:
    """Store the file and a queued job after checking everything that can be checked up front:
    the kind, the options, that the file can be read, the column mapping and the constants
    (one value for every row of a field, checked as a cell of that field would be)."""
    kind = import_kind(kind)
    registered = other_kind(kind)
    if registered is not None:
        columns = _check_other_kind(
            actor, registered, bool(mapping or constants or on_duplicate not in (None, "skip"))
        )
        region = ""  # no phone numbers
    else:
        # No region chosen: the organisation's, as for every other write of a phone number.
        region = (region or actor.organisation.phone_region or "").strip().upper()
    if region and not valid_region(region):
        raise _problem("region", f"Region '{region}' is not a country code such as GB or NO.")
    on_duplicate = on_duplicate or ImportJob.OnDuplicate.SKIP
    if on_duplicate not in ImportJob.OnDuplicate.values:
        raise _problem(
            "on_duplicate",
            f"On duplicate must be one of: {', '.join(ImportJob.OnDuplicate.values)}.",
        )
    job = ImportJob(
        organisation=actor.organisation,
        created_by=actor.user,
        kind=kind,
        file_name=Path(file_name).name[:255] or "import.csv",
        region=region,
        on_duplicate=on_duplicate,
        dry_run=dry_run,
    )
    with local_copy(file) as path:
        try:
            sheet = open_spreadsheet(path)
            if registered is not None and sheet.kind == "vcard":
                raise UnreadableFile(f"a vCard file holds people, not {registered.label.lower()}")
            if next(sheet.rows(), None) is None:
                raise UnreadableFile(NO_DATA)
            total_rows = sheet.estimated_rows()
        except UnreadableFile as exc:
            raise _problem("file", f"The file cannot be imported: {exc}.") from None
        if registered is not None:
            job.mapping = _other_kind_mapping(registered, columns, sheet.header)
        else:
            job.mapping, job.constants = mapping_and_constants(
                actor, kind, sheet.header, mapping, constants, region=region
            )
        job.total_rows = total_rows
        job.file_kind = sheet.kind
        with transaction.atomic(), open(path, "rb") as stream:
            job.file.save(job.file_name, File(stream), save=False)
            job.save()
            audit.record(
                actor=actor,
                action="import_create",
                obj=job,
                changes={
                    "kind": [None, kind_plural(kind) if registered else kind],
                    "file": [None, job.file_name],
                    "dry_run": [None, dry_run],
                    "on_duplicate": [None, on_duplicate],
                    **({"constants": [None, job.constants]} if job.constants else {}),
                },
            )
    return job


def _check_other_kind(actor: Actor, registered: ImportKind, given_options: bool) -> str:
    """A registered kind's own permission; it takes no mapping, constants or duplicate policy
    (its columns are found by their names). Returns its columns, for messages."""
    registered.authorise(actor)
    columns = ", ".join((*registered.required_columns, *registered.optional_columns))
    if given_options:
        raise _problem(
            "mapping",
            f"A {registered.plural} import takes no mapping, constants or duplicate policy: "
            f"its columns are {columns}.",
        )
    return columns


def _other_kind_mapping(registered: ImportKind, columns: str, header: list[str]) -> dict:
    """The header's columns that a registered kind reads (ValidationFailed naming the
    missing ones)."""
    positions, missing = column_positions(registered, header)
    if missing:
        raise _problem(
            "file",
            f"The file lacks the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (columns: {columns}).",
        )
    return {header[index]: name for name, index in positions.items()}


# Uploads the web pages keep between the upload and the mapping step (see web/views/imports.py).
STAGED_DIR = "imports/staged"
STAGED_MAX_AGE = dt.timedelta(days=1)
PREVIEW_ROWS = 5
# A preview shows the start of a long cell (the import reads it whole, up to the cell limit).
PREVIEW_CELL_CHARS = 200


def preview_text(text: str, limit: int = PREVIEW_CELL_CHARS) -> str:
    """`text`, or its start with a marker saying how long it is."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def staged_uploads_purge(*, older_than: dt.timedelta = STAGED_MAX_AGE) -> int:
    """Delete uploads staged for the mapping step and never used (left more than `older_than`
    ago); returns how many. Run on every upload and by `salesline purge`."""
    try:
        _, names = default_storage.listdir(STAGED_DIR)
    except OSError:  # nothing staged yet
        return 0
    cutoff = timezone.now() - older_than
    removed = 0
    for name in names:
        path = f"{STAGED_DIR}/{name}"
        try:
            if default_storage.get_modified_time(path) < cutoff:
                default_storage.delete(path)
                removed += 1
        except OSError:  # gone meanwhile
            continue
    return removed


@dataclass(frozen=True)
class ImportPreview:
    """What a file would import as: its columns, the first rows (row number, cells; the header
    is row 1), the estimated row count, the targets a column can map to, and the mapping that
    would be used — or, when none can be, `mapping_error` naming each problem. `file_kind` is
    csv, xlsx or vcard (whose rows are cards); `notes` say how the file was read (rows read in
    a legacy encoding)."""

    kind: str
    columns: list[str]
    sample: list[tuple[int, list[str]]]
    estimated_rows: int
    targets: list[mapping_rules.Target]
    mapping: dict[str, str] | None
    mapping_error: ValidationFailed | None
    file_kind: str = "csv"
    notes: tuple[str, ...] = ()

    @property
    def unit(self) -> str:
        return "card" if self.file_kind == "vcard" else "row"


def import_preview(
    *,
    actor: Actor,
    kind: str,
    file: IO[bytes] | Path,
    mapping: Mapping[str, Any] | None = None,
    sample_rows: int = PREVIEW_ROWS,
) -> ImportPreview:
    """Read a file's columns and first rows, and resolve the mapping an import of it would use
    (the explicit one, else a saved one, else the guesses). Writes nothing. A file that cannot
    be read, or holds no rows, is ValidationFailed on `file`; a mapping that cannot be used is
    `mapping_error`. Sample cells longer than PREVIEW_CELL_CHARS are cut, with a marker."""
    kind = import_kind(kind)
    with local_copy(file) as path:
        try:
            sheet = open_spreadsheet(path)
            sample = [
                (number, [preview_text(cell) for cell in cells])
                for number, cells in itertools.islice(sheet.rows(), sample_rows)
            ]
            if not sample:
                raise UnreadableFile(NO_DATA)
            estimated = sheet.estimated_rows()
            notes = tuple(sheet.notes())
        except ValueError as exc:  # UnreadableFile, or bytes that do not decode (a UTF-16 BOM)
            reason = exc if isinstance(exc, UnreadableFile) else f"the file cannot be read: {exc}"
            raise ValidationFailed(
                "The file cannot be imported.",
                problems=[Problem(loc=("file",), msg=f"The file cannot be imported: {reason}.")],
            ) from None
    columns = sheet.header
    try:
        chosen, error = mapping_for(actor, kind, columns, mapping), None
    except ValidationFailed as exc:
        chosen, error = None, exc
    available = mapping_rules.targets(kind, custom_field_defs(actor, kind))
    return ImportPreview(
        kind=kind,
        columns=columns,
        sample=sample,
        estimated_rows=estimated,
        targets=list(available.values()),
        mapping=chosen,
        mapping_error=error,
        file_kind=sheet.kind,
        notes=notes,
    )


@dataclass(frozen=True)
class StagedUpload:
    """An upload kept for the mapping step: `name` in the storage, `token` naming it to the
    uploader (a random part of the name), and its preview."""

    token: str
    name: str
    file_name: str
    preview: ImportPreview

    @property
    def path(self) -> Path:
        return staged_upload_path(self.name)


def import_stage(*, actor: Actor, kind: str, file: IO[bytes], file_name: str) -> StagedUpload:
    """Keep an upload for the mapping step (a browser cannot send the file twice) after
    checking that it can be read; an unreadable file is not kept (ValidationFailed on `file`).
    Abandoned uploads are cleared first (see `staged_uploads_purge`)."""
    kind = import_kind(kind)
    staged_uploads_purge()
    token = secrets.token_urlsafe(18)
    name = default_storage.save(f"{STAGED_DIR}/{token}", file)
    try:
        preview = import_preview(actor=actor, kind=kind, file=staged_upload_path(name))
    except (ValidationFailed, OSError):
        staged_upload_discard(name=name)
        raise
    return StagedUpload(
        token=token,
        name=name,
        file_name=Path(file_name or "import.csv").name,
        preview=preview,
    )


def staged_upload_path(name: str) -> Path:
    """The file of a staged upload (`StagedUpload.name`)."""
    return Path(default_storage.path(name))


def staged_upload_discard(*, name: str) -> None:
    """Delete a staged upload (used, or evicted by a newer one); gone already is fine."""
    with contextlib.suppress(OSError):
        default_storage.delete(name)


@dataclass(frozen=True)
class StartedImport:
    """A new import and how it runs: `ran_inline` (finished while the caller waited; `job` is
    its result) or queued for the worker."""

    job: ImportJob
    ran_inline: bool


def runs_inline(job: ImportJob) -> bool:
    """Small files are imported while the request waits; the rest go to the worker."""
    return (job.total_rows or 0) <= getattr(settings, "SALESLINE_IMPORT_INLINE_ROWS", 1_000)


def _start(
    actor: Actor,
    job: ImportJob,
    *,
    inline: bool | None = None,
    progress: Progress | None = None,
) -> StartedImport:
    """The one rule for where an import runs: up to SALESLINE_IMPORT_INLINE_ROWS (estimated)
    rows at once, larger files in the worker, queued when the caller's transaction commits.
    `inline=True` runs any size at once (the CLI, which shows `progress`)."""
    workers = None  # the configured processes
    if inline is None:
        inline, workers = runs_inline(job), 1
    if inline:
        job = import_execute(actor=actor, import_id=job.pk, progress=progress, workers=workers)
        return StartedImport(job, True)
    from salesline.records.tasks import import_run  # the task module imports this one

    enqueue_on_commit(import_run, job.pk, organisation=job.organisation_id)
    return StartedImport(job, False)


def import_start(
    *,
    actor: Actor,
    kind: str,
    file: IO[bytes] | Path,
    file_name: str,
    mapping: Mapping[str, Any] | None = None,
    region: str | None = None,
    on_duplicate: str | None = None,
    dry_run: bool = False,
    constants: Mapping[str, Any] | None = None,
    inline: bool | None = None,
    progress: Progress | None = None,
) -> StartedImport:
    """Create an import (`import_create`: everything checked up front) and start it: small
    files run at once with one process, larger ones in the background worker (`runs_inline`).
    `inline=True` runs it at once whatever its size, with the configured processes and
    `progress` called after each chunk (the CLI)."""
    job = import_create(
        actor=actor,
        kind=kind,
        file=file,
        file_name=file_name,
        mapping=mapping,
        region=region,
        on_duplicate=on_duplicate,
        dry_run=dry_run,
        constants=constants,
    )
    return _start(actor, job, inline=inline, progress=progress)


def import_run_dry_run(*, actor: Actor, import_id: Any) -> tuple[ImportJob, bool]:
    """Run a dry run for real: the same file, mapping, constants and options, started as
    `import_start` starts an import. Once only: a second request (a double click, two tabs)
    gets the import the first one created. Returns (the import, whether this call created it)."""
    with transaction.atomic():
        dry_run = import_get_for(actor=actor, import_id=import_id)
        # The row lock makes concurrent requests for the same dry run take turns.
        dry_run = ImportJob.objects.select_for_update().get(pk=dry_run.pk)
        if not dry_run.dry_run:
            raise Conflict(f"Import {dry_run.pk} is not a dry run: it has run already.")
        if dry_run.ran_as_id is not None:
            return ImportJob.objects.get(pk=dry_run.ran_as_id), False
        path = Path(dry_run.file.path)
        try:
            columns = open_spreadsheet(path).header
        except (UnreadableFile, OSError) as exc:
            raise _problem(
                "file", f"The file of this dry run can no longer be read: {exc}."
            ) from None
        # Every column is named, so a column the user ignored is not guessed again.
        job = import_create(
            actor=actor,
            kind=dry_run.kind,
            file=path,
            file_name=dry_run.file_name,
            mapping=None
            if other_kind(dry_run.kind)
            else {column: dry_run.mapping.get(column) for column in columns},
            region=dry_run.region or None,
            on_duplicate=dry_run.on_duplicate,
            dry_run=False,
            constants=dry_run.constants,
        )
        dry_run.ran_as = job
        dry_run.save(update_fields=["ran_as"])
    return _start(actor, job).job, True


class local_copy:
    """A path for an uploaded stream (spooled to a temporary file) or the path itself."""

    def __init__(self, file: IO[bytes] | Path):
        self.file = file
        self.temporary: str | None = None

    def __enter__(self) -> Path:
        if isinstance(self.file, str | Path):
            return Path(self.file)
        fd, self.temporary = tempfile.mkstemp(prefix="salesline-import-")
        with os.fdopen(fd, "wb") as out:
            for block in iter(lambda: self.file.read(1 << 20), b""):
                out.write(block)
        return Path(self.temporary)

    def __exit__(self, *exc) -> None:
        if self.temporary:
            os.unlink(self.temporary)


def job_actor(job: ImportJob) -> Actor:
    """Who an import's rows are written as: the member who started it, or (gone since) the
    system on the organisation's behalf."""
    try:
        return actor_for(job.created_by, job.organisation)
    except (NotFound, AttributeError):
        return system_actor(job.organisation, label="import")


def import_execute(
    *,
    actor: Actor,
    import_id: Any,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportJob:
    """Run (or resume) an import of the actor's organisation to the end. `actor` is who runs
    it (the member waiting for it, the worker's system actor); the rows are written as the
    member who started the import (`job_actor`), as if they had entered them. A file or
    mapping that turns out unusable fails the job with its reason; a crash leaves it
    resumable at the last committed chunk."""
    with transaction.atomic():
        job = import_get_for(actor=actor, import_id=import_id)
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            return job
        job.status = ImportJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    writer = job_actor(job)
    registered = other_kind(job.kind)
    try:
        sheet = open_spreadsheet(job.file.path)
        if registered is not None:
            timings = registered.run(job, writer, sheet, progress)
            job.refresh_from_db()
        else:
            plan = build_plan(writer, job, sheet.header)
            run = ImportRun(job, writer, plan, progress=progress, workers=workers)
            job = run.run(sheet)
            timings = run.timings
    except (UnreadableFile, KeyError, OSError) as exc:
        import_fail(actor=actor, import_id=job.pk, reason=str(exc))
        job.refresh_from_db()
        return job
    if registered is None and not job.dry_run and connection.vendor == "postgresql":
        from salesline.records.tasks import word_index_merge  # the task module imports this one

        for table in sorted(run.tables):  # the tables it wrote
            enqueue_on_commit(word_index_merge, table)
    with transaction.atomic():
        job.status = ImportJob.Status.DONE
        job.total_rows = job.rows_done
        job.finished_at = timezone.now()
        job.notes = sheet.notes()
        job.save(update_fields=["status", "total_rows", "finished_at", "notes"])
        if registered is None and not job.dry_run:
            ImportMapping.objects.update_or_create(
                organisation=job.organisation,
                kind=job.kind,
                signature=mapping_rules.shape_signature(job.kind, sheet.header),
                defaults={
                    "headers": sheet.header,
                    "mapping": job.mapping,
                    "updated_at": timezone.now(),
                },
            )
        audit.record(
            actor=writer,
            action="import_dry_run" if job.dry_run else "import",
            obj=job,
            changes={k: [None, v] for k, v in counts(job).items()},
        )
        events.emit(
            actor=writer,
            kind="import_finished",
            obj=job,
            payload={"status": job.status, "kind": job.kind, "dry_run": job.dry_run, **counts(job)},
        )
    job.timings = timings
    return job


def import_fail(*, actor: Actor, import_id: Any, reason: str) -> ImportJob | None:
    """Mark an import that cannot finish as failed, with the reason (audited); its committed
    chunks stay (undo removes them). An import that is over already is left as it is; returns
    the import when this call failed it, else None."""
    with transaction.atomic():
        job = import_get_for(actor=actor, import_id=import_id)
        job = (
            ImportJob.objects.select_for_update()
            .filter(pk=job.pk, status__in=[ImportJob.Status.QUEUED, ImportJob.Status.RUNNING])
            .first()
        )
        if job is None:
            return None
        status = job.status
        job.status = ImportJob.Status.FAILED
        job.error = reason[:2000]
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "error", "finished_at"])
        audit.record(
            actor=actor,
            action="import_fail",
            obj=job,
            changes={"status": [status, job.status], "error": [None, job.error]},
        )
        events.emit(
            actor=actor,
            kind="import_finished",
            obj=job,
            payload={"status": job.status, "kind": job.kind, "dry_run": job.dry_run, **counts(job)},
        )
    return job


def counts(job: ImportJob) -> dict[str, int]:
    return {
        "created": job.created,
        "updated": job.updated,
        "duplicates": job.duplicates,
        "rejected": job.rejected,
        "possible_duplicates": job.possible_duplicates,
        "companies_created": job.companies_created,
    }


def import_get_for(*, actor: Actor, import_id: Any) -> ImportJob:
    try:
        pk = int(import_id)
    except (TypeError, ValueError):
        raise NotFound(f"No import with id {import_id}.") from None
    job = ImportJob.objects.filter(organisation=actor.organisation, pk=pk).first()
    if job is None:
        raise NotFound(f"No import with id {import_id}.")
    return job


def import_list(*, actor: Actor, limit: int = 50, offset: int = 0) -> list[ImportJob]:
    """A page of the organisation's imports, newest first, with who started each loaded in the
    same query (the pages show it)."""
    return list(
        ImportJob.objects.filter(organisation=actor.organisation)
        .select_related("created_by")
        .order_by("-created_at", "-id")[offset : offset + limit]
    )


def import_issues(job: ImportJob, type_: str):
    """One type of a job's report rows in row order, as a query a page can paginate."""
    return ImportIssue.objects.filter(job=job, type=type_).order_by("row", "id")


def saved_mapping_for(actor: Actor, kind: str, header: list[str]) -> dict[str, str] | None:
    """The mapping saved by an earlier import of a file with these headers, if any."""
    return _saved_mapping(actor, kind, header)


def progress_of(job: ImportJob) -> dict[str, Any]:
    total = job.total_rows or 0
    done = min(job.rows_done, total) if total else job.rows_done
    rate = None
    eta = None
    if job.started_at and job.rows_done:
        end = job.finished_at or timezone.now()
        seconds = max((end - job.started_at).total_seconds(), 1e-3)
        rate = round(job.rows_done / seconds, 1)
        if job.status == ImportJob.Status.RUNNING and total:
            eta = round(max(total - job.rows_done, 0) / rate, 1) if rate else None
    return {
        "rows_done": done,
        "rows_total": total,
        "percent": round(100 * done / total, 1) if total else (100.0 if job.finished_at else 0.0),
        "rows_per_second": rate,
        "eta_seconds": eta,
    }


def issues_of(job: ImportJob, type_: str, limit: int | None = None) -> list[dict[str, Any]]:
    rows = (
        ImportIssue.objects.filter(job=job, type=type_)
        .order_by("row", "id")
        .values_list("row", "field", "reason", "record_id", "name", "email")
    )
    if limit is not None:
        rows = rows[:limit]
    if type_ == ImportIssue.Type.REJECTED:
        return [
            {"row": r, "name": n, "email": e, "field": f, "reason": why}
            for r, f, why, _, n, e in rows
        ]
    return [
        {"row": r, "name": n, "email": e, "reason": why, "record_id": pk}
        for r, _, why, pk, n, e in rows
    ]


def written_records(job: ImportJob, *, limit: int = 100) -> dict[str, list[tuple[int, str]]]:
    """The first `limit` records the import created and updated, (id, name) each, for the
    report to link to; a dry run wrote none. Created records are looked for among those made
    while it ran (the records' newest-first index), not by scanning for the import."""
    if job.dry_run or not job.started_at or other_kind(job.kind) is not None:
        return {"created": [], "updated": []}
    model = KINDS[job.kind].model
    alive = model.objects.filter(organisation_id=job.organisation_id, deleted_at=None)
    window = {"created_at__gte": job.started_at}
    if job.finished_at:
        window["created_at__lte"] = job.finished_at
    created = list(
        alive.filter(import_job=job, **window)
        .order_by("created_at", "id")
        .values_list("pk", "name")[:limit]
    )
    changed = list(
        ImportChange.objects.filter(job=job)
        .order_by("id")
        .values_list("record_id", flat=True)[:limit]
    )
    names = dict(alive.filter(pk__in=changed).values_list("pk", "name"))
    updated = [(pk, names[pk]) for pk in changed if pk in names]
    return {"created": created, "updated": updated}


def import_report(job: ImportJob, *, limit: int | None = None) -> dict[str, Any]:
    """Status, progress and the report, the same for the CLI's --json and the API."""
    return {
        "import_id": job.pk,
        "kind": kind_plural(job.kind),
        "file_name": job.file_name,
        "status": job.status,
        "dry_run": job.dry_run,
        "on_duplicate": job.on_duplicate,
        "region": job.region or None,
        "mapping": job.mapping,
        "constants": job.constants or {},
        **counts(job),
        "rejected_rows": job.rejected,
        "rejected": issues_of(job, ImportIssue.Type.REJECTED, limit),
        "duplicate_rows": issues_of(job, ImportIssue.Type.DUPLICATE, limit),
        "possible_duplicate_rows": issues_of(job, ImportIssue.Type.POSSIBLE_DUPLICATE, limit),
        # The first records written, to open them (`GET /{kind}/{id}`).
        **{
            f"{what}_records": [{"id": pk, "name": name} for pk, name in records]
            for what, records in written_records(job).items()
        },
        "progress": progress_of(job),
        "notes": job.notes,
        "error": job.error or None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "undone_at": job.undone_at,
        "undo": job.undo_report or None,
    }


def rejected_rows_csv(job: ImportJob) -> Iterator[str]:
    """The rejected rows as the file had them, plus the row number and the reasons, so the user
    can fix them and import just these. Cells are neutralised: a spreadsheet never runs them."""
    header = open_spreadsheet(job.file.path).header
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "reason", *header])
    yield "\ufeff" + buffer.getvalue()
    rows = (
        ImportIssue.objects.filter(job=job, type=ImportIssue.Type.REJECTED)
        .order_by("row", "id")
        .values_list("row", "reason", "values")
        .iterator(chunk_size=2000)
    )
    current, reasons, values = None, [], []

    def line() -> str:
        buffer.seek(0)
        buffer.truncate()
        cells = [*values, *[""] * (len(header) - len(values))]
        writer.writerow([current, "; ".join(reasons), *(neutralise(c) for c in cells)])
        return buffer.getvalue()

    for row, reason, cells in rows:
        if row != current and current is not None:
            yield line()
            reasons, values = [], []
        current = row
        reasons.append(reason)
        values = cells or values
    if current is not None:
        yield line()


def _soft_delete_created(actor: Actor, model, job: ImportJob, now: dt.datetime) -> int:
    """Soft-delete the records `job` created (restorable like any deletion), one audit event
    each; returns how many."""
    rows = model.objects.filter(organisation=actor.organisation, import_job=job, deleted_at=None)
    created = list(rows.values_list("pk", "name"))
    removed = rows.update(deleted_at=now, version=F("version") + 1, updated_at=now)
    object_type = model._meta.model_name
    for pk, name in created:
        audit.record(
            actor=actor,
            action="import_undo",
            object_type=object_type,
            object_id=pk,
            object_repr=str(name)[:255],
            changes={"deleted_at": [None, now]},
        )
    return removed


def import_undo(*, actor: Actor, import_id: Any) -> ImportJob:
    """Remove what the import created (soft-deleted, restorable) and give the records it updated
    their previous values back — except records edited since, which are listed and left as
    they are rather than losing someone's later change."""
    with transaction.atomic():
        job = import_get_for(actor=actor, import_id=import_id)
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.dry_run:
            raise Conflict(f"Import {job.pk} was a dry run: it wrote nothing to undo.")
        if job.status == ImportJob.Status.UNDONE:
            raise Conflict(f"Import {job.pk} was already undone on {job.undone_at:%Y-%m-%d}.")
        if job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING):
            raise Conflict(f"Import {job.pk} is still {job.status}; undo it when it has finished.")
        if (registered := other_kind(job.kind)) is not None:
            raise Conflict(
                f"Import {job.pk} is a {registered.plural} import: it cannot be undone "
                "(the history it replaced is not kept)."
            )
        now = timezone.now()
        model = KINDS[job.kind].model
        removed = _soft_delete_created(actor, model, job, now)
        companies_removed = 0
        if job.kind == "person":
            companies_removed = _soft_delete_created(actor, Company, job, now)
        restored, kept = 0, []
        changes = ImportChange.objects.filter(job=job).order_by("id")
        objects = model.objects.select_for_update().in_bulk(
            [c.record_id for c in changes], field_name="pk"
        )
        for change in changes:
            obj = objects.get(change.record_id)
            if obj is None or obj.organisation_id != actor.organisation.pk:
                continue
            if obj.version != change.version_after:
                kept.append(obj.pk)
                continue
            undone = {attr: [getattr(obj, attr), value] for attr, value in change.before.items()}
            for attr, value in change.before.items():
                setattr(obj, attr, value)
            attrs = set(change.before) | refresh_derived(obj, change.before)
            obj.version += 1
            obj.updated_at = now
            obj.save(update_fields=sorted(attrs | {"version", "updated_at"}))
            audit.record(actor=actor, action="import_undo", obj=obj, changes=undone)
            restored += 1
        job.status = ImportJob.Status.UNDONE
        job.undone_at = now
        job.undo_report = {
            "removed": removed,
            "restored": restored,
            "companies_removed": companies_removed,
            "kept_changed_since": kept,
        }
        job.save(update_fields=["status", "undone_at", "undo_report"])
        audit.record(
            actor=actor,
            action="import_undo",
            obj=job,
            changes={k: [None, v] for k, v in job.undo_report.items()},
        )
    return job
