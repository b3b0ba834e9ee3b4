"""The addresses people are given: the join link, and the facilitator's secret link."""

from dataclasses import dataclass

from fastapi import Request

from app.config import get_settings
from app.network import Reachability, reachable


def public_base_url(request: Request) -> str:
    """The address participants reach this server at."""
    return (get_settings().base_url or str(request.base_url)).rstrip("/")


def join_url(request: Request, code: str) -> str:
    """The link participants open to join."""
    return f"{public_base_url(request)}/join/{code}"


@dataclass(frozen=True)
class JoinLink:
    """The join link as shown in the room (projector, dashboard, QR code): on a loopback
    address (`localhost`), the machine's network address instead when the server answers
    there, since no phone can open `localhost`."""

    url: str
    in_use: str
    reach: Reachability

    @property
    def lan_url(self) -> str | None:
        """The join link on the network address (shown in the advice when it is not used)."""
        return f"{self.reach.lan_url}/join/{self.code}" if self.reach.lan_url else None

    @property
    def code(self) -> str:
        return self.in_use.rsplit("/", 1)[-1]


def join_link(request: Request, code: str) -> JoinLink:
    """The join link phones in the room can open, and what to say when there is none."""
    base = public_base_url(request)
    reach = reachable(base)
    return JoinLink(url=f"{reach.url}/join/{code}", in_use=f"{base}/join/{code}", reach=reach)


def facilitator_url(request: Request, code: str, token: str) -> str:
    """The secret link that signs the facilitator in (exchanged for a cookie on first use)."""
    return f"{public_base_url(request)}/f/{code}?key={token}"
