"""The shape of a process definition's YAML (pydantic), core keys plus registered sections.

Pure: no Django.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, create_model

from .sections import Section


class Document(BaseModel):
    # strict: YAML already gives typed scalars; "10" for a probability is a mistake to report.
    model_config = ConfigDict(extra="forbid", strict=True)


# "require:" with nothing after it (or every entry commented out) means an empty list.
NoneIsEmpty = BeforeValidator(lambda value: [] if value is None else value)
NoneIsEmptyMap = BeforeValidator(lambda value: {} if value is None else value)
type Names = Annotated[list[str], NoneIsEmpty]


class CustomFieldDoc(Document):
    record: str
    key: str
    label: str
    type: str
    choices: Names = []
    help: str = ""


class CoreDocument(Document):
    name: str
    description: str = ""
    # Keys are record kinds; the checker names an unknown one (the kinds are registered).
    minimum_fields: Annotated[dict[str, Names], NoneIsEmptyMap] = {}
    custom_fields: Annotated[list[CustomFieldDoc], NoneIsEmpty] = []
    # record kind -> built-in field -> choices, each text or {value, label}: the checker walks
    # the items (a union would report every wrong item twice, once per shape).
    choices: Annotated[
        dict[str, Annotated[dict[str, Annotated[list[Any], NoneIsEmpty]], NoneIsEmptyMap]],
        NoneIsEmptyMap,
    ] = {}


@lru_cache(maxsize=8)
def document_model(registered: tuple[Section, ...]) -> type[CoreDocument]:
    """The document model for the core keys and these sections (any other key is unknown)."""
    fields: dict[str, Any] = {
        section.key: (section.schema, ...) if section.required else (section.schema | None, None)
        for section in registered
    }
    return create_model("DefinitionDocument", __base__=CoreDocument, **fields)
