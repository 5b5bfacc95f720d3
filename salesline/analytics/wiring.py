"""What the analytics app adds to the rest: its sections of the process definition, its event
handlers and its periodic work. Called once from AnalyticsConfig.ready()."""

from __future__ import annotations


def register() -> None:
    from salesline.core.jobs import register_job_kind
    from salesline.core.tasks import register_periodic

    from . import quality_wiring, report
    from .forecast_services import take_weekly_snapshots

    register_periodic("analytics.weekly_report", report.send_weekly_reports)

    # Weekly in effect: each call stores only the weeks that have no snapshot yet.
    register_periodic("forecast-snapshots", take_weekly_snapshots)
    quality_wiring.register()
    register_job_kind("salesline.analytics.history_reads.history_read_run", "Flow history read")
    # The observed stage flow, for the capacity simulator (core.measures).
    from salesline.core import measures

    from .flow_selectors import stage_flow

    measures.provide("stage_flow", stage_flow)
