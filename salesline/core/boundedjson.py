"""JSON from outside, parsed with a bound on nesting.

Nothing Salesline accepts nests deeper than a pipeline with its stages, gates and conditions (about
eight levels); a body nested hundreds of levels deep is an attack on every recursive walk after the
parser (validators, renderers), so it is refused before any of them sees it.

The standard library's parser is used on purpose: it keeps a lone surrogate (``"\\ud800"``) as
text, so the field validators can name the field that holds it; orjson would refuse the whole
body without saying where.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 32


class JsonTooDeep(ValueError):
    """The JSON nests more than MAX_DEPTH levels of arrays and objects."""

    def __init__(self, max_depth: int = MAX_DEPTH) -> None:
        super().__init__(f"the JSON nests more than {max_depth} levels of arrays and objects")


def nesting_depth_exceeds(value: Any, max_depth: int = MAX_DEPTH) -> bool:
    """Whether `value` has containers nested more than `max_depth` deep (iterative: no recursion
    whatever the depth)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads that raises JsonTooDeep (a ValueError, like every parse error) for nesting
    beyond `max_depth`."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise JsonTooDeep(max_depth) from None
    if nesting_depth_exceeds(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value
