"""How `policylab serve` runs uvicorn when it faces clients directly.

uvicorn closes a connection that stays idle `timeout_keep_alive` seconds *after* a response,
but it has no limit on how long a client may take to send a request's headers: a client that
opens a connection and sends nothing, or one byte every few seconds, holds it for ever
(measured from outside: 8,000 such connections were never closed, and at about 22,000 the
server stopped answering). `HeaderTimeoutProtocol` closes a connection whose request headers
have not arrived `header_timeout` seconds after it opened, or after its last response.
A reverse proxy (deploy/) protects a public server better still; these limits hold either way.
"""

import asyncio
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings, get_settings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline for each request's headers."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.header_timeout = float(get_settings().http_header_timeout_seconds)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._disarm_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._disarm_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # The next request's headers have the same time, unless they are here already
        # (pipelined) or the connection is closing.
        if not self.pipeline and not self.transport.is_closing():
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)


def forwarded_allow_ips(settings: Settings) -> str | None:
    """The proxies whose X-Forwarded-For/-Proto headers are believed: only when configured
    (POLICYLAB_FORWARDED_ALLOW_IPS, or uvicorn's FORWARDED_ALLOW_IPS); uvicorn would
    otherwise trust 127.0.0.1, so any local proxy passing the header through would let
    clients pick their own address (and escape per-address rate limits)."""
    return settings.forwarded_allow_ips or os.environ.get("FORWARDED_ALLOW_IPS") or None


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run` that bound what slow or idle clients can hold."""
    trusted = forwarded_allow_ips(settings)
    return {
        # By import string: the workers import it themselves.
        "http": "app.serving:HeaderTimeoutProtocol",
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "limit_concurrency": settings.max_connections,
        "proxy_headers": trusted is not None,
        "forwarded_allow_ips": trusted,
    }
