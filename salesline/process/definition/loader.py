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


# A process definition is a few kilobytes (the templates are under 3 KB); these bounds are far
# above any real one and far below what hurts: a "billion laughs" file of nested aliases is a few
# hundred bytes that expand to 10^9 nodes, and deep nesting exhausts the parser's recursion.
MAX_DEFINITION_CHARS = 1_000_000
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 50_000


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses nesting deeper than MAX_DEPTH while composing (PyYAML's composer
    recurses once per level, so it must stop before Python's recursion limit does)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise DefinitionError(
                    [
                        DefinitionProblem(
                            mark.line + 1,
                            "",
                            f"the definition nests more than {MAX_DEPTH} levels deep",
                        )
                    ]
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expansion(root: yaml.Node) -> None:
    """Refuse an alias that contains itself, and aliases that multiply the document beyond
    MAX_EXPANDED_NODES, before anything walks the expanded tree. Aliases make the node graph a
    DAG whose shared parts count once per use: sizes are summed bottom-up, each node once."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        children = _children(node)
        if children_done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(child)] for child in children)
            if size[key] > MAX_EXPANDED_NODES:
                raise DefinitionError(
                    [
                        DefinitionProblem(
                            node.start_mark.line + 1,
                            "",
                            "the definition's aliases expand it to more than "
                            f"{MAX_EXPANDED_NODES:,} values",
                        )
                    ]
                )
            continue
        if key in size:
            continue
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise DefinitionError(
                    [
                        DefinitionProblem(
                            child.start_mark.line + 1, "", "an alias refers to a node containing it"
                        )
                    ]
                )
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def load_yaml(text: str) -> tuple[Any, dict[Path, int], list[DefinitionProblem]]:
    """The document's data, the line of each path, and any duplicate-key problems.

    Raises DefinitionError for a YAML syntax error, or for a document too large, too deep or
    too expanded by aliases to check: nothing further can be checked then.
    """
    if len(text) > MAX_DEFINITION_CHARS:
        raise DefinitionError(
            [
                DefinitionProblem(
                    None,
                    "",
                    f"the definition is {len(text):,} characters long; the limit is "
                    f"{MAX_DEFINITION_CHARS:,}",
                )
            ]
        )
    loader = _BoundedLoader(text)
    lines: dict[Path, int] = {}
    problems: list[DefinitionProblem] = []
    try:
        node = loader.get_single_node()
        if node is None:
            return None, lines, problems
        _check_expansion(node)
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
