from django.apps import AppConfig


class CapacityConfig(AppConfig):
    name = "salesline.capacity"
    label = "capacity"
    verbose_name = "Capacity planning"

    def ready(self) -> None:
        from salesline.core.jobs import register_job_kind

        register_job_kind(
            "salesline.capacity.simulation_jobs.plan_simulation_run", "Capacity simulation"
        )
