"""The analytics app's own rows. It never writes the pipeline's."""

from .report_models import WeeklyReportDelivery  # noqa: E402, F401
