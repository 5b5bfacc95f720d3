"""The playbooks app's sections of the process definition: `message_templates` and `playbooks`.

A playbook is a trigger and steps, written next to the stage gates:

    playbooks:
      - key: hail-the-lead
        name: Hail the lead
        trigger: {stage_entered: {pipeline: partnerships, stage: lead}}
        steps:
          - key: hail
            message: {template: hail-the-lead}

Registered with the process definition in PlaybooksConfig.ready(). Pure module: no Django
(the merge-field check of message templates is handed in by the app, `set_template_check`).
See docs/playbooks.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import model_validator

from salesline.process.definition import Checker, ProcessDefinitionSpec, Section
from salesline.process.definition.checker import Raw, entries, or_list
from salesline.process.definition.loader import Path
from salesline.process.definition.schema import Document, Names, NoneIsEmpty

PLAYBOOKS_KEY = "playbooks"
MESSAGE_TEMPLATES_KEY = "message_templates"

#: Roles whose queues a task can wait in (accounts.Role's values; a test keeps them equal).
ROLES = (
    "admin",
    "salesperson",
    "sales_coordinator",
    "project_leader",
    "customer_service",
    "inside_sales",
    "promotions_coordinator",
    "sales_support_manager",
    "special_projects_coordinator",
)
#: Trigger kinds: those about a stage name it; the rest name nothing or their own parameters.
STAGE_TRIGGERS = ("stage_entered", "stage_left")
PLAIN_TRIGGERS = ("lead_created", "opportunity_won", "opportunity_lost", "agreement_signed")
#: A playbook step's task completed: {task_done: {playbook: launch, step: launch-meeting}}.
TASK_TRIGGERS = ("task_done",)
SCHEDULED_TRIGGERS = ("agreement_ending", "date_reached", "every")
TRIGGERS = (*STAGE_TRIGGERS, *PLAIN_TRIGGERS, *TASK_TRIGGERS, *SCHEDULED_TRIGGERS)
#: Event kinds that start playbooks (the scheduled kinds are found by the schedules instead).
EVENT_TRIGGERS = (*STAGE_TRIGGERS, *PLAIN_TRIGGERS, *TASK_TRIGGERS)
ACTIONS = ("task", "message", "document", "agreement")
BILLING_FREQUENCIES = ("monthly", "quarterly", "annually", "once")
DOCUMENT_FORMATS = ("pdf", "docx")
#: The records' user-valued fields a task step's `assignee` may name. Leads and opportunities
#: have one, the owner (custom fields have no user type); a new one is added here and on both
#: records (the engine reads `<field>_id`).
ASSIGNEE_FIELDS = ("owner",)
#: What a recurring schedule counts from: the agreement's dates, or the day it was won.
EVERY_ANCHORS = ("signed_on", "start_date", "won")
MAX_DAYS = 3650


# --- the spec -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    kind: str
    pipeline: str | None = None
    stage: str | None = None
    #: agreement_ending: days before the end (None: the agreement's renewal notice);
    #: date_reached: days before the date.
    days_before: int | None = None
    days_after: int = 0
    #: date_reached: the opportunity's date field.
    field: str | None = None
    #: every: the interval (one of them) and what it counts from; `times`: at most this many.
    months: int = 0
    weeks: int = 0
    days: int = 0
    after: str | None = None
    times: int | None = None
    #: task_done: the playbook and step whose task was completed.
    playbook: str | None = None
    step: str | None = None

    @property
    def record(self) -> str:
        """The record a run of this trigger is about: lead or opportunity (task_done: the
        completed task's record, which is the named playbook's)."""
        return "lead" if self.kind == "lead_created" else "opportunity"

    def describe(self) -> str:
        if self.kind in STAGE_TRIGGERS:
            where = f"{self.pipeline}/{self.stage}" if self.pipeline else f"{self.stage}"
            return f"{'entering' if self.kind == 'stage_entered' else 'leaving'} {where}"
        if self.kind == "agreement_ending":
            days = self.days_before
            return (
                f"{days} days before an agreement ends"
                if days is not None
                else "an agreement's renewal notice date"
            )
        if self.kind == "date_reached":
            if self.days_before:
                return f"{self.days_before} days before {self.field}"
            if self.days_after:
                return f"{self.days_after} days after {self.field}"
            return f"{self.field} reached"
        if self.kind == "every":
            unit, count = next(
                (name, n)
                for name, n in (("month", self.months), ("week", self.weeks), ("day", self.days))
                if n
            )
            return f"every {count} {unit}{'s' if count > 1 else ''} after {self.after}"
        if self.kind == "task_done":
            return f"completing the task of {self.playbook}/{self.step}"
        scope = f" in {self.pipeline}" if self.pipeline else ""
        return self.kind.replace("_", " ") + scope


@dataclass(frozen=True)
class Step:
    key: str
    name: str
    action: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Playbook:
    key: str
    name: str
    trigger: Trigger
    steps: tuple[Step, ...]
    description: str = ""


@dataclass(frozen=True)
class MessageTemplateSpec:
    key: str
    name: str
    subject: str
    body: str
    from_email: str = ""
    attachments: tuple[str, ...] = ()


def playbooks_of(spec: ProcessDefinitionSpec) -> tuple[Playbook, ...]:
    return spec.section(PLAYBOOKS_KEY, ())


def message_templates_of(spec: ProcessDefinitionSpec) -> tuple[MessageTemplateSpec, ...]:
    return spec.section(MESSAGE_TEMPLATES_KEY, ())


# --- YAML shape -------------------------------------------------------------------------------


class _TaskDoc(Document):
    title: str
    instructions: str = ""
    assignee: str | None = None  # a user-valued field of the record (ASSIGNEE_FIELDS)
    queue: str | None = None  # a role
    due_in_working_days: int | None = None


class _MessageDoc(Document):
    template: str
    send: bool = False  # False: a draft a person reviews and sends


class _DocumentDoc(Document):
    template: str
    format: str = "pdf"


class _AgreementDoc(Document):
    billing_frequency: str = "monthly"
    renewal_notice_days: int = 60
    term_months: int | None = None


class _StepDoc(Document):
    key: str
    name: str = ""
    task: _TaskDoc | None = None
    message: _MessageDoc | None = None
    document: _DocumentDoc | None = None
    agreement: _AgreementDoc | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_action_is_empty(cls, data: Any) -> Any:
        # "agreement:" with nothing after it means an agreement with the defaults.
        if isinstance(data, dict):
            return {k: {} if k in ACTIONS and v is None else v for k, v in data.items()}
        return data


class _PlaybookDoc(Document):
    key: str
    name: str
    description: str = ""
    # Checked and built by hand: a trigger is a word (lead_created) or a one-key mapping.
    trigger: Any
    steps: Annotated[list[_StepDoc], NoneIsEmpty] = []


class _MessageTemplateDoc(Document):
    key: str
    name: str
    subject: str
    body: str
    from_email: str = ""
    attachments: Names = []


# --- checks -----------------------------------------------------------------------------------

type TemplateCheck = Callable[[str], list[str]]
_template_check: list[TemplateCheck] = []


def set_template_check(check: TemplateCheck) -> None:
    """The merge-field check of subjects and bodies (merge.template_problems), handed in by the
    app so this module stays pure."""
    _template_check[:] = [check]


#: Document template keys a step may name (the documents catalogue sets them).
_document_templates: set[str] = set()


def set_document_templates(keys: set[str] | frozenset[str]) -> None:
    _document_templates.clear()
    _document_templates.update(keys)


def _trigger_parts(raw: object) -> tuple[str | None, object]:
    if isinstance(raw, str):
        return raw, {}
    if isinstance(raw, dict) and len(raw) == 1:
        kind, params = next(iter(raw.items()))
        return (kind if isinstance(kind, str) else None), ({} if params is None else params)
    return None, None


def _stage_keys(checker: Checker) -> dict[str, set[str]]:
    """pipeline key -> its stage keys, from the same document."""
    keys: dict[str, set[str]] = {}
    for _, pipeline in entries(checker.document, "pipelines"):
        if isinstance(pipeline.get("key"), str):
            keys[pipeline["key"]] = {
                stage["key"] for _, stage in entries(pipeline, "stages") if "key" in stage
            }
    return keys


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_trigger(checker: Checker, raw: object, path: Path) -> str | None:
    kind, params = _trigger_parts(raw)
    if kind is None or not isinstance(params, dict):
        checker.report(
            path,
            "a trigger is one of "
            f"{or_list(TRIGGERS)}, written as a word (lead_created) or with its settings "
            "({stage_entered: {stage: qualify}})",
        )
        return None
    if kind not in TRIGGERS:
        checker.report(path, f"unknown trigger '{kind}' (use {or_list(TRIGGERS)})")
        return None
    allowed = {
        "stage_entered": {"pipeline", "stage"},
        "stage_left": {"pipeline", "stage"},
        "opportunity_won": {"pipeline"},
        "opportunity_lost": {"pipeline"},
        "lead_created": set(),
        "agreement_signed": set(),
        "task_done": {"playbook", "step"},
        "agreement_ending": {"days_before"},
        "date_reached": {"field", "days_before", "days_after"},
        "every": {"months", "weeks", "days", "after", "times"},
    }[kind]
    where = (*path, kind)
    for name in params:
        if name not in allowed:
            hint = f" (use {or_list(sorted(allowed))})" if allowed else ""
            checker.report((*where, name), f"unknown key '{name}' for {kind}{hint}")
    stages = _stage_keys(checker)
    pipeline = params.get("pipeline")
    if pipeline is not None and pipeline not in stages:
        checker.report((*where, "pipeline"), f"unknown pipeline '{pipeline}'")
    if kind in STAGE_TRIGGERS:
        stage = params.get("stage")
        if not isinstance(stage, str):
            checker.report(where, f"{kind} needs the stage's key, e.g. {{stage: qualify}}")
        elif pipeline in stages and stage not in stages[pipeline]:
            checker.report((*where, "stage"), f"pipeline '{pipeline}' has no stage '{stage}'")
        elif pipeline is None and not any(stage in keys for keys in stages.values()):
            checker.report((*where, "stage"), f"no pipeline has a stage '{stage}'")
    elif kind == "task_done":
        _check_task_done(checker, params, where)
    elif kind == "agreement_ending":
        days = params.get("days_before")
        if days is not None and not _whole(days, 0, MAX_DAYS):
            checker.report((*where, "days_before"), f"must be a whole number from 0 to {MAX_DAYS}")
    elif kind == "date_reached":
        name = params.get("field")
        date_fields = sorted(
            n for n, t in checker.fields.get("opportunity", {}).items() if t == "date"
        )
        if not isinstance(name, str) or checker.fields.get("opportunity", {}).get(name) != "date":
            checker.report(
                (*where, "field"),
                f"date_reached needs an opportunity date field ({or_list(date_fields)})",
            )
        for key in ("days_before", "days_after"):
            if key in params and not _whole(params[key], 0, MAX_DAYS):
                checker.report((*where, key), f"must be a whole number from 0 to {MAX_DAYS}")
    elif kind == "every":
        given = [unit for unit in ("months", "weeks", "days") if unit in params]
        if len(given) != 1:
            checker.report(where, "every needs one interval: months, weeks or days")
        for unit in given:
            if not _whole(params[unit], 1, 120 if unit == "months" else MAX_DAYS):
                checker.report((*where, unit), "must be a whole number of at least 1")
        anchor = params.get("after")
        date_fields = [n for n, t in checker.fields.get("opportunity", {}).items() if t == "date"]
        anchors = (*EVERY_ANCHORS, *date_fields)
        if anchor not in anchors:
            checker.report(
                (*where, "after"), f"every needs what it counts from: {or_list(list(anchors))}"
            )
        if "times" in params and not _whole(params["times"], 1, 1000):
            checker.report((*where, "times"), "must be a whole number from 1 to 1000")
    return kind


def _check_task_done(checker: Checker, params: Raw, where: Path) -> None:
    """task_done names a playbook of the same document and one of its task steps."""
    playbook_key, step_key = params.get("playbook"), params.get("step")
    if not isinstance(playbook_key, str) or not isinstance(step_key, str):
        checker.report(
            where,
            "task_done needs the playbook and its task step, e.g. {playbook: launch, step: "
            "launch-meeting}",
        )
        return
    playbooks = {
        p["key"]: p
        for _, p in entries(checker.document, PLAYBOOKS_KEY)
        if isinstance(p.get("key"), str)
    }
    named = playbooks.get(playbook_key)
    if named is None:
        checker.report(
            (*where, "playbook"),
            f"unknown playbook '{playbook_key}' (this file has {or_list(sorted(playbooks))})",
        )
        return
    steps = {s["key"]: s for _, s in entries(named, "steps") if isinstance(s.get("key"), str)}
    step = steps.get(step_key)
    if step is None:
        checker.report(
            (*where, "step"),
            f"playbook '{playbook_key}' has no step '{step_key}' (it has {or_list(list(steps))})",
        )
    elif step.get("task", False) is False:
        tasks = [key for key, s in steps.items() if s.get("task", False) is not False]
        checker.report(
            (*where, "step"),
            f"step '{step_key}' of playbook '{playbook_key}' makes no task, so it is never "
            f"done (its task steps: {or_list(tasks) if tasks else 'none'})",
        )


def _trigger_record(checker: Checker, raw: object) -> str:
    """The record a trigger's runs are about, following task_done to the playbook it names."""
    seen: set[str] = set()
    while True:
        kind, params = _trigger_parts(raw)
        if kind == "lead_created":
            return "lead"
        if kind != "task_done" or not isinstance(params, dict):
            return "opportunity"
        key = params.get("playbook")
        if not isinstance(key, str) or key in seen:
            return "opportunity"
        seen.add(key)
        raw = next(
            (
                p.get("trigger")
                for _, p in entries(checker.document, PLAYBOOKS_KEY)
                if p.get("key") == key
            ),
            None,
        )


