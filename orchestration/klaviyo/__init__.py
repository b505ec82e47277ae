"""Klaviyo → Postgres (``klaviyo_raw``): HTTP client, stream definitions, resumable sync.

Public API::

    from orchestration.klaviyo import KlaviyoClient, load_accounts, sync_account, sync_accounts
    results = sync_accounts(dsn)                     # every configured account, all streams
    result = sync_account(dsn, account, ["events"])  # one account, some streams

Command line: ``python -m orchestration.klaviyo sync [--account ID] [--stream NAME]``.
A local Klaviyo-compatible server for tests and demos lives in ``orchestration.klaviyo.fake``.
See README.md here.
"""

from orchestration.klaviyo.client import ClientStats, KlaviyoClient, Page, RetryPolicy
from orchestration.klaviyo.config import (
    DEFAULT_BASE_URL,
    DEFAULT_REVISION,
    AccountConfig,
    SyncOptions,
    load_accounts,
)
from orchestration.klaviyo.errors import (
    REQUIRED_SCOPES,
    KlaviyoAuthError,
    KlaviyoConfigError,
    KlaviyoError,
    KlaviyoPagingError,
    KlaviyoRequestError,
    KlaviyoUnavailableError,
    SyncLockedError,
)
from orchestration.klaviyo.streams import STREAMS, STREAMS_BY_NAME, Stream
from orchestration.klaviyo.sync import StreamResult, SyncResult, sync_account, sync_accounts

__all__ = [
    "DEFAULT_BASE_URL", "DEFAULT_REVISION", "REQUIRED_SCOPES", "STREAMS", "STREAMS_BY_NAME",
    "AccountConfig", "ClientStats", "KlaviyoAuthError", "KlaviyoClient", "KlaviyoConfigError",
    "KlaviyoError", "KlaviyoPagingError", "KlaviyoRequestError", "KlaviyoUnavailableError", "Page",
    "RetryPolicy", "Stream", "StreamResult", "SyncLockedError", "SyncOptions", "SyncResult",
    "load_accounts", "sync_account", "sync_accounts",
]
