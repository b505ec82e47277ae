"""Which Klaviyo accounts to sync and how: environment → :class:`AccountConfig` list.

* ``KLAVIYO_ACCOUNTS`` — a JSON list, one object per account::

      [{"account_id": "eu", "api_key_env": "KLAVIYO_KEY_EU"},
       {"account_id": "us", "api_key": "pk_...", "base_url": "https://a.klaviyo.com/api/"}]

  keys: ``account_id`` (required, unique), ``api_key`` or ``api_key_env`` (the name of an
  environment variable holding the key — keeps secrets out of the JSON), optional
  ``base_url``, ``revision``, ``conversion_metric_id`` (default: the account's
  "Placed Order" metric), ``start`` (ISO date: ignore events before it).
* otherwise ``KLAVIYO_API_KEY`` (one account, id ``KLAVIYO_ACCOUNT_ID`` or ``default``),
  with ``KLAVIYO_BASE_URL``, ``KLAVIYO_REVISION``, ``KLAVIYO_CONVERSION_METRIC_ID``,
  ``KLAVIYO_START`` as the optional settings.
* ``KLAVIYO_CONCURRENCY`` — how many time slices of ``events`` and ``profiles`` are synced
  at once (default :data:`DEFAULT_CONCURRENCY`; 1 is the serial sync). Whatever the
  number, one rate limiter per account keeps every endpoint within Klaviyo's limits.

Keys are never part of a repr, a log line or an error message.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from orchestration.klaviyo.errors import KlaviyoConfigError

#: Production API root (the spec's server + ``/api/``).
DEFAULT_BASE_URL = "https://a.klaviyo.com/api/"
#: The revision the client is written against: ``info.version`` of the pinned OpenAPI spec.
DEFAULT_REVISION = "2026-07-15"

#: Parallel slices per stream when ``KLAVIYO_CONCURRENCY`` is not set.
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 64

_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[A-Za-z0-9]+)?$")
_KNOWN_KEYS = {"account_id", "api_key", "api_key_env", "base_url", "revision",
               "conversion_metric_id", "start"}


@dataclass(frozen=True)
class AccountConfig:
    """One Klaviyo account to sync. ``api_key`` is excluded from repr and equality output."""

    account_id: str
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    revision: str = DEFAULT_REVISION
    conversion_metric_id: str | None = None
    start: datetime | None = None

    def __post_init__(self) -> None:
        if not _ACCOUNT_ID.match(self.account_id or ""):
            raise KlaviyoConfigError(
                f"Klaviyo account id {self.account_id!r} is not valid; use 1-64 letters, digits, '_', '-' or '.'."
            )
        if not self.api_key or not self.api_key.strip():
            raise KlaviyoConfigError(
                f"Klaviyo account {self.account_id!r} has an empty API key; set its private key."
            )
        if not _REVISION.match(self.revision):
            raise KlaviyoConfigError(
                f"Klaviyo revision {self.revision!r} of account {self.account_id!r} is not YYYY-MM-DD[.suffix]."
            )
        if not self.base_url.startswith(("http://", "https://")):
            raise KlaviyoConfigError(
                f"Klaviyo base URL {self.base_url!r} of account {self.account_id!r} "
                "must start with http:// or https://."
            )
        if not self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url + "/")


def concurrency_from_env(env: Mapping[str, str] | None = None) -> int:
    """``KLAVIYO_CONCURRENCY`` as an int in 1..64 (default :data:`DEFAULT_CONCURRENCY`)."""
    env = os.environ if env is None else env
    raw = env.get("KLAVIYO_CONCURRENCY", "").strip()
    if not raw:
        return DEFAULT_CONCURRENCY
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CONCURRENCY:
        raise KlaviyoConfigError(
            f"KLAVIYO_CONCURRENCY={raw!r} is not a whole number from 1 to {MAX_CONCURRENCY}; "
            f"set it to the number of parallel slices (1 = serial).")
    return int(raw)


@dataclass(frozen=True)
class SyncOptions:
    """Knobs of one sync (defaults suit a real account; tests shrink timeouts and backoff)."""

    #: Width of the event time slices; a resume restarts at most one slice back.
    event_slice: timedelta = timedelta(days=7)
    #: Re-read this much before the events cursor on each new run (late-arriving events;
    #: duplicates are dropped by the primary key).
    events_lookback: timedelta = timedelta(minutes=15)
    #: Days covered by the campaign-values report (the API allows at most one year).
    report_days: int = 365
    #: HTTP timeout (seconds) of one request.
    timeout: float = 60.0
    #: Attempts per request (first try included) before giving up.
    max_attempts: int = 8
    #: Exponential backoff (seconds): initial wait, ceiling, random jitter added.
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    backoff_jitter: float = 1.0
    #: Longest Retry-After (seconds) honoured as given; longer values are capped.
    retry_after_cap: float = 120.0
    #: Slices of ``events``/``profiles`` synced at once (``KLAVIYO_CONCURRENCY``; 1 = serial).
    concurrency: int = field(default_factory=concurrency_from_env)

    def __post_init__(self) -> None:
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise KlaviyoConfigError(
                f"Klaviyo sync concurrency {self.concurrency} is out of range; use 1 to {MAX_CONCURRENCY}.")


def _parse_start(value: object, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        text = str(value)
        parsed = (datetime.fromisoformat(text) if "T" in text or " " in text
                  else datetime.combine(date.fromisoformat(text), datetime.min.time()))
    except ValueError:
        raise KlaviyoConfigError(f"{where} start {value!r} is not an ISO date (YYYY-MM-DD).") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def load_accounts(env: Mapping[str, str] | None = None) -> list[AccountConfig]:
    """Accounts from ``KLAVIYO_ACCOUNTS`` (JSON list) or ``KLAVIYO_API_KEY`` (one account)."""
    env = os.environ if env is None else env
    raw = env.get("KLAVIYO_ACCOUNTS", "").strip()
    if raw:
        return _accounts_from_json(raw, env)
    key = env.get("KLAVIYO_API_KEY", "").strip()
    if not key:
        raise KlaviyoConfigError(
            "No Klaviyo account is configured: set KLAVIYO_API_KEY to a private API key "
            "(or KLAVIYO_ACCOUNTS to a JSON list of accounts)."
        )
    return [AccountConfig(
        account_id=env.get("KLAVIYO_ACCOUNT_ID", "").strip() or "default",
        api_key=key,
        base_url=env.get("KLAVIYO_BASE_URL", "").strip() or DEFAULT_BASE_URL,
        revision=env.get("KLAVIYO_REVISION", "").strip() or DEFAULT_REVISION,
        conversion_metric_id=env.get("KLAVIYO_CONVERSION_METRIC_ID", "").strip() or None,
        start=_parse_start(env.get("KLAVIYO_START"), "KLAVIYO_START"),
    )]


def _accounts_from_json(raw: str, env: Mapping[str, str]) -> list[AccountConfig]:
    try:
        items = json.loads(raw)
    except ValueError:
        # the JSON may hold keys: never echo it
        raise KlaviyoConfigError(
            "KLAVIYO_ACCOUNTS is not valid JSON; set it to a JSON list of account objects.") from None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise KlaviyoConfigError("KLAVIYO_ACCOUNTS must be a non-empty JSON list of account objects.")
    accounts: list[AccountConfig] = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise KlaviyoConfigError(f"KLAVIYO_ACCOUNTS entry {n} is not a JSON object.")
        unknown = sorted(set(item) - _KNOWN_KEYS)
        if unknown:
            raise KlaviyoConfigError(
                f"KLAVIYO_ACCOUNTS entry {n} has unknown keys {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(_KNOWN_KEYS))}."
            )
        account_id = str(item.get("account_id") or "").strip()
        if not account_id:
            raise KlaviyoConfigError(f"KLAVIYO_ACCOUNTS entry {n} has no account_id.")
        key = item.get("api_key")
        if not key and item.get("api_key_env"):
            key = env.get(str(item["api_key_env"]), "")
            if not key:
                raise KlaviyoConfigError(
                    f"Klaviyo account {account_id!r} reads its key from {item['api_key_env']}, which is not set."
                )
        if not key:
            raise KlaviyoConfigError(f"Klaviyo account {account_id!r} has neither api_key nor api_key_env.")
        accounts.append(AccountConfig(
            account_id=account_id,
            api_key=str(key),
            base_url=str(item.get("base_url") or DEFAULT_BASE_URL),
            revision=str(item.get("revision") or DEFAULT_REVISION),
            conversion_metric_id=item.get("conversion_metric_id") or None,
            start=_parse_start(item.get("start"), f"Klaviyo account {account_id!r}"),
        ))
    ids = [a.account_id for a in accounts]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise KlaviyoConfigError(f"KLAVIYO_ACCOUNTS lists account {dupes[0]!r} twice; account ids must be unique.")
    return accounts
