"""``python -m orchestration.klaviyo.fake --port 8765`` — serve generated accounts on 127.0.0.1.

    python -m orchestration.klaviyo.fake --port 8765 --key test-key --customers 2000 --days 120
    KLAVIYO_API_KEY=test-key KLAVIYO_BASE_URL=http://127.0.0.1:8765/api/ python -m orchestration.klaviyo sync

``--account KEY=ACCOUNT_ID[:SEED]`` (repeatable) serves several accounts; ``--mirror landing``
serves the customers and orders of the demo files there (``--profile-share 0.03`` of them);
``--report-limit 2/60`` rate-limits the campaign-values report like Klaviyo (2 calls/min);
``--latency 0.15 --klaviyo-limits`` answers every request after 150 ms (concurrently) and
enforces Klaviyo's burst/steady limits of every endpoint (violations: ``GET /__admin/ratelimits``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from orchestration.demo.config import MANIFEST_PATH, read_demo_config
from orchestration.klaviyo.fake.app import create_app
from orchestration.klaviyo.fake.data import FakeAccount, FakeAccountConfig
from orchestration.klaviyo.fake.faults import Fault
from orchestration.klaviyo.fake.limits import spec_limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.klaviyo.fake", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--key", default="test-key", help="API key of the single account (default test-key)")
    parser.add_argument("--account", action="append", default=[],
                        help="KEY=ACCOUNT_ID[:SEED] — serve several accounts (repeatable)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--start", type=date.fromisoformat, default=None, help="first day (default: ends yesterday)")
    parser.add_argument("--orders-target", type=int, default=None)
    parser.add_argument("--email-campaigns", type=int, default=12)
    parser.add_argument("--sms-campaigns", type=int, default=4)
    parser.add_argument("--mirror", type=Path, default=None,
                        help="landing folder of demo files whose customers and orders to serve")
    parser.add_argument("--profile-share", type=float, default=1.0,
                        help="share of the customers that are Klaviyo profiles (default 1)")
    parser.add_argument("--report-limit", default="", help="CALLS/SECONDS for campaign-values-reports, e.g. 2/60")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer, e.g. 0.15")
    parser.add_argument("--klaviyo-limits", action="store_true",
                        help="enforce Klaviyo's per-endpoint burst/steady rate limits (429 + Retry-After)")
    parser.add_argument("--faults", default="", help="JSON list of faults active from the start")
    args = parser.parse_args(argv)

    demo = read_demo_config(args.mirror) if args.mirror is not None else None
    if args.mirror is not None and demo is None:
        parser.error(f"{args.mirror} holds no demo files (no {MANIFEST_PATH}); "
                     "generate them with python -m orchestration.demo --out DIR")
    specs = args.account or [f"{args.key}=default:{args.seed}"]
    accounts = {}
    for spec in specs:
        key, _, rest = spec.partition("=")
        account_id, _, seed = rest.partition(":")
        sizes = {"email_campaigns": args.email_campaigns, "sms_campaigns": args.sms_campaigns,
                 "account_id": account_id or "default", "profile_share": args.profile_share}
        if demo is not None:
            cfg = FakeAccountConfig.mirroring(demo, **sizes)
        else:
            cfg = FakeAccountConfig(seed=int(seed or args.seed), customers=args.customers, days=args.days,
                                    start=args.start, orders_target=args.orders_target, **sizes)
        started = time.perf_counter()
        accounts[key] = FakeAccount(cfg)
        print(f"account {cfg.account_id}: {accounts[key].counts()} "
              f"(generated in {time.perf_counter() - started:.1f}s)", flush=True)
    limits = {}
    if args.report_limit:
        calls, _, seconds = args.report_limit.partition("/")
        limits["/api/campaign-values-reports"] = (int(calls), float(seconds or 60))
    faults = [Fault.from_dict(d) for d in json.loads(args.faults)] if args.faults else None
    app = create_app(accounts, faults=faults, rate_limits=limits, latency=args.latency,
                     klaviyo_limits=spec_limits() if args.klaviyo_limits else None)

    import uvicorn

    print(f"Klaviyo-compatible fake on http://{args.host}:{args.port}/api/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
