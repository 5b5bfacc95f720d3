"""Import kinds whose rows are not records of this app (a stage history, written by the
pipeline app above it). They share the job machinery — the stored file, the job row, dry run,
progress, the report of rejected rows, the background worker — and bring their own reading
and writing of rows. Apps above records register theirs in `AppConfig.ready()`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salesline.core.actors import Actor

# (job, actor writing the rows, table, progress callback or None) -> timings in seconds.
type Runner = Callable[[Any, Actor, Any, Callable[[Any], None] | None], dict[str, float]]


@dataclass(frozen=True)
class ImportKind:
    kind: str  # stored on the job (ImportJob.kind, 20 characters at most)
    plural: str  # the name the CLI, the API and the report use
    label: str  # for people: "Stage history"
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...]
    # Raises PermissionDenied when the actor may not run this kind of import.
    authorise: Callable[[Actor], None]
    run: Runner


_REGISTERED: dict[str, ImportKind] = {}


def register_import_kind(import_kind: ImportKind) -> None:
    _REGISTERED[import_kind.kind] = import_kind


def other_kind(name: str) -> ImportKind | None:
    """The registered kind named `name` (its stored or its plural name), else None."""
    for import_kind in _REGISTERED.values():
        if name in (import_kind.kind, import_kind.plural):
            return import_kind
    return None


def other_kinds() -> list[ImportKind]:
    return list(_REGISTERED.values())


def column_positions(
    import_kind: ImportKind, header: list[str]
) -> tuple[dict[str, int], list[str]]:
    """Where each known column is (headers compared trimmed and in lower case), and the
    required columns the header lacks."""
    wanted = (*import_kind.required_columns, *import_kind.optional_columns)
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        if key in wanted and key not in positions:
            positions[key] = index
    missing = [name for name in import_kind.required_columns if name not in positions]
    return positions, missing
