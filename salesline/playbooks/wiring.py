"""What the playbooks app adds to the rest: its sections of the process definition, its
materialiser, its event handlers and schedules. Called once from PlaybooksConfig.ready()."""

from __future__ import annotations


def register() -> None:
    from salesline.process.definition import register_section
    from salesline.process.services import register_materialiser

    from . import (
        agreements_wiring,
        definition,
        document_catalogue,
        engine,
        mail_requests_wiring,
        merge,
        schedules,
        work_types,
    )

    definition.set_template_check(merge.template_problems)
    definition.set_document_templates(frozenset(document_catalogue.CATALOGUE))
    for section in definition.PLAYBOOK_SECTIONS:
        register_section(section)
    register_section(work_types.WORK_TYPES_SECTION)
    register_materialiser(
        definition.MESSAGE_TEMPLATES_KEY,
        check=engine.message_templates_check,
        materialise=engine.message_templates_materialise,
    )
    engine.register_handlers()
    schedules.register_schedule(engine.SCHEDULE, engine.run_scheduled_playbooks)
    agreements_wiring.register()
    mail_requests_wiring.register()
