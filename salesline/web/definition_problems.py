"""Each problem of an uploaded process definition beside the line it is about.

The services hand problems over with their line and path as data (`Problem.line`, `.path`), so
this module only picks that line's text; it parses nothing. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LocatedProblem:
    line: int | None
    path: str
    message: str
    source_line: str | None  # the uploaded text of that line, as written


def locate_problems(text: str, problems: Iterable) -> list[LocatedProblem]:
    """Each problem (a salesline.core.errors.Problem from process_check or process_load) with
    the line of `text` it is about, when there is one."""
    source = text.splitlines()
    located = []
    for problem in problems:
        line = problem.line
        source_line = source[line - 1] if line and 0 < line <= len(source) else None
        located.append(LocatedProblem(line, problem.path or "", bare_message(problem), source_line))
    return located


def bare_message(problem) -> str:
    """The message without the "line N: path: " it starts with for API clients: a page shows
    line and path apart (or, on a form, next to the field they name)."""
    message = problem.msg
    if problem.line is not None:
        message = message.removeprefix(f"line {problem.line}: ")
    if problem.path:
        message = message.removeprefix(f"{problem.path}: ")
    return message[:1].upper() + message[1:]
