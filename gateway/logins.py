"""Login rules in plain Python: the client address behind trusted proxies, the network an
address belongs to, the failure throttle and which logins deserve an alert."""
import ipaddress
import math
from datetime import datetime, timedelta

FAILURE_WINDOW = timedelta(minutes=15)
# Failures that lock one username out from one address, and any username from one address.
MAX_FAILURES_PER_USER_AND_ADDRESS = 5
MAX_FAILURES_PER_ADDRESS = 50
# How far back a network counts as known to a user; login records older than this go.
LOGIN_MEMORY = timedelta(days=90)


def parse_networks(text: str | None) -> tuple:
    """``TRUSTED_PROXIES``: addresses or networks, separated by commas or spaces."""
    items = (text or "").replace(",", " ").split()
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _ip(text: str | None):
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address, proxies: tuple) -> bool:
    return address is not None and any(address in network for network in proxies
                                       if address.version == network.version)


def client_address(remote_addr: str | None, forwarded_for: str | None, proxies: tuple) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the last
    address in ``X-Forwarded-For`` that is not a trusted proxy itself (the one our proxies
    saw connect). A header from anyone else is ignored: clients can write anything there."""
    peer = _ip(remote_addr)
    if peer is None:
        return remote_addr or "unknown"
    if not forwarded_for or not _trusted(peer, proxies):
        return str(peer)
    hops = [_ip(hop) for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        if hop is None:  # a garbled entry: nothing before it can be trusted
            return str(peer)
        if not _trusted(hop, proxies):
            return str(hop)
    return str(hops[0])


def network_of(address: str) -> str:
    """The network a login comes from: the /24 of an IPv4 address, the /64 of IPv6."""
    ip = _ip(address)
    if ip is None:
        return address
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def retry_after(recent_failures: list[datetime], limit: int, now: datetime) -> int | None:
    """Seconds until a login may be tried again, or None when it may now. ``recent_failures``
    are the newest failures in the window, newest first, at most ``limit`` of them: the
    lock lifts when the oldest of the last ``limit`` leaves the window."""
    if len(recent_failures) < limit:
        return None
    lifts_at = recent_failures[limit - 1] + FAILURE_WINDOW
    return max(1, math.ceil((lifts_at - now).total_seconds()))


def deserves_alert(logged_in_before: bool, network_seen_recently: bool) -> bool:
    """A login from a network the user has not used within :data:`LOGIN_MEMORY`; never the
    user's very first login."""
    return logged_in_before and not network_seen_recently
