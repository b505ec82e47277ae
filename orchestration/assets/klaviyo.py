"""Klaviyo streams as assets: one ``klaviyo_raw/<stream>`` asset per API stream, synced together.

With ``KLAVIYO_API_KEY`` (or ``KLAVIYO_ACCOUNTS``) set, the real API is read. Without it,
a local Klaviyo-compatible server is started on 127.0.0.1 for the run, serving a demo
account whose customers and orders mirror the CSV demo data, so the demo still
exercises the real HTTP client end to end.
"""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone

import dagster as dg

from orchestration.errors import UserFacingError
from orchestration.klaviyo.streams import STREAMS
from orchestration.resources import WarehouseResource

RAW_SCHEMA = "klaviyo_raw"


class KlaviyoResource(dg.ConfigurableResource):
    """Which Klaviyo accounts to sync; the local demo server when none is configured."""

    demo_customers: int = 3000
    demo_start: str = "2024-01-01"
    demo_days: int = 730
    demo_seed: int = 42

    def is_configured(self) -> bool:
        """True when a real account is configured through the environment."""
        return bool(os.environ.get("KLAVIYO_API_KEY") or os.environ.get("KLAVIYO_ACCOUNTS"))

    @contextmanager
    def accounts(self) -> Iterator[tuple[list, datetime | None]]:
        """(accounts, sync time) to sync; starts and stops the demo server when no account is
        configured. The demo account's sync time is the day after its data ends, so the
        campaign report's window (the last year) covers the demo period."""
        from orchestration.klaviyo.config import AccountConfig, load_accounts

        if self.is_configured():
            yield load_accounts(), None
            return
        from orchestration.klaviyo.fake.app import create_app
        from orchestration.klaviyo.fake.data import FakeAccount, FakeAccountConfig
        from orchestration.klaviyo.fake.server import ThreadedServer

        key = "pk_demo_" + secrets.token_hex(12)
        account = FakeAccount(FakeAccountConfig(
            seed=self.demo_seed, customers=self.demo_customers, days=self.demo_days,
            start=date.fromisoformat(self.demo_start),
        ))
        end = date.fromisoformat(self.demo_start) + timedelta(days=self.demo_days + 1)
        now = datetime.combine(end, time.min, tzinfo=timezone.utc)
        with ThreadedServer(create_app({key: account})) as server:
            yield [AccountConfig("demo", key, base_url=server.base_url)], now


def _cursors(dsn: str) -> dict:
    """{(account_id, stream): cursor} committed before this sync (empty on the first one)."""
    from orchestration.errors import connect

    with connect(dsn) as conn:
        exists = conn.execute("select to_regclass('klaviyo_raw._stream_state') is not null").fetchone()[0]
        if not exists:
            return {}
        rows = conn.execute("select account_id, stream, cursor_value from klaviyo_raw._stream_state").fetchall()
    return {(account, stream): cursor for account, stream, cursor in rows if cursor is not None}


@dg.multi_asset(
    name="klaviyo_streams",
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey([RAW_SCHEMA, stream.name]),
            group_name="klaviyo",
            kinds={"python", "postgres"},
            owners=["team:data-platform"],
            description=(
                f"Klaviyo {stream.name}: every JSON:API resource as received (jsonb), one row per "
                "account and id, synced incrementally with the cursor committed with each page."
            ),
        )
        for stream in STREAMS
    ],
)
def klaviyo_streams(context: dg.AssetExecutionContext, warehouse: WarehouseResource, klaviyo: KlaviyoResource):
    """Sync every stream of every configured account (or of the local demo account)."""
    from orchestration.klaviyo.sync import sync_accounts

    before = _cursors(warehouse.get_dsn())
    with klaviyo.accounts() as (accounts, now):
        results = sync_accounts(warehouse.get_dsn(), accounts, raise_on_error=False, now=now)
    for result in results:
        for stream in result.streams:
            context.log.info(stream.line(result.account_id))
    errors = [err for result in results for err in result.errors]
    if errors:
        raise UserFacingError(str(errors[0]))
    for stream in STREAMS:
        per_account = [r.stream(stream.name) for r in results]
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey([RAW_SCHEMA, stream.name]),
            metadata={
                "accounts": ", ".join(r.account_id for r in results),
                "source": "Klaviyo API" if klaviyo.is_configured() else "local demo server (no KLAVIYO_API_KEY)",
                "pages": sum(s.pages for s in per_account),
                "rows_received": sum(s.rows_received for s in per_account),
                "rows_written": sum(s.rows_written for s in per_account),
                "retries": sum(s.retries for s in per_account),
                "cursor_before": ", ".join(
                    before[(r.account_id, stream.name)].isoformat()
                    for r in results if before.get((r.account_id, stream.name))
                ) or "none (first sync)",
                "cursor_after": ", ".join(s.cursor.isoformat() for s in per_account if s.cursor) or "none",
            },
        )
