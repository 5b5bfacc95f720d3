"""Every write to companies, people, leads and notes. Opportunities reuse the same machinery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from salesline.accounts.models import Membership, Organisation, Role
from salesline.core import audit, events
from salesline.core.actors import Actor
from salesline.core.customfields import CustomFieldDef, clean_custom_values
from salesline.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Problem,
    ProblemList,
    ValidationFailed,
)
from salesline.core.text import LONG_TEXT_MAX, text_problem
from salesline.process.definition import (
    Choice,
    ProcessDefinitionSpec,
    allowed_values,
    match_choice,
)
from salesline.process.definition.values import is_blank
from salesline.process.selectors import definition_for

from . import matching
from .fields import KINDS, FieldDef, KindDef
from .location import clean_coordinate, clean_country
from .models import Campaign, Company, Lead, Note, Person
from .normalise import Normaliser

# Fields cleaned by the import's normaliser, by its method: one rule per field everywhere.
NORMALISED_FIELDS = {
    "email": "email",
    "phone": "phone",
    "website": "website",
    "linkedin": "website",
}
_NORMALISERS: dict[str, Normaliser] = {}


def normaliser_for(actor: Actor) -> Normaliser:
    """The normaliser of the actor's organisation's phone region (one per region, so its
    caches live across requests)."""
    region = (getattr(actor.organisation, "phone_region", "") or "").upper()
    normaliser = _NORMALISERS.get(region)
    if normaliser is None:
        normaliser = _NORMALISERS[region] = Normaliser(region or None)
    return normaliser


def custom_field_defs(
    actor: Actor, kind: str, spec: ProcessDefinitionSpec | None = None
) -> list[CustomFieldDef]:
    spec = spec or definition_for(actor.organisation)
    return [
        CustomFieldDef(key=c.key, label=c.label, type=c.type, choices=tuple(c.choices))
        for c in spec.custom_fields
        if c.record == kind
    ]


def _reference_exists(actor: Actor, field: FieldDef, pk: Any) -> bool:
    if field.reference == "user":
        return Membership.objects.filter(organisation=actor.organisation, user_id=pk).exists()
    if field.reference == "campaign":
        return Campaign.objects.filter(
            organisation=actor.organisation, pk=pk, deleted_at=None
        ).exists()
    model = KINDS[field.reference].model
    return model.objects.filter(organisation=actor.organisation, pk=pk, deleted_at=None).exists()


def _clean_value(
    actor: Actor, field: FieldDef, value: Any, choices: tuple[Choice, ...] = ()
) -> Any:
    """The value to store for one built-in field, or ValueError with a user-facing reason.
    `choices` are the definition's for the field: a value is matched to one ignoring case."""
    if field.type == "reference":
        if value in (None, ""):
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("must be an id")
        try:
            pk = int(value)
        except ValueError:
            raise ValueError("must be an id") from None
        if not _reference_exists(actor, field, pk):
            raise ValueError(f"refers to no {field.reference} with id {pk} in this organisation")
        return pk
    if field.type == "decimal":
        if value in (None, ""):
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a number") from None
        if not number.is_finite() or number < 0:
            raise ValueError("must be a number of zero or more")
        if abs(number) >= Decimal(10) ** 14:
            raise ValueError("is too large")
        return number.quantize(Decimal("0.01"))
    if field.type == "number":
        if value in (None, ""):
            return None
        try:
            number = int(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError("must be a whole number") from None
        if not 0 <= number <= 100:
            raise ValueError("must be between 0 and 100")
        return number
    if field.type == "coordinate":
        return clean_coordinate(field.name, value)
    if field.type == "date":
        if value in (None, ""):
            return None
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    # text, longtext, choice
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("must be text")
    text = value.strip()
    if choices and text:
        canonical = match_choice(choices, text)
        if canonical is None:
            raise ValueError(f"must be one of: {allowed_values(choices)}")
        text = canonical
    elif field.type == "choice" and text and text not in field.choices:
        raise ValueError(f"must be one of: {', '.join(field.choices)}")
    # The one text rule (core.text): characters no database or page can take, line breaks in
    # one-line fields, bidirectional overrides in names, and the column's length.
    multiline = field.type == "longtext"
    reason = text_problem(text, max_length=field.max_length or LONG_TEXT_MAX, multiline=multiline)
    if reason:
        raise ValueError(reason)
    if field.name == "country":
        return clean_country(text)
    if field.name in NORMALISED_FIELDS and text:
        # The import's rules (records.normalise), so a form, the API and an import accept the
        # same values: e-mail addresses (email-validator, case-folded so matching is one index
        # lookup), phone numbers (E.164, read with the organisation's phone region), web
        # addresses (http(s) only, no user name, no script).
        text = getattr(normaliser_for(actor), NORMALISED_FIELDS[field.name])(text)
        if field.max_length and len(text) > field.max_length:
            raise ValueError(f"must be at most {field.max_length} characters")
    if field.name == "currency" and text:
        if len(text) != 3 or not text.isalpha():
            raise ValueError("must be a three-letter ISO code such as EUR")
        text = text.upper()
    if field.name == "email_domain" and text:
        text = matching.normalise_domain(text)
    return text


def apply_changes(
    *,
    actor: Actor,
    kind: KindDef,
    obj: models.Model,
    data: Mapping[str, Any],
    problems: ProblemList,
    spec: ProcessDefinitionSpec | None = None,
) -> dict[str, list[Any]]:
    """Validate `data` (API names) and set it on `obj`; returns {field: [before, after]}.
    `spec` is the definition in force when the caller has read it already."""
    spec = spec or definition_for(actor.organisation)
    fields = kind.fields
    changes: dict[str, list[Any]] = {}
    for name, value in data.items():
        if name == "custom_fields":
            continue
        field = fields.get(name)
        if field is None:
            problems.add((name,), f"Unknown field '{name}'.", type="unknown_field")
            continue
        before = getattr(obj, field.attr)
        if field.type == "reference" and before is not None and str(value).strip() == str(before):
            # A form sends every field back: a link kept as it was is not checked again (its
            # campaign or company may have been deleted since).
            continue
        if isinstance(value, str) and before and isinstance(before, str) and value == before:
            # A value stored under older rules (a phone number without its country code) stays
            # until someone changes it: a form sends every field back, edited or not.
            continue
        try:
            cleaned = _clean_value(actor, field, value, spec.field_choices(kind.key, name))
        except ValueError as exc:
            problems.add((name,), f"{field.label} {exc}.")
            continue
        if before != cleaned:
            setattr(obj, field.attr, cleaned)
            changes[name] = [before, cleaned]
    custom = data.get("custom_fields")
    if custom is not None:
        if not isinstance(custom, Mapping):
            problems.add(("custom_fields",), "Custom fields must be an object.")
        else:
            cleaned_custom, custom_problems = clean_custom_values(
                custom_field_defs(actor, kind.key, spec), custom
            )
            problems.problems.extend(custom_problems)
            merged = dict(obj.custom_fields or {})
            for key, value in cleaned_custom.items():
                before = merged.get(key)
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
                if before != value:
                    changes[f"custom_fields.{key}"] = [before, value]
            obj.custom_fields = merged
    refresh_derived(obj, changes)
    return changes


def dedupe_company_key(obj: models.Model) -> str:
    """The company part of a person's or lead's duplicate block."""
    if isinstance(obj, Person):
        return str(obj.company_id or "")
    return matching.company_match_name(obj.company_name)[:200]


# The fields whose words word search finds (matching.search_text).
SEARCH_TEXT_SOURCES = frozenset({"name", "email", "phone", "company_name", "email_domain"})


def search_text_of(obj: models.Model) -> str:
    return matching.search_text(
        obj.name,
        email=getattr(obj, "email", ""),
        company_name=getattr(obj, "company_name", ""),
        phone=getattr(obj, "phone", ""),
        domain=getattr(obj, "email_domain", ""),
    )


def refresh_derived(obj: models.Model, changed: Iterable[str]) -> set[str]:
    """Recompute the keys derived from changed fields; returns the attributes it set."""
    changed = set(changed)
    attrs: set[str] = set()
    if "name" in changed:
        obj.search_name = matching.search_key(obj.name)[:255]
        obj.search_last_word = matching.last_word(obj.name)[:255]
        attrs |= {"search_name", "search_last_word"}
        if isinstance(obj, Company):
            obj.match_name = matching.company_match_name(obj.name)[:255]
            attrs.add("match_name")
    if changed & SEARCH_TEXT_SOURCES:
        obj.search_text = search_text_of(obj)
        attrs.add("search_text")
    if isinstance(obj, Person | Lead) and changed & {"name", "company_name", "company_id"}:
        obj.dedupe_key = matching.name_block(obj.name, dedupe_company_key(obj))
        attrs.add("dedupe_key")
    return attrs


def missing_minimum_fields(
    *, actor: Actor, kind: KindDef, obj: models.Model, spec: ProcessDefinitionSpec | None = None
) -> list[Problem]:
    """One problem per minimum field of the process definition that `obj` lacks."""
    spec = spec or definition_for(actor.organisation)
    required = spec.minimum_fields.get(kind.key, ())
    if not required:
        return []
    labels = {c.key: c.label for c in spec.custom_fields if c.record == kind.key}
    problems = []
    for name in required:
        field = kind.fields.get(name)
        if field is not None:
            if is_blank(getattr(obj, field.attr)):
                problems.append(
                    Problem(loc=(name,), msg=f"{field.label} is required.", type="missing")
                )
        elif name in labels and is_blank((obj.custom_fields or {}).get(name)):
            problems.append(
                Problem(
                    loc=("custom_fields", name), msg=f"{labels[name]} is required.", type="missing"
                )
            )
    return problems


def add_missing_minimum_fields(
    *,
    actor: Actor,
    kind: KindDef,
    obj: models.Model,
    problems: ProblemList,
    spec: ProcessDefinitionSpec | None = None,
) -> None:
    """Add every missing minimum field to `problems`, except those whose sent value was already
    refused ("X is required" would then contradict "X must be ...")."""
    refused = {p.loc for p in problems.problems}
    problems.problems.extend(
        p
        for p in missing_minimum_fields(actor=actor, kind=kind, obj=obj, spec=spec)
        if p.loc not in refused
    )


def locked_row(
    model: type[models.Model] | models.QuerySet,
    *,
    actor: Actor,
    pk: Any,
    what: str,
    deleted: bool = False,
):
    """The row, locked, in the actor's organisation — or NotFound (never another org's row)."""
    rows = model if isinstance(model, models.QuerySet) else model._default_manager.all()
    obj = (
        rows.select_for_update(of=("self",) if rows.query.select_related else ())
        .filter(organisation=actor.organisation, pk=pk, deleted_at__isnull=not deleted)
        .first()
    )
    if obj is None:
        raise NotFound(f"No {'deleted ' if deleted else ''}{what} with id {pk}.")
    return obj


def lock_for_update(*, actor: Actor, kind: KindDef, record_id: Any, deleted: bool = False):
    return locked_row(kind.model, actor=actor, pk=record_id, what=kind.key, deleted=deleted)


def check_version(obj: models.Model, expected_version: int | None) -> None:
    if expected_version is not None and obj.version != expected_version:
        raise PreconditionFailed(
            f"This {obj._meta.verbose_name} was changed by someone else (version {obj.version}, "
            f"you edited version {expected_version}). Reload it and apply your change again."
        )


def save_changed(
    obj: models.Model, changes: Mapping[str, Any], kind: KindDef, also: Sequence[str] = ()
) -> None:
    """Save the changed fields (plus `also`), bumping the version the ETag names."""
    attrs = {kind.fields[n].attr for n in changes if n in kind.fields} | set(also)
    if any(n.startswith("custom_fields.") for n in changes):
        attrs.add("custom_fields")
    attrs |= refresh_derived(obj, changes)
    obj.version += 1
    obj.updated_at = timezone.now()
    obj.save(update_fields=sorted(attrs | {"version", "updated_at"}))


def created(changes: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """A new record's changes: nothing existed before, whatever the model's blank default."""
    return {name: [None, after] for name, (_, after) in changes.items()}


def record_create(
    *, actor: Actor, kind: str, data: Mapping[str, Any], minimum_fields: bool = True
) -> models.Model:
    """Create a company, person or lead; every invalid or missing field is reported at once.
    `minimum_fields=False` is for a lead captured from outside (a public booking page), which
    has only what a visitor typed: the process's minimum fields are completed later by staff."""
    kind_def = KINDS[kind]
    obj = kind_def.model(organisation=actor.organisation, owner=actor.user)
    problems = ProblemList()
    spec = definition_for(actor.organisation)
    changes = apply_changes(
        actor=actor, kind=kind_def, obj=obj, data=data, problems=problems, spec=spec
    )
    if minimum_fields:
        add_missing_minimum_fields(
            actor=actor, kind=kind_def, obj=obj, problems=problems, spec=spec
        )
    problems.raise_if_any(f"The {kind} was not saved.")
    with transaction.atomic():
        obj.save()
        audit.record(actor=actor, action="create", obj=obj, changes=created(changes))
        happened = [record_changed_event("created", changes)]
        if kind == "lead":
            happened.append(("lead_created", {}))
        events.emit_many(actor=actor, obj=obj, happened=happened)
    return obj


def record_changed(
    *, actor: Actor, obj: models.Model, change: str, fields: Iterable[str] = ()
) -> None:
    """The `record_changed` event of any record kind: created, updated, deleted or restored,
    with the fields that changed (API names)."""
    kind, payload = record_changed_event(change, fields)
    events.emit(actor=actor, kind=kind, obj=obj, payload=payload)


def record_changed_event(change: str, fields: Iterable[str]) -> tuple[str, dict[str, Any]]:
    """The `record_changed` event as a (kind, payload) pair, for a change emitting several."""
    return "record_changed", {"change": change, "fields": sorted(fields)}


def record_update(
    *,
    actor: Actor,
    kind: str,
    record_id: Any,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> models.Model:
    kind_def = KINDS[kind]
    with transaction.atomic():
        obj = lock_for_update(actor=actor, kind=kind_def, record_id=record_id)
        check_version(obj, expected_version)
        problems = ProblemList()
        spec = definition_for(actor.organisation)
        changes = apply_changes(
            actor=actor, kind=kind_def, obj=obj, data=data, problems=problems, spec=spec
        )
        add_missing_minimum_fields(
            actor=actor, kind=kind_def, obj=obj, problems=problems, spec=spec
        )
        problems.raise_if_any(f"The {kind} was not saved.")
        if changes:
            save_changed(obj, changes, kind_def)
            audit.record(actor=actor, action="update", obj=obj, changes=changes)
            record_changed(actor=actor, obj=obj, change="updated", fields=changes)
    return obj


def _soft_delete(actor: Actor, obj: models.Model) -> None:
    obj.deleted_at = timezone.now()
    obj.version += 1
    obj.save(update_fields=["deleted_at", "version"])
    audit.record(
        actor=actor, action="delete", obj=obj, changes={"deleted_at": [None, obj.deleted_at]}
    )
    record_changed(actor=actor, obj=obj, change="deleted", fields=["deleted_at"])


def _restore(actor: Actor, obj: models.Model, what: str, *, announce: bool = True) -> None:
    """Restore a soft-deleted row within the window, audited; `announce`: emit the record's
    `record_changed` event (records have one, a campaign none)."""
    window = dt.timedelta(days=settings.SALESLINE_RESTORE_DAYS)
    if obj.deleted_at < timezone.now() - window:
        raise Conflict(
            f"This {what} was deleted more than {window.days} days ago and cannot be restored."
        )
    deleted_at, obj.deleted_at = obj.deleted_at, None
    obj.version += 1
    obj.save(update_fields=["deleted_at", "version"])
    audit.record(actor=actor, action="restore", obj=obj, changes={"deleted_at": [deleted_at, None]})
    if announce:
        record_changed(actor=actor, obj=obj, change="restored", fields=["deleted_at"])


def record_delete(*, actor: Actor, kind: str, record_id: Any) -> models.Model:
    """Soft delete: the record disappears from lists and can be restored for 30 days."""
    with transaction.atomic():
        obj = lock_for_update(actor=actor, kind=KINDS[kind], record_id=record_id)
        _soft_delete(actor, obj)
    return obj


def record_restore(*, actor: Actor, kind: str, record_id: Any) -> models.Model:
    with transaction.atomic():
        obj = lock_for_update(actor=actor, kind=KINDS[kind], record_id=record_id, deleted=True)
        _restore(actor, obj, kind)
    return obj


@dataclass(frozen=True)
class KindHooks:
    """What a kind owned by an app above records (opportunities: pipeline) adds to the record
    services, registered from that app's AppConfig.ready() so records imports no such app.

    `update(actor=, record_id=, data=)` replaces `record_update` for the kind (its own rules
    and events); `before_purge(ids)` runs in the purge's transaction just before the kind's
    expired records (`ids`) are deleted, e.g. to anonymise rows that outlive them."""

    update: Callable[..., models.Model] | None = None
    before_purge: Callable[[list[int]], object] | None = None


KIND_HOOKS: dict[str, KindHooks] = {}


def register_kind_hooks(
    kind: str,
    *,
    update: Callable[..., models.Model] | None = None,
    before_purge: Callable[[list[int]], object] | None = None,
) -> None:
    """Register (or replace, so a second ready() changes nothing) a kind's hooks."""
    KIND_HOOKS[kind] = KindHooks(update=update, before_purge=before_purge)


def _update_any(*, actor: Actor, kind: str, record_id: Any, data: Mapping[str, Any]):
    hooks = KIND_HOOKS.get(kind)
    if hooks is not None and hooks.update is not None:
        return hooks.update(actor=actor, record_id=record_id, data=data)
    return record_update(actor=actor, kind=kind, record_id=record_id, data=data)


def _bulk(*, kind: str, ids: Sequence[int], change: Callable[[int], Any]) -> list[models.Model]:
    """Apply `change(record_id)` to every id in one transaction: all or nothing. The first
    record that cannot take the change (not found in the actor's organisation, deleted
    meanwhile, failing validation) rolls the batch back and is named in the error."""
    if kind not in KINDS:
        raise NotFound(f"No record kind '{kind}'.")
    what = kind.capitalize()
    done = []
    with transaction.atomic():
        for record_id in ids:
            try:
                done.append(change(record_id))
            except NotFound:
                raise ValidationFailed(
                    f"{what} {record_id} was not found (deleted meanwhile?).",
                    problems=[
                        Problem(
                            loc=("ids", record_id),
                            msg=f"{what} {record_id} was not found (deleted meanwhile?).",
                            type="not_found",
                        )
                    ],
                ) from None
            except ValidationFailed as error:
                reasons = " ".join(p.msg for p in error.problems) or str(error)
                raise ValidationFailed(
                    f"{what} {record_id}: {reasons}",
                    problems=[
                        Problem(loc=("ids", record_id, *p.loc), msg=p.msg, type=p.type)
                        for p in error.problems
                    ],
                ) from None
    return done


def records_bulk_assign(
    *, actor: Actor, kind: str, ids: Sequence[int], owner_id: int | None
) -> list[models.Model]:
    """Give every record in `ids` the owner `owner_id` (None: no owner), all or nothing; each
    record is changed (and audited) by its kind's update service, so opportunities keep the
    pipeline's rules and events."""
    return _bulk(
        kind=kind,
        ids=ids,
        change=lambda record_id: _update_any(
            actor=actor, kind=kind, record_id=record_id, data={"owner_id": owner_id}
        ),
    )


def records_bulk_delete(*, actor: Actor, kind: str, ids: Sequence[int]) -> list[models.Model]:
    """Soft-delete every record in `ids` (restorable for 30 days), all or nothing; one audit
    event per record."""
    return _bulk(
        kind=kind,
        ids=ids,
        change=lambda record_id: record_delete(actor=actor, kind=kind, record_id=record_id),
    )


def records_bulk_restore(*, actor: Actor, kind: str, ids: Sequence[int]) -> list[models.Model]:
    """Restore every soft-deleted record in `ids`, all or nothing; one audit event per record.
    A record deleted before the restore window is a Conflict for the whole batch."""
    return _bulk(
        kind=kind,
        ids=ids,
        change=lambda record_id: record_restore(actor=actor, kind=kind, record_id=record_id),
    )


def records_purge(*, actor: Actor, older_than: dt.datetime | None = None) -> dict[str, int]:
    """Remove records soft-deleted before the restore window (run by `salesline purge`).

    `actor` is a system actor (no user) or an admin. Its organisation scopes the purge; an
    actor whose organisation is None (`system_actor(None, "purge")`, the CLI's) purges the
    whole installation in one transaction. Returns the records removed per kind; their notes,
    history and ticks go with them, after each kind's `before_purge` hook (see
    `register_kind_hooks`) has run on the ids. Each organisation's audit trail records how many
    of each kind it lost, by an actor of that organisation with the purging actor's label.
    """
    if actor.user is not None and not actor.has_role(Role.ADMIN):
        raise PermissionDenied("Only an admin can purge deleted records.")
    if actor.organisation is None and actor.user is not None:
        raise PermissionDenied("Only the system can purge every organisation's records.")
    cutoff = older_than or timezone.now() - dt.timedelta(days=settings.SALESLINE_RESTORE_DAYS)
    removed: dict[str, int] = {}
    with transaction.atomic():
        # Kinds registered later refer to earlier ones (an opportunity to its company): they go
        # first.
        for kind in reversed(KINDS):
            model = KINDS[kind].model
            expired = model.objects.filter(deleted_at__lt=cutoff)
            if actor.organisation is not None:
                expired = expired.filter(organisation=actor.organisation)
            per_org = dict(
                expired.values_list("organisation").annotate(n=models.Count("id")).order_by()
            )
            hooks = KIND_HOOKS.get(kind)
            if per_org and hooks is not None and hooks.before_purge is not None:
                hooks.before_purge(list(expired.values_list("pk", flat=True)))
            _, by_model = expired.delete()
            removed[kind] = by_model.get(model._meta.label, 0)
            for organisation in Organisation.objects.filter(pk__in=per_org):
                audit.record(
                    actor=Actor(organisation=organisation, system_label=actor.label),
                    action="purge",
                    object_type=kind,
                    changes={"removed": [per_org[organisation.pk], 0]},
                )
    return removed


def _note_targets() -> dict[str, str]:
    """A note's target field per kind (`opportunity_id` -> opportunity)."""
    return {f"{key}_id": key for key in KINDS}


def _check_note_body(body: Any, problems: ProblemList) -> None:
    if not isinstance(body, str) or not body.strip():
        problems.add(("body",), "A note needs some text.", type="missing")
        return
    reason = text_problem(body.strip(), max_length=LONG_TEXT_MAX, multiline=True)
    if reason:
        problems.add(("body",), f"The note {reason}.")


def note_create(
    *, actor: Actor, body: str, target: Mapping[str, Any], kind: str = Note.Kind.NOTE
) -> Note:
    """A note on exactly one record of the actor's organisation; `kind` says what was logged
    (a note, call, meeting or e-mail)."""
    problems = ProblemList()
    _check_note_body(body, problems)
    if kind not in Note.Kind.values:
        problems.add(("kind",), f"Kind must be one of: {', '.join(Note.Kind.values)}.")
    targets = _note_targets()
    given = {k: v for k, v in target.items() if k in targets and v is not None}
    if len(given) != 1:
        problems.add(
            ("company_id",),
            "A note belongs to exactly one record: give one of company_id, person_id, lead_id "
            "or opportunity_id.",
        )
    problems.raise_if_any("The note was not saved.")
    ((attr, pk),) = given.items()
    model = KINDS[targets[attr]].model
    if not model.objects.filter(organisation=actor.organisation, pk=pk, deleted_at=None).exists():
        raise NotFound(f"No {targets[attr]} with id {pk}.")
    note = Note(
        organisation=actor.organisation,
        author=actor.user,
        body=body.strip(),
        kind=kind,
        **{attr: pk},
    )
    with transaction.atomic():
        note.save()
        audit.record(
            actor=actor,
            action="create",
            obj=note,
            changes={"body": [None, note.body], "kind": [None, note.kind]},
        )
        # Something was done about the record (the quality rating counts it as activity).
        events.emit(
            actor=actor,
            kind="note_added",
            obj=note,
            payload={
                "record": targets[attr],
                "record_id": getattr(note, attr),
                "note_kind": note.kind,
            },
        )
    return note


def note_update(
    *, actor: Actor, note_id: Any, body: str, expected_version: int | None = None
) -> Note:
    problems = ProblemList()
    _check_note_body(body, problems)
    problems.raise_if_any("The note was not saved.")
    with transaction.atomic():
        note = locked_row(Note, actor=actor, pk=note_id, what="note")
        check_version(note, expected_version)
        before = note.body
        if before != body.strip():
            note.body = body.strip()
            note.version += 1
            note.updated_at = timezone.now()
            note.save(update_fields=["body", "version", "updated_at"])
            audit.record(
                actor=actor, action="update", obj=note, changes={"body": [before, note.body]}
            )
    return note


def note_delete(*, actor: Actor, note_id: Any) -> None:
    """Soft delete, restorable for 30 days like the records."""
    with transaction.atomic():
        _soft_delete(actor, locked_row(Note, actor=actor, pk=note_id, what="note"))


def note_restore(*, actor: Actor, note_id: Any) -> Note:
    with transaction.atomic():
        note = locked_row(Note, actor=actor, pk=note_id, what="note", deleted=True)
        _restore(actor, note, "note")
    return note
