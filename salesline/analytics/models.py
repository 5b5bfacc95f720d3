"""The analytics app's own rows. It never writes the pipeline's."""

from .cost_models import CostEntry, CostSettings  # noqa: E402, F401