def _check_step(checker: Checker, step: Raw, path: Path, record: str) -> None:
    actions = [action for action in ACTIONS if step.get(action, False) is not False]
    if len(actions) != 1:
        checker.report(path, f"a step does exactly one thing: {or_list(ACTIONS)}")
        return
    action = actions[0]
    params = step.get(action) or {}
    if not isinstance(params, dict):
        return  # pydantic reports it
    where = (*path, action)
    if action == "task":
        checker.not_blank(params, where, "title")
        for part in ("title", "instructions"):
            text = params.get(part)
            if isinstance(text, str) and _template_check:
                for problem in _template_check[0](text):
                    checker.report((*where, part), problem)
        assignee, queue = params.get("assignee"), params.get("queue")
        if assignee is not None and queue is not None:
            checker.report(where, "a task goes to an assignee or to a queue, not both")
        if assignee is not None and assignee not in ASSIGNEE_FIELDS:
            checker.report(
                (*where, "assignee"),
                f"unknown assignee field '{assignee}': the assignee is a user-valued field of "
                f"the record, and leads and opportunities have one, {or_list(ASSIGNEE_FIELDS)} "
                "(or give a queue: a role)",
            )
        if queue is not None and queue not in ROLES:
            checker.report((*where, "queue"), f"unknown role '{queue}' (use {or_list(ROLES)})")
        days = params.get("due_in_working_days")
        if days is not None and not _whole(days, 0, 365):
            checker.report((*where, "due_in_working_days"), "must be a whole number from 0 to 365")
    elif action == "message":
        template = params.get("template")
        declared = {
            t["key"]
            for _, t in entries(checker.document, MESSAGE_TEMPLATES_KEY)
            if isinstance(t.get("key"), str)
        }
        if isinstance(template, str) and declared and template not in declared:
            # Templates may also be made in the app; only a file that declares some is checked.
            checker.report(
                (*where, "template"),
                f"unknown message template '{template}' (this file declares "
                f"{or_list(sorted(declared))})",
            )
    elif action == "document":
        template = params.get("template")
        if (
            isinstance(template, str)
            and _document_templates
            and template not in (_document_templates)
        ):
            checker.report(
                (*where, "template"),
                f"unknown document template '{template}' "
                f"(use {or_list(sorted(_document_templates))})",
            )
        if params.get("format", "pdf") not in DOCUMENT_FORMATS:
            checker.report((*where, "format"), "must be pdf or docx")
    elif action == "agreement":
        if record == "lead":
            checker.report(where, "an agreement needs an opportunity: a lead has none")
        frequency = params.get("billing_frequency", "monthly")
        if frequency not in BILLING_FREQUENCIES:
            checker.report((*where, "billing_frequency"), f"must be {or_list(BILLING_FREQUENCIES)}")
        notice = params.get("renewal_notice_days", 60)
        if not _whole(notice, 0, MAX_DAYS):
            checker.report(
                (*where, "renewal_notice_days"), f"must be a whole number from 0 to {MAX_DAYS}"
            )
        term = params.get("term_months")
        if term is not None and not _whole(term, 1, 120):
            checker.report((*where, "term_months"), "must be a whole number from 1 to 120")


