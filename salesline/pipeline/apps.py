from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "salesline.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from salesline.process.definition import register_section
        from salesline.process.kinds import register_kind
        from salesline.process.services import register_materialiser

        from . import history_import, purge, related
        from .definition import PIPELINES_SECTION
        from .fields import OPPORTUNITY
        from .services import pipelines_check_data_loss, pipelines_materialise

        register_kind(OPPORTUNITY)
        register_section(PIPELINES_SECTION)
        register_materialiser(
            "pipelines", check=pipelines_check_data_loss, materialise=pipelines_materialise
        )
        related.register()
        purge.register()
        history_import.register()
