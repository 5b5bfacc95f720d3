"""Create and update a record of any kind: opportunities through the pipeline's services (stages,
gates, checklists), the other kinds through records'. The API and the web both write this way,
so a rule enforced in one is enforced in the other."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import models

from salesline.core.actors import Actor
from salesline.records import services as record_services

from . import services as pipeline_services


def any_record_create(*, actor: Actor, kind: str, data: Mapping[str, Any]) -> models.Model:
    if kind == "opportunity":
        return pipeline_services.opportunity_create(actor=actor, data=data)
    return record_services.record_create(actor=actor, kind=kind, data=data)


def any_record_update(
    *, actor: Actor, kind: str, record_id: int, data: Mapping[str, Any], version: int | None
) -> models.Model:
    if kind == "opportunity":
        return pipeline_services.opportunity_update(
            actor=actor, opportunity_id=record_id, data=data, expected_version=version
        )
    return record_services.record_update(
        actor=actor, kind=kind, record_id=record_id, data=data, expected_version=version
    )