def check_playbooks(checker: Checker, playbooks: object) -> None:
    seen: set[str] = set()
    for index, playbook in entries({PLAYBOOKS_KEY: playbooks}, PLAYBOOKS_KEY):
        path = (PLAYBOOKS_KEY, index)
        key = checker.slug(playbook, path, "playbook")
        if key in seen:
            checker.report((*path, "key"), f"duplicate playbook key '{key}'")
        seen.add(key or "")
        checker.not_blank(playbook, path, "name")
        _check_trigger(checker, playbook.get("trigger"), (*path, "trigger"))
        record = _trigger_record(checker, playbook.get("trigger"))
        steps = playbook.get("steps")
        if isinstance(steps, list) and not steps or steps is None:
            checker.report((*path, "steps"), "a playbook needs at least one step")
        step_keys: set[str] = set()
        for step_index, step in entries(playbook, "steps"):
            step_path = (*path, "steps", step_index)
            step_key = checker.slug(step, step_path, "step")
            if step_key in step_keys:
                checker.report((*step_path, "key"), f"duplicate step key '{step_key}'")
            step_keys.add(step_key or "")
            _check_step(checker, step, step_path, record)


def check_message_templates(checker: Checker, templates: object) -> None:
    seen: set[str] = set()
    for index, template in entries({MESSAGE_TEMPLATES_KEY: templates}, MESSAGE_TEMPLATES_KEY):
        path = (MESSAGE_TEMPLATES_KEY, index)
        key = checker.slug(template, path, "message template")
        if key in seen:
            checker.report((*path, "key"), f"duplicate message template key '{key}'")
        seen.add(key or "")
        checker.not_blank(template, path, "name")
        checker.not_blank(template, path, "subject", max_length=255)
        body = template.get("body")
        if isinstance(body, str) and not body.strip():
            checker.report((*path, "body"), "must not be blank")
        for part in ("subject", "body"):
            text = template.get(part)
            if isinstance(text, str) and _template_check:
                for problem in _template_check[0](text):
                    checker.report((*path, part), problem)
        attachments = template.get("attachments")
        if isinstance(attachments, list) and _document_templates:
            for item_index, name in enumerate(attachments):
                if isinstance(name, str) and name not in _document_templates:
                    checker.report(
                        (*path, "attachments", item_index),
                        f"unknown document template '{name}'",
                    )


