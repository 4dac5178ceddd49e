"""The outbound destination rule: what a caller-chosen URL may point at (SSRF).

The resolver is faked: names resolve to what each case says, without DNS.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from nrm_runtime.destinations import (
    DestinationPolicy,
    DestinationRefused,
    DestinationUnresolved,
)

PUBLIC = "93.184.216.34"
DEV = DestinationPolicy.of(production=False)
PRODUCTION = DestinationPolicy.of(production=True)


def resolver(names: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return names[host]

    return resolve


NAMES = {
    "ngo.example.org": [PUBLIC],
    "rebound.example.org": ["127.0.0.1"],
    "half-internal.example.org": [PUBLIC, "10.0.0.7"],
    "v6.example.org": ["2606:2800:220:1:248:1893:25c8:1946"],
}


def check(policy: DestinationPolicy, url: str):
    return asyncio.run(policy.resolve_checked(url, resolver(NAMES)))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("https://[fd00:ec2::254]/", "cloud metadata"),
        ("https://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://127.8.9.10:8002/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
        ("https://LOCALHOST./hook", "loopback"),
        ("https://api.localhost/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://172.31.255.254/hook", "private"),
        ("https://192.168.1.1/hook", "private"),
        ("https://169.254.10.20/hook", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[fc00::1]/hook", "private"),
        ("https://[fd12:3456::1]/hook", "private"),
        ("https://0.0.0.0/hook", "unspecified"),
        ("https://[::]/hook", "unspecified"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://240.0.0.1/hook", "reserved"),
        ("https://100.64.0.1/hook", "not a public address"),
        ("https://[::ffff:127.0.0.1]/hook", "loopback"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "cloud metadata"),
        ("https://rebound.example.org/hook", "rebound.example.org resolves to 127.0.0.1"),
        ("https://half-internal.example.org/hook", "10.0.0.7, a private address"),
        ("ftp://ngo.example.org/hook", "only http and https"),
        ("https://user:pw@ngo.example.org/hook", "credentials"),
    ],
)
def test_forbidden_destinations_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check(DEV, url)

    assert reason in refused.value.reason


def test_http_is_refused_in_production_and_accepted_elsewhere() -> None:
    with pytest.raises(DestinationRefused, match="only https"):
        check(PRODUCTION, "http://ngo.example.org/hook")

    assert check(DEV, "http://ngo.example.org/hook").addresses == (PUBLIC,)


@pytest.mark.parametrize("policy", [DEV, PRODUCTION])
def test_a_public_https_destination_is_accepted_with_its_checked_addresses(policy) -> None:
    destination = check(policy, "https://ngo.example.org/hook?x=1")

    assert (destination.host, destination.port, destination.addresses) == (
        "ngo.example.org",
        443,
        (PUBLIC,),
    )
    assert destination.pinned_url() == f"https://{PUBLIC}:443/hook?x=1"
    assert (destination.authority, destination.is_name) == ("ngo.example.org", True)


def test_an_ipv6_destination_is_pinned_in_brackets() -> None:
    destination = check(DEV, "https://v6.example.org:8443/hook")

    assert destination.pinned_url() == "https://[2606:2800:220:1:248:1893:25c8:1946]:8443/hook"
    assert destination.authority == "v6.example.org:8443"


def test_only_a_checked_address_can_be_pinned() -> None:
    destination = check(DEV, "https://ngo.example.org/hook")

    with pytest.raises(ValueError, match="checked"):
        destination.pinned_url("127.0.0.1")


def test_a_name_that_does_not_resolve_is_refused_as_unresolved() -> None:
    with pytest.raises(DestinationUnresolved, match="does not resolve"):
        check(DEV, "https://gone.example.org/hook")


def test_the_allow_list_admits_what_it_names_and_nothing_more() -> None:
    policy = DestinationPolicy.of(production=False, allowed_networks=["127.0.0.0/8", "::1"])

    # The loopback receivers of development and tests:
    assert asyncio.run(policy.resolve_checked("http://127.0.0.1:9000/hook")).addresses == (
        "127.0.0.1",
    )
    assert asyncio.run(policy.resolve_checked("http://[::1]:9000/hook")).addresses == ("::1",)
    assert asyncio.run(policy.resolve_checked("http://localhost:9000/hook")).addresses == (
        "127.0.0.1",
        "::1",
    )
    with pytest.raises(DestinationRefused, match="private"):
        asyncio.run(policy.resolve_checked("http://10.0.0.1/hook"))
    with pytest.raises(DestinationRefused, match="cloud metadata"):
        asyncio.run(policy.resolve_checked("http://169.254.169.254/"))


def test_the_real_resolver_answers_localhost_as_loopback() -> None:
    # Not through the name rule: a name is looked up with getaddrinfo.
    from nrm_runtime.destinations import resolve_host

    assert set(asyncio.run(resolve_host("localhost", 80))) <= {"127.0.0.1", "::1"}
