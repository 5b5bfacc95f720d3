"""The campaign report: what each campaign cost, what it brought in, and its return.

Definitions (docs/metrics.md, "Campaigns and costs"), for a period of dates `date_from` to
`date_to` (both included; either may be open):
- leads, opportunities: those created in the period and credited to the campaign (first touch:
  the lead's campaign, which its opportunity takes on conversion);
- won, won value: its opportunities closed won in the period, and the sum of their values;
- cost: the campaign's own cost, counted in the period its start date (else the day it was
  created) falls in, plus the time and expenses dated in the period and logged on its leads and
  opportunities;
- cost per lead, per opportunity, per won deal: cost ÷ that count; return: (won value − cost)
  ÷ cost. None where the divisor is zero.
Time and expenses logged on network enquiries are credited to no campaign and to no lead or
opportunity of the organisation: they form their own row ("Network enquiries", `campaign_id`
None, `kind` "network_enquiries"), with no leads, opportunities or wins (so no cost per lead,
opportunity or won deal), and count in the totals' cost.
Money is reported per currency, never added across currencies: a campaign with costs in two
currencies has a row in each. Deleted records, and deleted campaigns with everything credited to
them, are left out. Leads, opportunities and costs credited to no campaign form the row with
`campaign_id` None ("No campaign"), shown when it holds anything.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from salesline.core.actors import Actor
from salesline.pipeline.models import Opportunity
from salesline.records.campaign_selectors import campaign_list
from salesline.records.models import Campaign, Lead

from .campaign_figures import CampaignTally, combined, figure_rows
from .cost_models import CostEntry
from .cost_selectors import ON_LIVE_RECORD, cost_settings_for

NO_CAMPAIGN = "No campaign"
NETWORK_ENQUIRIES = "Network enquiries"
# The key of the enquiries' tally and the `kind` of their row.
ENQUIRIES = "network_enquiries"


def _moment(day: dt.date) -> dt.datetime:
    """The first moment of `day` in the installation's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def _within(rows: QuerySet, column: str, date_from: dt.date | None, date_to: dt.date | None):
    if date_from is not None:
        rows = rows.filter(**{f"{column}__gte": _moment(date_from)})
    if date_to is not None:
        rows = rows.filter(**{f"{column}__lt": _moment(date_to + dt.timedelta(days=1))})
    return rows


def _in_period(day: dt.date, date_from: dt.date | None, date_to: dt.date | None) -> bool:
    return (date_from is None or day >= date_from) and (date_to is None or day <= date_to)


def _overlaps(campaign: Campaign, date_from: dt.date | None, date_to: dt.date | None) -> bool:
    if campaign.starts_on is None:
        return False
    ends_on = campaign.ends_on or campaign.starts_on
    return (date_to is None or campaign.starts_on <= date_to) and (
        date_from is None or ends_on >= date_from
    )


def start_day(campaign: Campaign) -> dt.date:
    """The day a campaign's own cost is counted on: its start date, else its creation day."""
    return campaign.starts_on or timezone.localdate(campaign.created_at)