# --- build, JSON and YAML -----------------------------------------------------------------------


def _build_trigger(raw: Any) -> Trigger:
    kind, params = _trigger_parts(raw)
    if kind is None or not isinstance(params, dict):  # the checker refused it already
        raise ValueError(f"not a trigger: {raw!r}")
    return Trigger(
        kind=kind,
        pipeline=params.get("pipeline"),
        stage=params.get("stage"),
        days_before=params.get("days_before"),
        days_after=params.get("days_after", 0),
        field=params.get("field"),
        months=params.get("months", 0),
        weeks=params.get("weeks", 0),
        days=params.get("days", 0),
        after=params.get("after"),
        times=params.get("times"),
        playbook=params.get("playbook"),
        step=params.get("step"),
    )


def _build_step(step: _StepDoc) -> Step:
    for action in ACTIONS:
        params = getattr(step, action)
        if params is not None:
            return Step(step.key, step.name, action, params.model_dump())
    raise AssertionError("the checker requires one action per step")


def build_playbooks(documents: list[_PlaybookDoc]) -> tuple[Playbook, ...]:
    return tuple(
        Playbook(
            key=doc.key,
            name=doc.name,
            description=doc.description,
            trigger=_build_trigger(doc.trigger),
            steps=tuple(_build_step(step) for step in doc.steps),
        )
        for doc in documents
    )


