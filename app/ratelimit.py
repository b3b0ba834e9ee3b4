"""A small in-process sliding-window rate limiter (per worker), answering 429 when exceeded."""

import threading
import time
from collections import deque

from fastapi import Request

from app.config import get_settings
from app.errors import TooManyRequests

# Requests per minute for each action. Joining is generous: a whole room often shares one
# venue IP address. Documented in the README.
LIMITS = {
    "create_session": 300,
    "join": 3000,
    "contribute": 120,
    "import": 60,
    "organiser_key": 20,  # wrong organiser keys sent to the API
}

_lock = threading.Lock()
_hits: dict[tuple[str, str], deque[float]] = {}


def client_ip(request: Request) -> str:
    """The peer address (a reverse proxy should be configured to pass the real one)."""
    return request.client.host if request.client else "unknown"


def limit(request: Request, action: str, *, key: str | None = None) -> None:
    """Count one `action` for this caller; refuse with 429 past the per-minute limit."""
    if not get_settings().rate_limits:
        return
    allowed = LIMITS[action]
    now = time.monotonic()
    bucket_key = (action, key or client_ip(request))
    with _lock:
        hits = _hits.setdefault(bucket_key, deque())
        while hits and now - hits[0] > 60:
            hits.popleft()
        if len(hits) >= allowed:
            retry = int(60 - (now - hits[0])) + 1
            raise TooManyRequests(
                f"Too many requests; please wait {retry} seconds and try again.",
                retry_after=retry,
            )
        hits.append(now)
        if len(_hits) > 50_000:
            for stale in [k for k, v in _hits.items() if not v or now - v[-1] > 60]:
                del _hits[stale]


def reset() -> None:
    """Forget every count (tests)."""
    with _lock:
        _hits.clear()
