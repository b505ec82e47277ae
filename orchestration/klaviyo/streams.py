"""The streams the sync lands in ``klaviyo_raw``: path, page size, cursor, filters, sort.

Every value here is taken from Klaviyo's OpenAPI spec (revision 2026-07-15):
page-size maxima from each endpoint's ``page[size]`` schema (GET /api/metrics has no
``page[size]`` parameter and returns at most 200 per page), cursor filters from
``x-klaviyo-filters`` (``profiles``/``lists`` allow only ``greater-than`` on ``updated``, so
their filter starts one second before the watermark; re-read rows are upserted anyway),
``include`` values from each endpoint's enum, scopes from ``x-klaviyo-scopes``.
``tests/test_klaviyo_spec.py`` checks them against the spec file.

Campaigns need a channel filter and exclude archived campaigns unless asked, so they are
fetched in four partitions (email/sms × archived false/true); flows likewise in two
(archived false/true) so archived flows are never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from orchestration.klaviyo.client import isoformat_z

Kind = Literal["collection", "events", "report"]


@dataclass(frozen=True)
class Stream:
    """One raw table and how to read it."""

    name: str
    path: str  # relative to the base URL (…/api/)
    scope: str
    kind: Kind = "collection"
    page_size: int | None = None  # None: the endpoint has no page[size] parameter
    cursor_field: str | None = None  # attribute holding the cursor (None: full refresh)
    cursor_operator: str | None = None  # greater-or-equal | greater-than
    overlap: timedelta = timedelta(0)  # filter starts this much before the watermark
    sort: str | None = None
    include: tuple[str, ...] = ()
    partitions: tuple[str | None, ...] = (None,)
    append_only: bool = False

    def filter(self, partition: str | None, since: datetime | None,
               until: datetime | None = None) -> str | None:
        """The ``filter`` value: the partition's condition and the cursor bounds, and-ed."""
        parts = [partition] if partition else []
        if since is not None and self.cursor_field:
            parts.append(f"{self.cursor_operator}({self.cursor_field},{isoformat_z(since - self.overlap)})")
        if until is not None and self.cursor_field:
            parts.append(f"less-than({self.cursor_field},{isoformat_z(until)})")
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else f"and({','.join(parts)})"

    def params(self, partition: str | None = None, since: datetime | None = None,
               until: datetime | None = None) -> dict[str, Any]:
        """Query parameters of the first page of one partition."""
        params: dict[str, Any] = {}
        flt = self.filter(partition, since, until)
        if flt:
            params["filter"] = flt
        if self.sort:
            params["sort"] = self.sort
        if self.include:
            params["include"] = ",".join(self.include)
        if self.page_size:
            params["page[size]"] = self.page_size
        return params


METRICS = Stream("metrics", "metrics", "metrics:read")
LISTS = Stream("lists", "lists", "lists:read", page_size=10, cursor_field="updated",
               cursor_operator="greater-than", overlap=timedelta(seconds=1), sort="updated")
FLOWS = Stream("flows", "flows", "flows:read", page_size=50, cursor_field="updated",
               cursor_operator="greater-or-equal", sort="updated",
               partitions=("equals(archived,false)", "equals(archived,true)"))
CAMPAIGNS = Stream(
    "campaigns", "campaigns", "campaigns:read", page_size=100, cursor_field="updated_at",
    cursor_operator="greater-or-equal", sort="updated_at", include=("campaign-messages",),
    partitions=tuple(
        f"and(equals(messages.channel,'{channel}'),equals(archived,{archived}))"
        for channel in ("email", "sms") for archived in ("false", "true")
    ),
)
PROFILES = Stream("profiles", "profiles", "profiles:read", page_size=100, cursor_field="updated",
                  cursor_operator="greater-than", overlap=timedelta(seconds=1), sort="updated")
EVENTS = Stream("events", "events", "events:read", kind="events", page_size=1000,
                cursor_field="datetime", cursor_operator="greater-or-equal", sort="datetime",
                include=("metric", "attributions"), append_only=True)
CAMPAIGN_VALUES_REPORTS = Stream("campaign_values_reports", "campaign-values-reports",
                                 "campaigns:read", kind="report")

#: In sync order (the report needs the "Placed Order" metric id from ``metrics``).
STREAMS: tuple[Stream, ...] = (METRICS, LISTS, FLOWS, CAMPAIGNS, PROFILES, EVENTS, CAMPAIGN_VALUES_REPORTS)
STREAMS_BY_NAME: dict[str, Stream] = {s.name: s for s in STREAMS}

#: Statistics asked of POST /api/campaign-values-reports (counts and sums only: every rate
#: is derivable from them without averaging ratios).
REPORT_STATISTICS: tuple[str, ...] = (
    "recipients", "delivered", "bounced", "failed", "bounced_or_failed",
    "opens", "opens_unique", "clicks", "clicks_unique",
    "conversions", "conversion_uniques", "conversion_value",
    "unsubscribes", "unsubscribe_uniques", "spam_complaints",
)
#: Required group-bys per the spec, plus the channel.
REPORT_GROUP_BY: tuple[str, ...] = ("campaign_id", "campaign_message_id", "send_channel")
CONVERSION_METRIC_NAME = "Placed Order"


def cursor_of(stream: Stream, resource: dict[str, Any]) -> str | None:
    """The resource's cursor value (ISO text as received) or None."""
    if not stream.cursor_field:
        return None
    value = (resource.get("attributes") or {}).get(stream.cursor_field)
    return value if isinstance(value, str) and value else None
