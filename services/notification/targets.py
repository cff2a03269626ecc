"""Where a webhook may be sent, and sending it to exactly the address that was checked.

A webhook URL is chosen by a user, so without a check the service would post to anything
it can reach: the loopback interface, the cloud's metadata address, the private network.
:func:`resolve_target` resolves the URL's host and refuses it when any of its addresses is
not a public unicast one (loopback, private, link-local, multicast, reserved...), unless
``WEBHOOK_ALLOW_PRIVATE`` is set for local receivers. :func:`post_pinned` then connects to
the address that passed the check (the TLS name and the ``Host`` header stay the URL's),
so a DNS answer that changes between the check and the request (DNS rebinding) is never
used.
"""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3

DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeTarget(Exception):
    """The URL may not receive webhooks; the message says why, without internals."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: str  # the resolved IP address the request goes to
    path: str  # path and query

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str, allow_private: bool, resolve=socket.getaddrinfo) -> Target:
    """The URL's host resolved to one address it may be sent to, or :class:`UnsafeTarget`."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise UnsafeTarget("The URL must be http:// or https:// with a host name.")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        infos = resolve(parts.hostname, port, type=socket.SOCK_STREAM)
    except (ValueError, OSError, UnicodeError):
        raise UnsafeTarget("The URL's host name cannot be resolved.") from None
    addresses = list(dict.fromkeys(info[4][0].split("%")[0] for info in infos))
    if not addresses:
        raise UnsafeTarget("The URL's host name cannot be resolved.")
    if not allow_private and not all(is_public(address) for address in addresses):
        raise UnsafeTarget("The URL resolves to a loopback, private, link-local, multicast or "
                           "reserved address; webhooks go to public addresses only.")
    path = parts.path or "/"
    return Target(parts.scheme, parts.hostname, port, addresses[0],
                  f"{path}?{parts.query}" if parts.query else path)


def post_pinned(target: Target, body: bytes, headers: dict, timeout: float) -> int:
    """POST ``body`` to the target's checked address; the answer's status code."""
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address, target.port, server_hostname=target.host,
            assert_hostname=target.host, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
            maxsize=1, retries=False)
    else:
        pool = urllib3.HTTPConnectionPool(target.address, target.port, maxsize=1,
                                          retries=False)
    try:
        response = pool.urlopen("POST", target.path, body=body,
                                headers={**headers, "Host": target.host_header},
                                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                                redirect=False, preload_content=False)
        response.drain_conn()
        return response.status
    finally:
        pool.close()