_TRIGGER_DEFAULTS = Trigger(kind="")


def _trigger_to_dict(trigger: Trigger) -> dict[str, Any]:
    return {
        name: getattr(trigger, name)
        for name in (
            "kind",
            "pipeline",
            "stage",
            "days_before",
            "days_after",
            "field",
            "months",
            "weeks",
            "days",
            "after",
            "times",
            "playbook",
            "step",
        )
    }


def playbooks_to_dict(playbooks: tuple[Playbook, ...]) -> list[dict[str, Any]]:
    return [
        {
            "key": p.key,
            "name": p.name,
            "description": p.description,
            "trigger": _trigger_to_dict(p.trigger),
            "steps": [
                {"key": s.key, "name": s.name, "action": s.action, "params": dict(s.params)}
                for s in p.steps
            ],
        }
        for p in playbooks
    ]


def playbooks_from_dict(data: list[Mapping[str, Any]]) -> tuple[Playbook, ...]:
    return tuple(
        Playbook(
            key=p["key"],
            name=p["name"],
            description=p.get("description", ""),
            trigger=Trigger(**p["trigger"]),
            steps=tuple(
                Step(s["key"], s.get("name", ""), s["action"], dict(s["params"]))
                for s in p["steps"]
            ),
        )
        for p in data
    )


