"""Where the crawler may connect: public HTTP(S) addresses only, unless the configuration allows more.

An outlet URL, a link in a feed or a redirect can point at the machine wirewatch runs on, its
private network or a cloud metadata service (169.254.169.254 hands out credentials). The
check runs on the addresses a host name resolves to, so `localhost` or a public name
pointing at 10.0.0.5 is refused like the literal address. Scrapy resolves the name again
when it connects; a name that changes its answer within that instant (DNS rebinding) is not
caught here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
# What the tests and `wirewatch demo` allow: the replay servers listen on 127.0.0.1.
LOOPBACK: tuple[Network, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class UnsafeDestination(ValueError):
    """A URL the crawler must not fetch; the message says why, for the log line."""


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings ("127.0.0.0/8", "10.1.2.3") as networks; ValueError names a bad one."""
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP network: {value!r}") from None
    return tuple(out)


def public(address: Address) -> bool:
    """Routable on the internet: not private, loopback, link-local (metadata), multicast or reserved."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return address.is_global and not address.is_multicast


def check_address(address: Address, allowed: tuple[Network, ...] = ()) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed):
        return
    if not public(address):
        raise UnsafeDestination(f"{_kind(address)} address {address} (not in crawl.allowed_networks)")


def check_scheme(url: str) -> str:
    """The URL's host; raises for a non-HTTP scheme or a URL without a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeDestination(f"scheme {parts.scheme or '(none)'!r} is not http or https")
    if not parts.hostname:
        raise UnsafeDestination("no host in the URL")
    return parts.hostname


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def check_resolved(host: str, infos: Iterable[tuple], allowed: tuple[Network, ...] = ()) -> None:
    """Every address `host` resolved to (getaddrinfo tuples) must be allowed: an attacker's name may
    return a public and a private address, and the connection may use either."""
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    if not addresses:
        raise UnsafeDestination(f"{host} resolves to no address")
    for address in sorted(addresses, key=str):
        try:
            check_address(address, allowed)
        except UnsafeDestination as exc:
            raise UnsafeDestination(f"{host} resolves to {exc}") from None


def check_url(url: str, allowed: tuple[Network, ...] = ()) -> None:
    """Blocking form (resolves with the system resolver) for callers outside the event loop."""
    host = check_scheme(url)
    address = literal_address(host)
    if address is not None:
        check_address(address, allowed)
        return
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return  # the fetch itself then fails with a DNS error, reported as such
    check_resolved(host, infos, allowed)


def _kind(address: Address) -> str:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_private:
        return "private"
    if address.is_multicast:
        return "multicast"
    return "reserved"
