"""Rendering document templates in a sandbox: HTML with a Django template engine of its own
(no template loaders, autoescape on, only harmless tags and filters), then to PDF with
WeasyPrint (which may fetch nothing: no files, no network); DOCX with docxtpl through jinja2's
SandboxedEnvironment, autoescaped. Both are given only `merge_context(...)` dictionaries.

`unknown_fields_*` read a template without rendering it and name every variable that is not a
merge field, so a replacement file is refused before it is stored.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

import jinja2
from django.template import Context, Engine, Library, Node, NodeList, defaultfilters, defaulttags
from django.template.base import FilterExpression, Variable
from django.template.defaulttags import ForNode, WithNode
from jinja2 import nodes as jinja_nodes
from jinja2.sandbox import SandboxedEnvironment

# The documents are rendered to PDF with core's WeasyPrint set-up (shared with the reports).
from salesline.core.pdf import html_to_pdf as html_to_pdf

from .merge import MERGE_FIELDS

# ---------------------------------------------------------------- the sandboxed engines

# Tags that could reach outside the context (load, include, extends, url, debug) or turn
# escaping off (autoescape) are left out; so are the filters that mark text safe.
SAFE_TAGS = (
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)
UNSAFE_FILTERS = frozenset({"safe", "safeseq", "pprint"})

register = Library()
register.tags.update({name: defaulttags.register.tags[name] for name in SAFE_TAGS})
register.filters.update(
    {
        name: function
        for name, function in defaultfilters.register.filters.items()
        if name not in UNSAFE_FILTERS
    }
)


class SandboxEngine(Engine):
    # Engine always adds its default builtins; this one starts from none.
    default_builtins = []  # noqa: RUF012


@cache
def html_engine() -> Engine:
    return SandboxEngine(
        dirs=[],
        app_dirs=False,
        loaders=[],
        libraries={},
        builtins=[__name__],
        autoescape=True,
        debug=False,
    )


@cache
def jinja_environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(autoescape=True, undefined=jinja2.Undefined)


class TemplateProblem(ValueError):
    """A template that cannot be read or rendered; the message says why."""


def render_html(source: str, context: Mapping[str, Any]) -> str:
    try:
        template = html_engine().from_string(source)
        return template.render(Context(dict(context), autoescape=True))
    except Exception as exc:  # a syntax error, or a tag that is not in the sandbox
        raise TemplateProblem(f"The HTML template cannot be rendered: {exc}") from exc


def render_docx(source: bytes, context: Mapping[str, Any]) -> bytes:
    from docxtpl import DocxTemplate

    try:
        document = DocxTemplate(io.BytesIO(source))
        document.render(dict(context), jinja_env=jinja_environment(), autoescape=True)
        out = io.BytesIO()
        document.save(out)
    except Exception as exc:  # not a DOCX, or a template error
        raise TemplateProblem(f"The DOCX template cannot be rendered: {exc}") from exc
    return out.getvalue()


# ---------------------------------------------------------------- merge-field checks


def field_problem(path: tuple[str, ...]) -> str | None:
    """Why `path` (e.g. ("company", "nam")) is not a merge field, or None when it is one."""
    group, *rest = path
    if group not in MERGE_FIELDS:
        return f"'{'.'.join(path)}' is not a merge field (groups: {', '.join(MERGE_FIELDS)})."
    fields = MERGE_FIELDS[group]
    if not fields:
        return None if not rest else f"'{'.'.join(path)}' is not a merge field: use '{group}'."
    if not rest:
        return f"'{group}' is a group: name one of its fields ({', '.join(fields)})."
    if rest[0] not in fields:
        return f"'{group}.{rest[0]}' is not a merge field ({group} has: {', '.join(fields)})."
    return None


def _lookups_of_django(obj: Any, seen: set[int], found: list[tuple[str, ...]], local: set[str]):
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, FilterExpression):
        _lookups_of_django(obj.var, seen, found, local)
        for _function, arguments in obj.filters:
            for is_lookup, argument in arguments:
                if is_lookup:
                    _lookups_of_django(argument, seen, found, local)
    elif isinstance(obj, Variable):
        if obj.lookups:
            found.append(tuple(str(part) for part in obj.lookups))
    elif isinstance(obj, list | tuple | NodeList):
        for item in obj:
            _lookups_of_django(item, seen, found, local)
    elif isinstance(obj, dict):
        for item in obj.values():
            _lookups_of_django(item, seen, found, local)
    elif isinstance(obj, Node) or (
        # an {% if %}'s conditions (smartif operators and defaulttags.TemplateLiteral)
        type(obj).__module__ in {"django.template.smartif", "django.template.defaulttags"}
        and hasattr(obj, "__dict__")
    ):
        if isinstance(obj, ForNode):
            local.update(obj.loopvars)
        if isinstance(obj, WithNode):
            local.update(obj.extra_context)
        for name, value in vars(obj).items():
            if name not in {"origin", "token"}:
                _lookups_of_django(value, seen, found, local)


def unknown_fields_html(source: str) -> list[str]:
    """Every variable of an HTML template that is not a merge field (empty when all are)."""
    try:
        template = html_engine().from_string(source)
    except Exception as exc:
        raise TemplateProblem(f"The HTML template cannot be read: {exc}") from exc
    found: list[tuple[str, ...]] = []
    local: set[str] = {"forloop"}
    _lookups_of_django(template.nodelist, set(), found, local)
    return _problems(found, local)


def _problems(found: Iterable[tuple[str, ...]], local: set[str]) -> list[str]:
    problems: list[str] = []
    for path in found:
        if path[0] in local:
            continue
        problem = field_problem(path)
        if problem and problem not in problems:
            problems.append(problem)
    return problems


def docx_template_text(source: bytes) -> str:
    """The Jinja source of a DOCX's body, headers and footers, as docxtpl renders it."""
    from docxtpl import DocxTemplate

    try:
        document = DocxTemplate(io.BytesIO(source))
        document.init_docx()
        parts = [document.get_xml()]
        with zipfile.ZipFile(io.BytesIO(source)) as archive:
            for name in archive.namelist():
                if name.startswith(("word/header", "word/footer")) and name.endswith(".xml"):
                    parts.append(document.patch_xml(archive.read(name).decode("utf-8")))
    except Exception as exc:
        raise TemplateProblem(f"The file is not a DOCX document: {exc}") from exc
    return "\n".join(parts)