_STEP_DEFAULTS = {
    "task": _TaskDoc(title="").model_dump(),
    "message": _MessageDoc(template="").model_dump(),
    "document": _DocumentDoc(template="").model_dump(),
    "agreement": _AgreementDoc().model_dump(),
}


def dump_playbooks(full: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    if not full:
        return None
    playbooks = []
    for playbook in full:
        trigger = dict(playbook["trigger"])
        kind = trigger.pop("kind")
        params = {
            name: value
            for name, value in trigger.items()
            if value != getattr(_TRIGGER_DEFAULTS, name)
        }
        compact: dict[str, Any] = {"key": playbook["key"], "name": playbook["name"]}
        if playbook.get("description"):
            compact["description"] = playbook["description"]
        compact["trigger"] = {kind: params} if params else kind
        steps = []
        for step in playbook["steps"]:
            action = step["action"]
            defaults = _STEP_DEFAULTS[action]
            step_params = {
                name: value
                for name, value in step["params"].items()
                if name not in defaults or value != defaults[name] or name in ("title", "template")
            }
            entry: dict[str, Any] = {"key": step["key"]}
            if step.get("name"):
                entry["name"] = step["name"]
            entry[action] = step_params
            steps.append(entry)
        compact["steps"] = steps
        playbooks.append(compact)
    return playbooks


def build_message_templates(
    documents: list[_MessageTemplateDoc],
) -> tuple[MessageTemplateSpec, ...]:
    return tuple(
        MessageTemplateSpec(
            key=doc.key,
            name=doc.name,
            subject=doc.subject,
            body=doc.body,
            from_email=doc.from_email,
            attachments=tuple(doc.attachments),
        )
        for doc in documents
    )


def message_templates_to_dict(templates: tuple[MessageTemplateSpec, ...]) -> list[dict[str, Any]]:
    return [
        {
            "key": t.key,
            "name": t.name,
            "subject": t.subject,
            "body": t.body,
            "from_email": t.from_email,
            "attachments": list(t.attachments),
        }
        for t in templates
    ]


def message_templates_from_dict(data: list[Mapping[str, Any]]) -> tuple[MessageTemplateSpec, ...]:
    return tuple(
        MessageTemplateSpec(
            key=t["key"],
            name=t["name"],
            subject=t["subject"],
            body=t["body"],
            from_email=t.get("from_email", ""),
            attachments=tuple(t.get("attachments", ())),
        )
        for t in data
    )


def dump_message_templates(full: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    if not full:
        return None
    return [{key: value for key, value in t.items() if value or key == "body"} for t in full]


# Message templates come first: the playbooks below name them.
MESSAGE_TEMPLATES_SECTION = Section(
    key=MESSAGE_TEMPLATES_KEY,
    schema=list[_MessageTemplateDoc],
    default=tuple,
    check=check_message_templates,
    build=build_message_templates,
    to_dict=message_templates_to_dict,
    from_dict=message_templates_from_dict,
    dump=dump_message_templates,
)

PLAYBOOKS_SECTION = Section(
    key=PLAYBOOKS_KEY,
    schema=list[_PlaybookDoc],
    default=tuple,
    check=check_playbooks,
    build=build_playbooks,
    to_dict=playbooks_to_dict,
    from_dict=playbooks_from_dict,
    dump=dump_playbooks,
)

PLAYBOOK_SECTIONS = (MESSAGE_TEMPLATES_SECTION, PLAYBOOKS_SECTION)
