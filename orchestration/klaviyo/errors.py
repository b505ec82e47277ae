"""Errors of the Klaviyo sync: each user-facing one is a single sentence that names the fix.

No message ever contains an API key: the client redacts the key of its account from every
message it builds, and messages name requests by method + path only (never headers).
"""

from __future__ import annotations

from orchestration.errors import UserFacingError

#: Read scopes a private key needs for every stream of the sync (per the OpenAPI spec's
#: ``x-klaviyo-scopes``; the campaign-values report needs ``campaigns:read``).
REQUIRED_SCOPES = (
    "metrics:read", "events:read", "profiles:read", "campaigns:read", "flows:read", "lists:read",
)


class KlaviyoError(UserFacingError):
    """Base class: ``str(err)`` is one sentence naming the problem and the fix."""


class KlaviyoConfigError(KlaviyoError):
    """KLAVIYO_API_KEY / KLAVIYO_ACCOUNTS is missing or malformed."""


class KlaviyoAuthError(KlaviyoError):
    """HTTP 401 (bad or revoked key) or 403 (key lacks a scope); never retried."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class KlaviyoRequestError(KlaviyoError):
    """Klaviyo refused a request (HTTP 400 or another 4xx that retrying cannot fix)."""

    def __init__(self, message: str, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class KlaviyoUnavailableError(KlaviyoError):
    """Retries were exhausted (429 / 5xx / timeouts / broken bodies / network errors)."""


class KlaviyoPagingError(KlaviyoError):
    """The API returned a next-page link already followed (or one on another host)."""


class SyncLockedError(KlaviyoError):
    """Another sync of the same account is running against the same database."""


# --- internal, retryable conditions (never shown to a user as such) -------------------------

class RetryableResponse(Exception):
    """A response worth retrying; ``reason`` is a short code counted in the stats."""

    reason = "retryable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RateLimited(RetryableResponse):
    """HTTP 429; ``retry_after`` seconds from the Retry-After header (None if absent)."""

    reason = "rate_limited"

    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class ServerError(RetryableResponse):
    """HTTP 5xx."""

    reason = "server_error"


class BrokenBody(RetryableResponse):
    """HTTP 2xx whose body is not a complete JSON document (truncated transfer)."""

    reason = "broken_body"