def campaign_tallies(
    *, actor: Actor, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> tuple[list[Campaign], dict[int | str | None, CampaignTally]]:
    """The organisation's live campaigns and what each (and no campaign: key None; the time and
    expenses on network enquiries: key ENQUIRIES) gathered in the period. Six grouped queries,
    whatever the number of records."""
    organisation = actor.organisation
    campaigns = list(campaign_list(actor=actor))
    live = {campaign.pk for campaign in campaigns}
    fallback = cost_settings_for(actor=actor).currency
    tallies: dict[int | str | None, CampaignTally] = defaultdict(CampaignTally)

    def credited(campaign_id: int | None) -> bool:
        return campaign_id is None or campaign_id in live

    for campaign in campaigns:
        if _in_period(start_day(campaign), date_from, date_to):
            tallies[campaign.pk].add_cost(campaign.currency, campaign.cost)
    for model, attr in ((Lead, "leads"), (Opportunity, "opportunities")):
        rows = _within(
            model.objects.filter(organisation=organisation, deleted_at=None),
            "created_at",
            date_from,
            date_to,
        )
        for row in rows.order_by().values("campaign_id").annotate(n=Count("id")):
            if credited(row["campaign_id"]):
                setattr(tallies[row["campaign_id"]], attr, row["n"])
    wins = _within(
        Opportunity.objects.filter(
            organisation=organisation, deleted_at=None, status=Opportunity.Status.WON
        ),
        "closed_at",
        date_from,
        date_to,
    )
    for row in (
        wins.order_by().values("campaign_id", "currency").annotate(n=Count("id"), v=Sum("value"))
    ):
        if credited(row["campaign_id"]):
            tally = tallies[row["campaign_id"]]
            tally.won += row["n"]
            tally.add_won_value(row["currency"] or fallback, row["v"])
    costs = CostEntry.objects.filter(ON_LIVE_RECORD, organisation=organisation)
    if date_from is not None:
        costs = costs.filter(date__gte=date_from)
    if date_to is not None:
        costs = costs.filter(date__lte=date_to)
    for row in (
        costs.filter(enquiry_id__isnull=False)
        .order_by()
        .values("currency")
        .annotate(total=Sum("amount"))
    ):
        tallies[ENQUIRIES].add_cost(row["currency"], row["total"])
    for row in (
        costs.filter(enquiry_id__isnull=True)
        .order_by()
        .annotate(credited_to=Coalesce("opportunity__campaign_id", "lead__campaign_id"))
        .values("credited_to", "currency")
        .annotate(total=Sum("amount"))
    ):
        if credited(row["credited_to"]):
            tallies[row["credited_to"]].add_cost(row["currency"], row["total"])
    listed = [
        campaign
        for campaign in campaigns
        if campaign.pk in tallies or _overlaps(campaign, date_from, date_to)
    ]
    return listed, dict(tallies)


def _empty(tally: CampaignTally) -> bool:
    return not (tally.leads or tally.opportunities or tally.won or tally.cost or tally.won_value)


def campaign_report_with_totals(
    *, actor: Actor, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, totals): a row per campaign and currency (see the module's definitions), then
    the "No campaign" rows, then the "Network enquiries" rows; the totals of everything, one row
    per currency."""
    campaigns, tallies = campaign_tallies(actor=actor, date_from=date_from, date_to=date_to)
    fallback = cost_settings_for(actor=actor).currency
    rows: list[dict[str, Any]] = []
    for campaign in campaigns:
        tally = tallies.get(campaign.pk, CampaignTally())
        for figures in figure_rows(tally, campaign.currency):
            rows.append(
                {
                    "campaign_id": campaign.pk,
                    "name": campaign.name,
                    "kind": campaign.kind,
                    "starts_on": campaign.starts_on,
                    "ends_on": campaign.ends_on,
                    **figures,
                }
            )
    # Costs no campaign carries: the unattributed, then those logged on network enquiries.
    for tally_key, name, kind in (
        (None, NO_CAMPAIGN, ""),
        (ENQUIRIES, NETWORK_ENQUIRIES, ENQUIRIES),
    ):
        tally = tallies.get(tally_key)
        if tally is None or _empty(tally):
            continue
        for figures in figure_rows(tally, fallback):
            rows.append(
                {
                    "campaign_id": None,
                    "name": name,
                    "kind": kind,
                    "starts_on": None,
                    "ends_on": None,
                    **figures,
                }
            )
    totals = figure_rows(combined(tallies.values()), fallback)
    return rows, totals


def campaign_report(
    *, actor: Actor, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict[str, Any]]:
    """A row per campaign (and currency of its money): cost, leads, opportunities, won, won
    value, cost per lead / opportunity / won deal, return; see the module's definitions."""
    return campaign_report_with_totals(actor=actor, date_from=date_from, date_to=date_to)[0]
