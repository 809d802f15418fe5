"""The retry policy of the Looker hook: retry only what cannot deliver a report twice."""

from __future__ import annotations

import logging
import random
from typing import Any

from urllib3.util.retry import Retry

# Looker returns these before it executes a request (rate limit, service unavailable), so any request,
# run_once included, may be sent again.
STATUSES_REJECTED_BEFORE_EXECUTION = frozenset({429, 503})

# These may come after Looker executed the request, so only requests that are safe to repeat retry on them.
STATUSES_RETRIED_WHEN_IDEMPOTENT = frozenset({500, 502, 504})

# PATCH is listed because the only PATCH the hook sends sets a datagroup's absolute trigger times.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT", "PATCH"})


class LookerRetry(Retry):
    """urllib3 retry policy that never repeats a request Looker may have executed.

    The one decision of what may be retried:

    * a connection that failed before the request was sent (refused, DNS, connect timeout): any request;
    * 429 and 503 responses: any request, honouring ``Retry-After`` up to ``retry_after_max`` seconds;
    * read timeouts, dropped connections and 500, 502, 504 responses: only methods in ``allowed_methods``.

    The hook gives run_once POSTs a policy whose ``allowed_methods`` exclude POST, and login and
    System Activity queries, which change nothing, a policy that includes it. Backoff is exponential
    with jitter and capped at ``backoff_max``; each retry is logged with its number and reason.
    """

    def __init__(self, *args: Any, logger: logging.Logger | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = logger

    def new(self, **kw: Any) -> LookerRetry:
        retry = super().new(**kw)
        retry.logger = self.logger
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code in STATUSES_REJECTED_BEFORE_EXECUTION:
            return True
        return status_code in STATUSES_RETRIED_WHEN_IDEMPOTENT and self._is_method_retryable(method)

    def get_backoff_time(self) -> float:
        attempts = len(self.history)
        if attempts == 0:
            return 0.0
        backoff = self.backoff_factor * (2 ** (attempts - 1))
        if self.backoff_jitter:
            backoff += random.random() * self.backoff_jitter
        return float(max(0.0, min(self.backoff_max, backoff)))

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # type: ignore[override]
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if self.logger is not None:
            if response is not None:
                reason = f"answer {response.status}"
                retry_after = response.headers.get("Retry-After")
                if retry_after and response.status in self.RETRY_AFTER_STATUS_CODES:
                    wait = f"Retry-After {retry_after!r} (at most {self.retry_after_max:.0f} s)"
                else:
                    wait = f"{retry.get_backoff_time():.1f} s"
            else:
                reason = f"{type(error).__name__}: {error}"
                wait = f"{retry.get_backoff_time():.1f} s"
            self.logger.warning(
                "Retrying Looker request %s %s (retry %d) after %s; waiting %s.",
                method,
                _path_of(url),
                len(retry.history),
                reason,
                wait,
            )
        return retry


def _path_of(url: str | None) -> str:
    """Return the path of ``url`` without its query string, which is the part worth logging."""
    if not url:
        return "?"
    return url.split("?", 1)[0]


def build_retry(
    *,
    max_retries: int,
    backoff_factor: float,
    backoff_max: float,
    retry_after_max: float,
    allow_post: bool,
    logger: logging.Logger | None,
) -> LookerRetry:
    """Return the hook's retry policy; ``allow_post`` also retries POST on read errors and 5xx."""
    methods = IDEMPOTENT_METHODS | {"POST"} if allow_post else IDEMPOTENT_METHODS
    return LookerRetry(
        total=max_retries,
        connect=max_retries,
        read=max_retries,
        status=max_retries,
        other=0,
        redirect=0,
        allowed_methods=methods,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        backoff_jitter=backoff_factor,
        retry_after_max=retry_after_max,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
        logger=logger,
    )
