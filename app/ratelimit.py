"""Per-minute rate limits (the `limits` library), counted across every worker process when
Redis is configured, in this process otherwise; past a limit the caller gets 429.

Services count the actions they limit (`hit`); routes only say who is calling (`CallerDep`).
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.config import get_settings
from app.errors import TooManyRequests
from app.i18n import ngettext

logger = logging.getLogger(__name__)

# Requests per minute for each action. Joining is generous: a whole room often shares one
# venue IP address. Documented in the README.
LIMITS = {
    "create_session": 300,
    "join": 3000,
    "contribute": 120,
    "import": 60,
    "organiser_key": 20,  # wrong organiser keys, through the API or the create page
    # Per session as well as per address: one client behind the venue's address must not
    # fill a session with puppets, nor lock the real room out by doing so.
    "join_session": 1200,
    "contribute_session": 3000,
    "code_guess": 30,  # join codes that match no session, per address
}
KEY_PREFIX = "policylab-limits"


@dataclass(frozen=True)
class Caller:
    """Who sends a request, as far as limits are concerned: their network address (behind a
    reverse proxy, the address the proxy reports when forwarded headers are trusted)."""

    address: str


def get_caller(request: Request) -> Caller:
    """Dependency: the caller of this request."""
    return Caller(request.client.host if request.client else "unknown")


CallerDep = Annotated[Caller, Depends(get_caller)]


class _PerMinute(RateLimitItemPerMinute):
    """A per-minute limit whose counts are kept by action and key only (not by the allowed
    amount), so a changed limit applies to the counts already made."""

    def key_for(self, *identifiers: bytes | str | int | float) -> str:
        return "/".join([self.namespace, *(str(i) for i in identifiers)])


class _Limiter:
    """One limiter per process, on the storage the settings name (made on first use)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._storage: Storage | None = None
        self._strategy: MovingWindowRateLimiter | None = None
        self._url: str | None = None

    def strategy(self) -> MovingWindowRateLimiter:
        url = get_settings().redis_url
        with self._lock:
            if self._strategy is None or url != self._url:
                storage = (
                    storage_from_string(url, key_prefix=KEY_PREFIX) if url else MemoryStorage()
                )
                assert isinstance(storage, Storage)  # the synchronous kind
                self._storage = storage
                self._strategy = MovingWindowRateLimiter(storage)
                self._url = url
            return self._strategy

    def reset(self) -> None:
        with self._lock:
            if self._storage is not None:
                self._storage.reset()
            self._storage = self._strategy = None
            self._url = None


_limiter = _Limiter()


def hit(action: str, key: str) -> None:
    """Count one `action` by `key` (an address, or a participant); refuse with 429 past the
    per-minute limit. When the shared store cannot be reached, nobody is refused."""
    _count(action, key, hit=True)


def refuse_if_exhausted(action: str, key: str) -> None:
    """429 when `key` has used up its `action`s of the minute; counts nothing. For limits on
    failures (wrong keys): checked before the attempt, so that a right guess is no way round
    the limit, and counted with `hit` only when the attempt fails."""
    _count(action, key, hit=False)


def _count(action: str, key: str, *, hit: bool) -> None:
    settings = get_settings()
    if not settings.rate_limits:
        return
    item = _PerMinute(settings.rate_limits_per_minute.get(action, LIMITS[action]))
    try:
        strategy = _limiter.strategy()
        allowed = strategy.hit(item, action, key) if hit else strategy.test(item, action, key)
        if allowed:
            return
        reset_at = strategy.get_window_stats(item, action, key).reset_time
    except Exception:  # the store is down: limits must not take the workshop down with it
        logger.warning("rate limit store unavailable; %s not limited", action, exc_info=True)
        return
    retry = max(1, math.ceil(reset_at - time.time()))
    raise TooManyRequests(
        ngettext(
            "Too many requests; please wait %(num)s second and try again.",
            "Too many requests; please wait %(num)s seconds and try again.",
            retry,
        ),
        retry_after=retry,
    )


def reset() -> None:
    """Forget every count (tests)."""
    _limiter.reset()
