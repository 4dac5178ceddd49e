"""Where a service may send on its own initiative: the rule against server-side request
forgery, for every outbound URL a caller chooses (referral's webhooks, repatriation's
liaison endpoints).

A destination is refused when it is not https in production, or when its host is, or
resolves to, an address that is not public: loopback, link-local, private (RFC 1918,
ULA), unspecified, multicast, reserved, shared (CGNAT) or a cloud metadata address. An
explicit allow-list of networks (empty by default) admits what it names, e.g. the
loopback receivers of development and tests, or an NGO reached over a private link.

The check must be made on the addresses the host resolves to *when connecting*, not only
when the URL is registered: a name can be re-pointed at an internal address afterwards
(DNS rebinding). :func:`resolve_checked` resolves once and answers the checked addresses,
so the caller connects to one of them and not to whatever a second resolution says.

Everything here is pure but the default resolver (``getaddrinfo``), which is injectable.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``await resolve(host, port)``: the addresses ``host`` resolves to, as strings."""

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack...
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})
# RFC 6761: these names are loopback whatever a resolver says; checked without asking one.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(ValueError):
    """The destination may not be sent to; ``reason`` says why, without the URL's path."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DestinationUnresolved(DestinationRefused):
    """The host does not resolve (now): refused for a connection; a registration may
    accept it, as every connection checks again."""


@dataclass(frozen=True)
class Destination:
    """A URL that passed the check, and the addresses its host resolved to (all checked)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def authority(self) -> str:
        """The URL's ``host[:port]`` as written: the Host header of a pinned request."""
        return urlsplit(self.url).netloc

    @property
    def is_name(self) -> bool:
        """Whether the host is a name (TLS then names it in SNI and the certificate)."""
        return _literal(self.host) is None

    def pinned_url(self, address: str | None = None) -> str:
        """The URL with its host replaced by ``address`` (default: the first checked one),
        to connect there and nowhere a later resolution would say. Send it with the Host
        header :attr:`authority` and, for https, TLS naming :attr:`host`."""
        ip = _literal(address or self.addresses[0])
        if ip is None or str(ip) not in self.addresses:
            raise ValueError("only a checked address can be connected to")
        parts = urlsplit(self.url)
        shown = f"[{ip}]" if ip.version == 6 else str(ip)
        return urlunsplit(parts._replace(netloc=f"{shown}:{self.port}"))


def parse_networks(networks: Iterable[str | IPNetwork]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in networks)


@dataclass(frozen=True)
class DestinationPolicy:
    require_https: bool
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(
        cls, *, production: bool, allowed_networks: Iterable[str | IPNetwork] = ()
    ) -> DestinationPolicy:
        """The policy of a service: https required in production."""
        return cls(require_https=production, allowed_networks=parse_networks(allowed_networks))

    def check_url(self, url: str) -> tuple[str, str, int]:
        """Check what the URL says by itself; answer its scheme, host (lower case, without
        brackets or a trailing dot) and port. A host that is an address literal or a
        reserved name is checked here already."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as invalid:
            raise DestinationRefused(f"not a valid URL: {invalid}") from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise DestinationRefused("only http and https URLs are accepted")
        if self.require_https and scheme != "https":
            raise DestinationRefused("only https URLs are accepted in production")
        if parts.username is not None or parts.password is not None:
            raise DestinationRefused("credentials in the URL are not accepted")
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise DestinationRefused("the URL has no host")
        if host in METADATA_HOSTS:
            raise DestinationRefused(f"{host} is a cloud metadata service")
        if host in LOOPBACK_NAMES or host.endswith(".localhost"):
            for address in _LOOPBACK_ADDRESSES:
                self.check_address(address, host=host)
        elif _literal(host) is not None:
            self.check_address(host)
        return scheme, host, port or (443 if scheme == "https" else 80)

    def check_address(self, address: str, *, host: str | None = None) -> None:
        """Refuse ``address`` unless it is public or in the allow-list."""
        ip = _literal(address)
        if ip is None:
            raise DestinationRefused(f"{address!r} is not an IP address")
        if self.allows(ip):
            return
        reason = forbidden_because(ip)
        if reason is not None:
            named = f"{host} resolves to {ip}" if host and host != str(ip) else str(ip)
            raise DestinationRefused(f"{named}, {reason}")

    def allows(self, ip: IPAddress) -> bool:
        """Whether the allow-list names ``ip`` (or the IPv4 address it carries)."""
        candidates = [ip, *filter(None, [_embedded_ipv4(ip)])]
        return any(
            candidate in network
            for candidate in candidates
            for network in self.allowed_networks
            if network.version == candidate.version
        )

    async def resolve_checked(self, url: str, resolve: Resolver | None = None) -> Destination:
        """Check the URL, resolve its host and check every address it resolves to: one
        forbidden address refuses the whole destination (a resolver may answer them in any
        order). An address literal is not resolved."""
        scheme, host, port = self.check_url(url)
        if _literal(host) is not None:
            addresses = [str(_literal(host))]
        elif host in LOOPBACK_NAMES or host.endswith(".localhost"):
            addresses = list(_LOOPBACK_ADDRESSES)
        else:
            try:
                addresses = await (resolve or resolve_host)(host, port)
            except OSError as failed:
                raise DestinationUnresolved(f"{host} does not resolve ({failed})") from None
            if not addresses:
                raise DestinationUnresolved(f"{host} does not resolve")
        for address in addresses:
            self.check_address(address, host=host)
        checked = tuple(dict.fromkeys(str(_literal(a)) for a in addresses))
        return Destination(url=url, scheme=scheme, host=host, port=port, addresses=checked)


def forbidden_because(ip: IPAddress) -> str | None:
    """Why ``ip`` is no destination, or None for a public address."""
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        reason = forbidden_because(embedded)
        return None if reason is None else f"an IPv6 form of {embedded}: {reason}"
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the system resolver, off the event loop)."""
    found = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id is no escape
    except ValueError:
        return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to reach it (mapped, 6to4, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
