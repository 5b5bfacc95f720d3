"""What the playbooks app adds to the rest: its sections of the process definition, its
materialiser and its event handlers. Called once from PlaybooksConfig.ready()."""

from __future__ import annotations


def register() -> None:
    from salesline.process.definition import register_section
    from salesline.process.services import register_materialiser

    from . import definition, engine, merge

    definition.set_template_check(merge.template_problems)
    for section in definition.PLAYBOOK_SECTIONS:
        register_section(section)
    register_materialiser(
        definition.MESSAGE_TEMPLATES_KEY,
        check=engine.message_templates_check,
        materialise=engine.message_templates_materialise,
    )
    engine.register_handlers()
