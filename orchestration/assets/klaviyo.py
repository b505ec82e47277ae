"""Klaviyo streams as assets: one ``klaviyo_raw/<stream>`` asset per API stream, synced together.

With ``KLAVIYO_API_KEY`` (or ``KLAVIYO_ACCOUNTS``) set, the real API is read. Without it,
a local Klaviyo-compatible server is started on 127.0.0.1 for the run, serving a demo
account whose customers and orders mirror the CSV demo data, so the demo still
exercises the real HTTP client end to end.
"""

import hashlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import dagster as dg

from orchestration.demo.config import MANIFEST_PATH, read_demo_config
from orchestration.errors import UserFacingError
from orchestration.klaviyo.config import SyncOptions
from orchestration.klaviyo.streams import STREAMS
from orchestration.resources import WarehouseResource

RAW_SCHEMA = "klaviyo_raw"
#: Demo accounts are ``demo-<fingerprint>`` (plain ``demo`` before the fingerprint).
DEMO_ACCOUNT_PREFIX = "demo-"


class KlaviyoResource(dg.ConfigurableResource):
    """Which Klaviyo accounts to sync; a local demo account when none is configured.

    The demo account mirrors the demo files in the landing folder (their manifest names the
    generator config): ``demo_profile_share`` of the CSV customers are Klaviyo profiles
    (``external_id`` = customer_id) and their orders are "Placed Order" events whose
    ``$event_id`` is the CSV order id, so the warehouse sees the same orders from both sources.
    """

    demo_profile_share: float = 0.03
    #: Parallel slices of events/profiles; None: ``KLAVIYO_CONCURRENCY`` or its default (8).
    concurrency: int | None = None

    def sync_options(self) -> SyncOptions:
        """The sync's options: defaults, with this resource's concurrency when set."""
        return SyncOptions() if self.concurrency is None else SyncOptions(concurrency=self.concurrency)

    def is_configured(self) -> bool:
        """True when a real account is configured through the environment."""
        return bool(os.environ.get("KLAVIYO_API_KEY") or os.environ.get("KLAVIYO_ACCOUNTS"))

    @contextmanager
    def accounts(self, landing_dir: Path) -> Iterator[tuple[list, datetime | None]]:
        """(accounts, sync time) to sync. Without a configured account: the demo account
        mirroring the demo files in ``landing_dir`` on a local server started for the sync
        (sync time: the day after the data ends, so the campaign report's window, the last
        year, covers the demo period), or no account at all when ``landing_dir`` holds real
        files (a made-up account must not add orders to real customers)."""
        from orchestration.klaviyo.config import AccountConfig, load_accounts

        if self.is_configured():
            yield load_accounts(), None
            return
        demo = read_demo_config(landing_dir)
        if demo is None:
            yield [], None
            return
        from orchestration.klaviyo.fake.app import create_app
        from orchestration.klaviyo.fake.data import FakeAccount, FakeAccountConfig
        from orchestration.klaviyo.fake.server import ThreadedServer

        key = "pk_demo_" + secrets.token_hex(12)
        account = FakeAccount(FakeAccountConfig.mirroring(demo, profile_share=self.demo_profile_share))
        now = datetime.combine(demo.end + timedelta(days=2), time.min, tzinfo=timezone.utc)
        with ThreadedServer(create_app({key: account})) as server:
            yield [AccountConfig(self.demo_account_id(landing_dir), key, base_url=server.base_url)], now

    def demo_account_id(self, landing_dir: Path) -> str:
        """``demo-<fingerprint>`` of the demo files' manifest (config, generator version, file
        hashes) and the profile share: other demo files make another demo account, whose
        made-up rows the sync then removes."""
        digest = hashlib.sha256((Path(landing_dir) / MANIFEST_PATH).read_bytes())
        digest.update(repr(self.demo_profile_share).encode())
        return f"{DEMO_ACCOUNT_PREFIX}{digest.hexdigest()[:10]}"


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
    from orchestration.errors import connect
    from orchestration.klaviyo.store import ensure_schema
    from orchestration.klaviyo.sync import sync_accounts

    before = _cursors(warehouse.get_dsn())
    with klaviyo.accounts(warehouse.get_landing_dir()) as (accounts, now):
        if not accounts:
            context.log.warning(
                "No Klaviyo account is configured and the landing folder holds no demo data: the "
                "klaviyo_raw tables stay as they are; set KLAVIYO_API_KEY to sync a real account."
            )
            with connect(warehouse.get_dsn()) as conn:
                ensure_schema(conn)
        elif not klaviyo.is_configured():
            _forget_stale_demo_accounts(context, warehouse.get_dsn(), keep=accounts[0].account_id)
        results = sync_accounts(warehouse.get_dsn(), accounts, raise_on_error=False, now=now,
                                options=klaviyo.sync_options())
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
                "source": _source_label(klaviyo, results),
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


def _forget_stale_demo_accounts(context: dg.AssetExecutionContext, dsn: str, keep: str) -> None:
    """Remove the rows of demo accounts made from other demo files: their made-up customers and
    orders must not mix with the current ones (real accounts are never touched)."""
    from orchestration.errors import connect
    from orchestration.klaviyo.store import ensure_schema, forget_accounts

    with connect(dsn) as conn:
        ensure_schema(conn)
        stale = [account for (account,) in conn.execute(
            f"select distinct account_id from {RAW_SCHEMA}._stream_state"
            " where (account_id = 'demo' or account_id like %s) and account_id <> %s",
            (DEMO_ACCOUNT_PREFIX + "%", keep),
        )]
        if stale:
            deleted = forget_accounts(conn, stale)
            context.log.info(f"Removed {deleted:,} rows of demo account(s) {', '.join(stale)} (other demo files).")


def _source_label(klaviyo: KlaviyoResource, results: list) -> str:
    if klaviyo.is_configured():
        return "Klaviyo API"
    if results:
        return "local demo server mirroring the demo files (no KLAVIYO_API_KEY)"
    return "none (no KLAVIYO_API_KEY, no demo files)"
