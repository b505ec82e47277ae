"""``python -m orchestration.klaviyo sync [--account ID] [--stream NAME]`` (and ``status``, ``init``).

Exit codes: 0 every stream succeeded (or was skipped), 1 a stream failed, 2 configuration /
connection errors. Errors are printed as one sentence; API keys are never printed.
"""

from __future__ import annotations

import argparse
import logging
import sys

from orchestration import settings
from orchestration.errors import UserFacingError


def _accounts(selected: list[str] | None):
    from orchestration.klaviyo.config import load_accounts
    from orchestration.klaviyo.errors import KlaviyoConfigError

    accounts = load_accounts()
    if selected:
        known = {a.account_id for a in accounts}
        missing = [a for a in selected if a not in known]
        if missing:
            raise KlaviyoConfigError(
                f"Klaviyo account {missing[0]!r} is not configured; configured: {', '.join(sorted(known))}.")
        accounts = [a for a in accounts if a.account_id in selected]
    return accounts


def main(argv: list[str] | None = None) -> int:
    from orchestration.klaviyo.streams import STREAMS_BY_NAME

    parser = argparse.ArgumentParser(prog="python -m orchestration.klaviyo",
                                     description="Sync Klaviyo accounts into klaviyo_raw.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_sync = sub.add_parser("sync", help="incremental sync of the configured accounts")
    p_sync.add_argument("--account", action="append", help="only this account id (repeatable)")
    p_sync.add_argument("--stream", action="append", choices=sorted(STREAMS_BY_NAME),
                        help="only this stream (repeatable; default: all)")
    p_sync.add_argument("--dsn", help="connection string (default: WAREHOUSE_DSN, PG*, or the local cluster)")
    p_sync.add_argument("-v", "--verbose", action="store_true", help="log every retry and resume")
    p_status = sub.add_parser("status", help="print the saved cursor of every (account, stream)")
    p_status.add_argument("--dsn")
    p_init = sub.add_parser("init", help="create schema klaviyo_raw and its empty tables (for dbt without a sync)")
    p_init.add_argument("--dsn")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        dsn = args.dsn or settings.warehouse_dsn()
        if args.command == "status":
            return _status(dsn)
        if args.command == "init":
            from orchestration.errors import connect
            from orchestration.klaviyo.store import ensure_schema

            with connect(dsn) as conn:
                ensure_schema(conn)
            print("klaviyo_raw is ready (tables created where missing).")
            return 0
        from orchestration.klaviyo.sync import sync_account

        failed = False
        for account in _accounts(args.account):
            result = sync_account(dsn, account, args.stream, raise_on_error=False)
            for line in result.lines():
                print(line, flush=True)
            failed |= not result.ok
        return 1 if failed else 0
    except UserFacingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _status(dsn: str) -> int:
    from orchestration.errors import connect
    from orchestration.klaviyo import store

    with connect(dsn, autocommit=True) as conn:
        exists = conn.execute("select to_regclass('klaviyo_raw._stream_state')").fetchone()[0]
        if not exists:
            print("no Klaviyo sync has run on this database yet")
            return 0
        rows = conn.execute(
            f"""select s.account_id, s.stream, s.cursor_value, s.next_page_url is not null, s.updated_at
                from {store.SCHEMA}._stream_state s order by 1, 2""").fetchall()
    for account_id, stream, cursor, mid, updated in rows:
        where = "mid-stream (resumes at a saved page)" if mid else "complete"
        print(f"{account_id:<12} {stream:<24} cursor={cursor.isoformat() if cursor else '-':<26} {where}; "
              f"saved {updated:%Y-%m-%d %H:%M:%S}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
