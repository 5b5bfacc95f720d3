"""The playbooks app's `work_types` section of the process definition: customer-service work
types (orders, issues, requests for quotation) with their standard workflow and checklist.

    work_types:
      order:
        name: Order
        queue: customer_service
        workflow: [received, confirmed, shipped, invoiced]
        checklist: [Credit checked, Delivery address confirmed]
        tolerance_days: 1

A work item is a Task with a `work_type`: it starts at the workflow's first step, in the type's
queue, with the type's checklist unticked and its tolerance. Pure module: no Django. See
docs/tasks.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from salesline.process.definition import Checker, ProcessDefinitionSpec, Section
from salesline.process.definition.schema import Document, Names, NoneIsEmptyMap

from .definition import ROLES

WORK_TYPES_KEY = "work_types"
MAX_TOLERANCE_DAYS = 365
STEP_MAX = 80
ITEM_MAX = 200
_KEY = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass(frozen=True)
class WorkType:
    key: str
    name: str
    queue: str
    workflow: tuple[str, ...]
    checklist: tuple[str, ...] = ()
    tolerance_days: int = 0
    due_in_working_days: int | None = None


def work_types_of(spec: ProcessDefinitionSpec) -> Mapping[str, WorkType]:
    return {work_type.key: work_type for work_type in spec.section(WORK_TYPES_KEY, ())}


class _WorkTypeDoc(Document):
    name: str
    queue: str
    workflow: Names
    checklist: Names = []
    tolerance_days: int = 0
    due_in_working_days: int | None = None


def check_work_types(checker: Checker, work_types: object) -> None:
    if not isinstance(work_types, dict):
        return  # the schema reports the shape
    for key, work_type in work_types.items():
        path = (WORK_TYPES_KEY, key)
        if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > 80:
            checker.report(
                path,
                f"work type key '{key}' may use only lowercase letters, digits, '-' and '_' "
                "(at most 80)",
            )
        if not isinstance(work_type, dict):
            continue
        checker.not_blank(work_type, path, "name")
        queue = work_type.get("queue")
        if isinstance(queue, str) and queue not in ROLES:
            checker.report((*path, "queue"), f"unknown queue '{queue}': one of {', '.join(ROLES)}")
        workflow = work_type.get("workflow")
        if workflow is None or (isinstance(workflow, list) and not workflow):
            checker.report((*path, "workflow"), "a work type needs at least one workflow step")
        for name, limit in (("workflow", STEP_MAX), ("checklist", ITEM_MAX)):
            items = work_type.get(name)
            if not isinstance(items, list):
                continue
            seen: set[str] = set()
            for index, item in enumerate(items):
                if not isinstance(item, str):
                    continue
                if not item.strip():
                    checker.report((*path, name, index), "must not be blank")
                elif len(item) > limit:
                    checker.report((*path, name, index), f"must be at most {limit} characters")
                elif item in seen:
                    checker.report((*path, name, index), f"'{item}' is listed twice")
                seen.add(item)
        tolerance = work_type.get("tolerance_days")
        if isinstance(tolerance, int) and not 0 <= tolerance <= MAX_TOLERANCE_DAYS:
            checker.report(
                (*path, "tolerance_days"), f"must be a whole number from 0 to {MAX_TOLERANCE_DAYS}"
            )
        due = work_type.get("due_in_working_days")
        if isinstance(due, int) and not 0 <= due <= 3650:
            checker.report((*path, "due_in_working_days"), "must be a whole number from 0 to 3650")


def build_work_types(documents: dict[str, _WorkTypeDoc]) -> tuple[WorkType, ...]:
    return tuple(
        WorkType(
            key=key,
            name=doc.name,
            queue=doc.queue,
            workflow=tuple(doc.workflow),
            checklist=tuple(doc.checklist),
            tolerance_days=doc.tolerance_days,
            due_in_working_days=doc.due_in_working_days,
        )
        for key, doc in documents.items()
    )


def work_types_to_dict(work_types: tuple[WorkType, ...]) -> list[dict[str, Any]]:
    return [
        {
            "key": w.key,
            "name": w.name,
            "queue": w.queue,
            "workflow": list(w.workflow),
            "checklist": list(w.checklist),
            "tolerance_days": w.tolerance_days,
            "due_in_working_days": w.due_in_working_days,
        }
        for w in work_types
    ]


def work_types_from_dict(data: list[Mapping[str, Any]]) -> tuple[WorkType, ...]:
    return tuple(
        WorkType(
            key=w["key"],
            name=w["name"],
            queue=w["queue"],
            workflow=tuple(w["workflow"]),
            checklist=tuple(w.get("checklist", ())),
            tolerance_days=w.get("tolerance_days", 0),
            due_in_working_days=w.get("due_in_working_days"),
        )
        for w in data
    )


def dump_work_types(full: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not full:
        return None
    dumped: dict[str, Any] = {}
    for w in full:
        entry: dict[str, Any] = {"name": w["name"], "queue": w["queue"], "workflow": w["workflow"]}
        if w.get("checklist"):
            entry["checklist"] = w["checklist"]
        if w.get("tolerance_days"):
            entry["tolerance_days"] = w["tolerance_days"]
        if w.get("due_in_working_days") is not None:
            entry["due_in_working_days"] = w["due_in_working_days"]
        dumped[w["key"]] = entry
    return dumped


WORK_TYPES_SECTION = Section(
    key=WORK_TYPES_KEY,
    schema=Annotated[dict[str, _WorkTypeDoc], NoneIsEmptyMap],
    default=tuple,
    check=check_work_types,
    build=build_work_types,
    to_dict=work_types_to_dict,
    from_dict=work_types_from_dict,
    dump=dump_work_types,
)
