"""A network's rules in force: the `network` section of its books' process definition."""

from __future__ import annotations

from salesline.process.selectors import definition_for

from .models import Network
from .rules import DEFAULT_RULES, NetworkRules


def rules_for(network: Network) -> NetworkRules:
    spec = definition_for(network.organisation)
    rules = spec.sections.get("network")
    return rules if isinstance(rules, NetworkRules) else DEFAULT_RULES
