"""Per-client rate limit through the `limits` library: counters in process memory by default,
in Redis when `ASSISTANT_RATELIMIT_URL` names one, so that API replicas share one budget.

The limit is a moving window: at most `burst` requests in any `60 * burst / per_minute` seconds
(the defaults, 10 and 30: 10 at once, 30 a minute sustained). A request can cost more than one
(long bodies, see GuardMiddleware); a cost above `burst` is charged as `burst`, so it still
passes once, on an empty window.

When Redis cannot be reached, the replica falls back to its own in-memory window (logged,
at most every 30 s) rather than refusing or waving through every request; the shared window
is used again as soon as Redis answers.
"""

from __future__ import annotations

import logging
import math
import time
from urllib.parse import urlsplit

from limits import RateLimitItemPerSecond, strategies
from limits.aio import strategies as aio_strategies
from limits.aio.storage import Storage as AsyncStorage
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string

log = logging.getLogger("assistant.ratelimit")

REDIS_TIMEOUT_S = 1.0  # a hung Redis costs a request at most this, then the local window
WARN_EVERY_S = 30.0
NAMESPACE = "assistant"


def window_seconds(per_minute: int, burst: int) -> int:
    """The window in which `burst` requests are allowed, so that the sustained rate is
    `per_minute` a minute (at least one second)."""
    return max(1, math.ceil(60 * max(burst, 1) / max(per_minute, 1)))


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def _redis(url: str) -> aio_strategies.MovingWindowRateLimiter:
    """Redis through redis-py's asyncio client: a round trip never blocks the event loop."""
    storage = storage_from_string(
        "async+" + url,
        implementation="redispy",
        wrap_exceptions=True,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        socket_timeout=REDIS_TIMEOUT_S,
    )
    assert isinstance(storage, AsyncStorage)
    return aio_strategies.MovingWindowRateLimiter(storage)


class RateLimiter:
    """`take(key, cost)` → 0.0 when allowed (the cost is spent), else seconds to wait."""

    def __init__(self, url: str, per_minute: int, burst: int):
        self.url = url
        self.item = RateLimitItemPerSecond(max(burst, 1), window_seconds(per_minute, burst))
        # in memory: limits' synchronous storage, called inline (a lock and a list, no I/O;
        # its asyncio twin spends ~10x the CPU per request on expiry tasks)
        self.local = strategies.MovingWindowRateLimiter(MemoryStorage())
        scheme = urlsplit(url).scheme.lower()
        self.shared = None if scheme == "memory" else _redis(url)
        self._warned = 0.0

    async def take(self, key: str, cost: int = 1) -> float:
        cost = min(max(int(cost), 1), self.item.amount)
        if self.shared is not None:
            try:
                if await self.shared.hit(self.item, NAMESPACE, key, cost=cost):
                    return 0.0
                stats = await self.shared.get_window_stats(self.item, NAMESPACE, key)
                return max(stats.reset_time - time.time(), 0.001)
            except StorageError as exc:
                now = time.monotonic()
                if now - self._warned >= WARN_EVERY_S:
                    self._warned = now
                    log.warning(
                        "rate-limit store %s unavailable (%s); this replica counts on its own",
                        _redacted(self.url),
                        exc,
                    )
        if self.local.hit(self.item, NAMESPACE, key, cost=cost):
            return 0.0
        stats = self.local.get_window_stats(self.item, NAMESPACE, key)
        return max(stats.reset_time - time.time(), 0.001)
