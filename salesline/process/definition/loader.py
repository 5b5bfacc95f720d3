"""YAML loading with the line of every node, and the problems a definition can have.

Pure module: no Django. A problem names its YAML line and a path such as
``pipelines[0].stages[2].gate.require[1]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

type Path = tuple[str | int, ...]
type Lines = Mapping[Path, int]


@dataclass(frozen=True)
class DefinitionProblem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        if self.line is None:
            return f"{where}{self.message}"
        return f"line {self.line}: {where}{self.message}"


class DefinitionError(Exception):
    def __init__(self, problems: list[DefinitionProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def format_path(path: Path) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _index_lines(
    node: yaml.Node, path: Path, lines: dict[Path, int], problems: list[DefinitionProblem]
) -> None:
    """Record the line of every node by path (a mapping entry by its key's line)."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML silently keeps the last value; a manager deserves to hear about it.
                problems.append(
                    DefinitionProblem(line, format_path(child), f"duplicate key '{key}'")
                )
            seen.add(key)
            _index_lines(value_node, child, lines, problems)
            lines[child] = line  # after the value's own line: a block value starts lower
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, problems)


def line_for(path: Path, lines: Lines) -> int | None:
    # A missing key has no node of its own: point at the nearest enclosing one.
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def load_yaml(text: str) -> tuple[Any, dict[Path, int], list[DefinitionProblem]]:
    """The document's data, the line of each path, and any duplicate-key problems.

    Raises DefinitionError for a YAML syntax error: nothing further can be checked then.
    """
    loader = yaml.SafeLoader(text)
    lines: dict[Path, int] = {}
    problems: list[DefinitionProblem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, problems
        _index_lines(node, (), lines, problems)
        return loader.construct_document(node), lines, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or "invalid YAML"
        if exc.context:
            message = f"{message} ({exc.context})"
        line = mark.line + 1 if mark else None
        raise DefinitionError([DefinitionProblem(line, "", f"invalid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([DefinitionProblem(None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def line_index(text: str) -> dict[Path, int]:
    """The line of each path of a document, or {} when it is not valid YAML (for showing a
    problem next to its line without parsing the definition again)."""
    try:
        return load_yaml(text)[1]
    except DefinitionError:
        return {}