def unknown_fields_docx(source: bytes) -> list[str]:
    """Every variable of a DOCX template that is not a merge field (empty when all are)."""
    text = docx_template_text(source)
    try:
        tree = jinja_environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(f"The DOCX template cannot be read: {exc.message}") from exc
    local = {"loop"} | {
        target.name
        for node in tree.find_all((jinja_nodes.For, jinja_nodes.Assign, jinja_nodes.With))
        for target in node.find_all(jinja_nodes.Name)
        if target.ctx in {"store", "param"}
    }
    found: list[tuple[str, ...]] = []
    inner: set[int] = set()  # Name nodes already read as the start of an attribute path
    for node in tree.find_all((jinja_nodes.Getattr, jinja_nodes.Getitem)):
        path: list[str] = []
        current: jinja_nodes.Node = node
        while isinstance(current, jinja_nodes.Getattr | jinja_nodes.Getitem):
            if isinstance(current, jinja_nodes.Getattr):
                path.insert(0, current.attr)
            elif isinstance(current.arg, jinja_nodes.Const):
                path.insert(0, str(current.arg.value))
            else:
                path.clear()
            current = current.node
        if isinstance(current, jinja_nodes.Name):
            inner.add(id(current))
            found.append((current.name, *path[:1]))
    for name in tree.find_all(jinja_nodes.Name):
        if name.ctx == "load" and id(name) not in inner:
            found.append((name.name,))
    # A path whose head was read as a longer path is checked there, not again alone.
    return _problems(found, local)


# ---------------------------------------------------------------- sample data


def sample_context() -> dict[str, Any]:
    """Every merge field with a plausible value, to try a replacement template on."""
    today = date(2026, 1, 15)
    samples: dict[str, Any] = {
        group: {name: f"Sample {group} {name.replace('_', ' ')}" for name in fields}
        for group, fields in MERGE_FIELDS.items()
        if fields
    }
    for group in samples:
        for name in samples[group]:
            if name.endswith(("date", "_on", "_start", "_end")):
                samples[group][name] = today
            elif name in {"value", "amount"}:
                samples[group][name] = Decimal("1234.50")
            elif name == "currency":
                samples[group][name] = "EUR"
            elif name == "renewal_notice_days":
                samples[group][name] = 60
    if "invoice" in samples:
        samples["invoice"]["period_end"] = today + timedelta(days=30)
    samples["today"] = today
    return samples
