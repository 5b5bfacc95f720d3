"""Where in an uploaded process definition each problem is: its line number and that line's text.

The parser's problems name their line in their message ("line 12: path: message") and their
place as a path (``pipelines[0].stages[2].gate.require[1]``); the data-loss check names a
pipeline by key. This module turns either into a line of the uploaded text, so the settings page
can show every problem beside the line it is about. Pure: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import yaml

_LINE_PREFIX = re.compile(r"line (\d+): ")
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

type Path = tuple[str | int, ...]


@dataclass(frozen=True)
class LocatedProblem:
    line: int | None
    path: str
    message: str
    source_line: str | None  # the uploaded text of that line, as written


def parse_path(text: str) -> Path:
    """'pipelines[0].stages[2].key' -> ('pipelines', 0, 'stages', 2, 'key')."""
    return tuple(int(index) if index else name for name, index in _PATH_PART.findall(text or ""))


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None  # a syntax error carries its own line


def _index(node: yaml.Node, path: Path, lines: dict[Path, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            # A mapping entry is where its key is written; a block value starts a line lower.
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, (*path, position), lines)


def _line_of(path: Path, lines: dict[Path, int]) -> int | None:
    # A missing key has no line of its own: the nearest enclosing entry is where to add it.
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _entry_with_key(root: yaml.Node | None, section: str, key: str) -> Path | None:
    """The path of the list entry in `section` whose `key` is `key` (a pipeline by key)."""
    if not isinstance(root, yaml.MappingNode):
        return None
    for key_node, value_node in root.value:
        if key_node.value != section or not isinstance(value_node, yaml.SequenceNode):
            continue
        for position, item in enumerate(value_node.value):
            if isinstance(item, yaml.MappingNode) and any(
                k.value == "key" and isinstance(v, yaml.ScalarNode) and v.value == key
                for k, v in item.value
            ):
                return (section, position)
    return None


def locate_problems(text: str, problems: Iterable) -> list[LocatedProblem]:
    """Each problem (a salesline.core.errors.Problem from process_check or process_load) with
    the line of `text` it is about, when there is one."""
    root = _compose(text)
    lines: dict[Path, int] = {}
    if root is not None:
        _index(root, (), lines)
    source = text.splitlines()
    located = []
    for problem in problems:
        loc = tuple(problem.loc)[1:]  # drop the leading "definition"
        message = problem.msg
        line: int | None = None
        path = ""
        if len(loc) == 1 and isinstance(loc[0], str):
            path = loc[0]
            if match := _LINE_PREFIX.match(message):
                line, message = int(match.group(1)), message[match.end() :]
            if path and message.startswith(f"{path}: "):
                message = message[len(path) + 2 :]
            if line is None and path:
                line = _line_of(parse_path(path), lines)
        elif len(loc) == 2 and loc[0] in ("pipelines", "custom_fields"):
            # A data-loss problem names what the upload removes; a pipeline that is still there
            # (but lost a stage) has a line, a removed one has none.
            path = f"{loc[0]}.{loc[1]}"
            if loc[0] == "pipelines" and (entry := _entry_with_key(root, "pipelines", str(loc[1]))):
                line = _line_of(entry, lines)
        source_line = source[line - 1] if line and 0 < line <= len(source) else None
        located.append(LocatedProblem(line, path, message[:1].upper() + message[1:], source_line))
    return located
