from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "salesline.pipeline"
    label = "pipeline"
