"""Asset check: our Klaviyo campaign numbers agree with Klaviyo's campaign values reports.

The comparison itself is dbt (``marts.fct_email_campaign_reconciliation``, tolerance from the
dbt vars); this check fails when a row is out of tolerance and lists those campaigns and
measures in its metadata, so the Dagster UI names what to look at.
"""

from __future__ import annotations

import dagster as dg

from orchestration import errors
from orchestration.resources import WarehouseResource

RECONCILIATION = dg.AssetKey(["marts", "fct_email_campaign_reconciliation"])
OUT_OF_TOLERANCE_SQL = """
    select account_id, campaign_id, campaign_name, measure, ours, reported, difference, allowed_difference
    from marts.fct_email_campaign_reconciliation
    where not is_within_tolerance
    order by abs(difference) desc, account_id, campaign_id, measure
"""
COUNTS_SQL = """
    select count(*), count(distinct (account_id, campaign_id))
    from marts.fct_email_campaign_reconciliation
"""


def _number(value) -> float | None:
    return None if value is None else float(value)


@dg.asset_check(
    asset=RECONCILIATION,
    name="klaviyo_campaigns_reconcile",
    description=(
        "Fails when a campaign's opens, clicks or attributed revenue in our marts differ from "
        "Klaviyo's campaign values report beyond the tolerance; lists those campaigns."
    ),
)
def klaviyo_campaigns_reconcile(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """One row of metadata per campaign and measure out of tolerance."""
    with errors.connect(warehouse.get_dsn()) as conn:
        compared, campaigns = conn.execute(COUNTS_SQL).fetchone()
        rows = conn.execute(OUT_OF_TOLERANCE_SQL).fetchall()
    listed = [
        {"account_id": a, "campaign_id": c, "campaign_name": n, "measure": m, "ours": _number(o),
         "reported": _number(r), "difference": _number(d), "allowed_difference": _number(t)}
        for a, c, n, m, o, r, d, t in rows
    ]
    names = sorted({f"{row['campaign_name'] or row['campaign_id']} ({row['measure']})" for row in listed})
    return dg.AssetCheckResult(
        passed=not listed,
        metadata={
            "measures_compared": compared,
            "campaigns_compared": campaigns,
            "out_of_tolerance": dg.MetadataValue.json(listed),
        },
        description=(
            f"{compared} measures of {campaigns} campaigns agree with Klaviyo's reports." if not listed
            else f"{len(listed)} measures differ from Klaviyo's reports beyond the tolerance: {', '.join(names)}."
        ),
    )
