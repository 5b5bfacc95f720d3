"""Every write to message templates (canned messages).

A template is saved only when its subject and body pass the merge-field sandbox
(`merge.template_problems`): an unknown field, tag or filter is refused when saved, named, with
every problem at once. Any member of the organisation may write templates (they are the team's
shared wording; the audit trail says who changed what); a template a playbook step of the
process definition sends cannot be deleted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import formataddr, parseaddr
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesline.core import audit
from salesline.core.actors import Actor
from salesline.core.errors import Conflict, NotFound, PreconditionFailed, Problem, ProblemList
from salesline.core.text import text_problem
from salesline.process.selectors import definition_for
from salesline.records.services import normaliser_for

from . import merge
from .definition import playbooks_of
from .document_catalogue import CATALOGUE
from .models import MessageTemplate

FIELDS = ("key", "name", "subject", "body", "from_email", "attachments")
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")
KEY_MAX = 80
NAME_MAX = 200
SUBJECT_MAX = 255
FROM_MAX = 254
MAX_ATTACHMENTS = 20
REQUIRED = ("key", "name", "subject", "body")


def document_template_keys() -> frozenset[str]:
    """The document templates attachments may name (the shipped catalogue)."""
    return frozenset(CATALOGUE)


def _clean_from_email(actor: Actor, value: str) -> str:
    """A From address: blank (the organisation's), "addr@example.com" or
    "Name <addr@example.com>"; ValueError with the reason otherwise."""
    value = value.strip()
    if not value:
        return ""
    name, address = parseaddr(value, strict=True)
    unbalanced = ("<" in value or ">" in value) and not value.endswith(">")
    if unbalanced or not address or "@" not in address:
        raise ValueError(
            'must be an e-mail address, e.g. "partnerships@example.com" or '
            '"Partnerships <partnerships@example.com>"'
        )
    try:
        address = normaliser_for(actor).email(address)
    except ValueError as error:
        raise ValueError(f"is not a valid e-mail address: {error}") from None
    cleaned = formataddr((name.strip(), address)) if name.strip() else address
    if len(cleaned) > FROM_MAX:
        raise ValueError(f"must be at most {FROM_MAX} characters")
    return cleaned


def _clean(actor: Actor, data: Mapping[str, Any], *, creating: bool) -> tuple[dict, ProblemList]:
    """The values to store for the fields in `data`, and every problem with them."""
    problems = ProblemList()
    cleaned: dict[str, Any] = {}
    for name in data:
        if name not in FIELDS:
            problems.add((name,), f"Unknown field '{name}'.", type="extra_forbidden")
    limits = {"key": KEY_MAX, "name": NAME_MAX, "subject": SUBJECT_MAX, "from_email": FROM_MAX}
    for name in ("key", "name", "subject", "body", "from_email"):
        if name not in data and not (creating and name in REQUIRED):
            continue
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in REQUIRED:
                problems.add((name,), f"'{name}' is required.", type="missing")
            else:
                cleaned[name] = ""
            continue
        if not isinstance(value, str):
            problems.add((name,), f"'{name}' must be text.", type="type_error")
            continue
        reason = text_problem(
            value,
            max_length=limits.get(name, merge.MAX_TEMPLATE_LENGTH),
            multiline=name == "body",
        )
        if reason:
            problems.add((name,), f"'{name}' {reason}.")
            continue
        value = value if name == "body" else value.strip()
        if name == "key" and not KEY_PATTERN.fullmatch(value):
            problems.add(
                ("key",),
                "'key' must be lower-case letters, digits, hyphens and underscores, "
                "starting with a letter or digit (e.g. hail-the-lead).",
            )
            continue
        if name == "from_email":
            try:
                value = _clean_from_email(actor, value)
            except ValueError as error:
                problems.add(("from_email",), f"'from_email' {error}.")
                continue
        if name in ("subject", "body"):
            for message in merge.template_problems(value):
                problems.add((name,), message, type="merge_field")
        cleaned[name] = value
    if "attachments" in data:
        attachments = _clean_attachments(data["attachments"], problems)
        if attachments is not None:
            cleaned["attachments"] = attachments
    return cleaned, problems


def _clean_attachments(value: Any, problems: ProblemList) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        problems.add(("attachments",), "'attachments' must be a list of document template keys.")
        return None
    if len(value) > MAX_ATTACHMENTS:
        problems.add(("attachments",), f"'attachments' may name at most {MAX_ATTACHMENTS}.")
        return None
    known = document_template_keys()
    cleaned: list[str] = []
    for index, key in enumerate(value):
        if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key) or len(key) > KEY_MAX:
            problems.add(("attachments", index), "must be a document template key.")
        elif key not in known:
            problems.add(
                ("attachments", index),
                f"unknown document template '{key}' (known: {', '.join(sorted(known))})",
            )
        elif key not in cleaned:
            cleaned.append(key)
    return cleaned


def _locked(actor: Actor, template_id: Any) -> MessageTemplate:
    try:
        pk = int(template_id)
    except (TypeError, ValueError):
        raise NotFound(f"No message template with id {template_id}.") from None
    template = (
        MessageTemplate.objects.select_for_update()
        .filter(organisation=actor.organisation, pk=pk)
        .first()
    )
    if template is None:
        raise NotFound(f"No message template with id {template_id}.")
    return template


def _check_version(template: MessageTemplate, expected_version: int | None) -> None:
    if expected_version is not None and template.version != expected_version:
        raise PreconditionFailed(
            f"This message template was changed by someone else (version {template.version}, "
            f"you edited version {expected_version}). Reload it and apply your change again."
        )


def _duplicate_key(key: str) -> Conflict:
    return Conflict(
        f"A message template with key '{key}' already exists.",
        [
            Problem(
                loc=("key",),
                msg=f"a message template with key '{key}' already exists",
                type="duplicate",
            )
        ],
    )


def message_template_create(*, actor: Actor, data: Mapping[str, Any]) -> MessageTemplate:
    cleaned, problems = _clean(actor, data, creating=True)
    problems.raise_if_any("The message template was not saved.")
    with transaction.atomic():
        if MessageTemplate.objects.filter(
            organisation=actor.organisation, key=cleaned["key"]
        ).exists():
            raise _duplicate_key(cleaned["key"])
        try:
            with transaction.atomic():
                template = MessageTemplate.objects.create(
                    organisation=actor.organisation,
                    key=cleaned["key"],
                    name=cleaned["name"],
                    subject=cleaned["subject"],
                    body=cleaned["body"],
                    from_email=cleaned.get("from_email", ""),
                    attachments=cleaned.get("attachments", []),
                )
        except IntegrityError:  # the same key saved at the same moment
            raise _duplicate_key(cleaned["key"]) from None
        audit.record(
            actor=actor,
            action="create",
            obj=template,
            changes={name: [None, getattr(template, name)] for name in FIELDS},
        )
    return template


def message_template_update(
    *,
    actor: Actor,
    template_id: int,
    data: Mapping[str, Any],
    expected_version: int | None = None,
) -> MessageTemplate:
    cleaned, problems = _clean(actor, data, creating=False)
    with transaction.atomic():
        template = _locked(actor, template_id)
        _check_version(template, expected_version)
        problems.raise_if_any("The message template was not saved.")
        changes = {
            name: [getattr(template, name), value]
            for name, value in cleaned.items()
            if getattr(template, name) != value
        }
        if not changes:
            return template
        if "key" in changes and (
            MessageTemplate.objects.filter(organisation=actor.organisation, key=cleaned["key"])
            .exclude(pk=template.pk)
            .exists()
        ):
            raise _duplicate_key(cleaned["key"])
        if "key" in changes and (users := playbooks_using(actor, template.key)):
            raise Conflict(
                f"The key of '{template.name}' cannot change: {_naming(users)} send it by "
                f"its key '{template.key}'.",
                [Problem(loc=("key",), msg=f"used by {_naming(users)}", type="in_use")],
            )
        for name, (_, value) in changes.items():
            setattr(template, name, value)
        template.version += 1
        template.updated_at = timezone.now()
        try:
            with transaction.atomic():
                template.save(update_fields=[*changes, "version", "updated_at"])
        except IntegrityError:
            raise _duplicate_key(cleaned["key"]) from None
        audit.record(actor=actor, action="update", obj=template, changes=changes)
    return template


def playbooks_using(actor: Actor, key: str) -> list[str]:
    """The names of the process definition's playbooks with a message step naming `key`."""
    spec = definition_for(actor.organisation)
    names: list[str] = []
    for playbook in playbooks_of(spec):
        if any(
            step.action == "message" and (step.params or {}).get("template") == key
            for step in playbook.steps
        ):
            names.append(playbook.name or playbook.key)
    return names


def _naming(names: list[str]) -> str:
    quoted = [f"'{name}'" for name in names]
    what = "the playbook" if len(names) == 1 else "the playbooks"
    return f"{what} {', '.join(quoted)}"


def message_template_delete(
    *, actor: Actor, template_id: int, expected_version: int | None = None
) -> None:
    """Refused (409, naming them) while a playbook of the process definition sends it."""
    with transaction.atomic():
        template = _locked(actor, template_id)
        _check_version(template, expected_version)
        users = playbooks_using(actor, template.key)
        if users:
            raise Conflict(
                f"'{template.name}' cannot be deleted: {_naming(users)} "
                f"{'sends' if len(users) == 1 else 'send'} it. Change the process definition "
                "first."
            )
        audit.record(
            actor=actor,
            action="delete",
            obj=template,
            changes={name: [getattr(template, name), None] for name in FIELDS},
        )
        template.delete()
