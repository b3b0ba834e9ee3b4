"""Where phones in the room can reach this server: loopback addresses (`localhost`,
`127.0.0.1`, `::1`) work only on the machine itself, so a join link or QR code built from
one is replaced by the machine's address on the local network.

The local address is found without sending anything: connecting a UDP socket only asks the
operating system which interface (and so which source address) it would route through.
"""

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

# A documentation-only address (RFC 5737): never contacted, only routed to.
_PROBE_ADDRESS = ("192.0.2.1", 9)
_CACHE_SECONDS = 30.0
_cache: dict[tuple[str, int], tuple[float, bool]] = {}


def is_loopback_host(host: str | None) -> bool:
    """Whether a host name or address means "this machine only"."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard_host(host: str | None) -> bool:
    """Whether a listening address means "every interface" (0.0.0.0, ::)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def lan_address() -> str | None:
    """This machine's IPv4 address on the local network, or None when it has none."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE_ADDRESS)  # UDP: nothing is sent
            found = str(probe.getsockname()[0])
    except OSError:
        found = ""
    if found and not is_loopback_host(found) and not is_wildcard_host(found):
        return found
    try:
        found = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return found if found and not is_loopback_host(found) else None


def listens_on(host: str, port: int) -> bool:
    """Whether this server answers at host:port (a local connection, cached for a while):
    a server started with `--host 127.0.0.1` does not answer on the network address."""
    now = time.monotonic()
    cached = _cache.get((host, port))
    if cached is not None and now - cached[0] < _CACHE_SECONDS:
        return cached[1]
    try:
        with socket.create_connection((host, port), timeout=0.3):
            answer = True
    except OSError:
        answer = False
    _cache[(host, port)] = (now, answer)
    return answer


@dataclass(frozen=True)
class Reachability:
    """A base URL as phones in the room see it.

    `url`: the address to give people; `loopback`: the address in use works only on this
    machine; `lan_url`: the same on the local network (None without a network);
    `lan_reachable`: the server answers there (else it listens on loopback only and must be
    restarted with `--host 0.0.0.0`)."""

    url: str
    loopback: bool = False
    lan_url: str | None = None
    lan_reachable: bool = False

    @property
    def replaced(self) -> bool:
        """The network address is given instead of the loopback one."""
        return self.loopback and self.lan_url is not None and self.lan_reachable


def _with_host(url: str, host: str) -> str:
    parts = urlsplit(url)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def reachable(base_url: str) -> Reachability:
    """The address phones can open for `base_url` (scheme://host[:port], no trailing slash)."""
    parts = urlsplit(base_url)
    if not is_loopback_host(parts.hostname):
        return Reachability(url=base_url)
    lan = lan_address()
    if lan is None:
        return Reachability(url=base_url, loopback=True)
    lan_url = _with_host(base_url, lan)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    answers = listens_on(lan, port)
    return Reachability(
        url=lan_url if answers else base_url,
        loopback=True,
        lan_url=lan_url,
        lan_reachable=answers,
    )


def phone_link(host: str, port: int, scheme: str = "http") -> Reachability:
    """What `policylab serve --host HOST --port PORT` can tell people to open: the network
    address when it listens on every interface; the loopback one (with the network address
    it would have) when it listens on this machine only."""
    if is_wildcard_host(host) or is_loopback_host(host):
        lan = lan_address()
        shown = "localhost" if is_loopback_host(host) or lan is None else lan
        base = f"{scheme}://{shown}:{port}"
        lan_url = f"{scheme}://{lan}:{port}" if lan else None
        if is_wildcard_host(host):
            return Reachability(url=base, loopback=lan is None, lan_url=lan_url, lan_reachable=True)
        return Reachability(url=base, loopback=True, lan_url=lan_url, lan_reachable=False)
    shown = f"[{host}]" if ":" in host else host
    return Reachability(url=f"{scheme}://{shown}:{port}")
