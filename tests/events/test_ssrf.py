"""URL checks for outbound requests (no database, no network but loopback literals)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from issuegraph.events import ssrf


@pytest.mark.parametrize(
    ("address", "strict", "relaxed"),
    [
        ("93.184.216.34", True, True),
        ("127.0.0.1", False, True),
        ("10.0.0.1", False, True),
        ("172.16.5.4", False, True),
        ("192.168.1.1", False, True),
        ("100.64.0.1", False, True),
        ("169.254.10.10", False, True),
        ("169.254.169.254", False, False),
        ("100.100.100.200", False, False),
        ("::1", False, True),
        ("fd00:ec2::254", False, False),
        ("::ffff:127.0.0.1", False, True),
        ("0.0.0.0", False, False),
        ("224.0.0.1", False, False),
    ],
)
def test_address_rules(address: str, strict: bool, relaxed: bool) -> None:
    """Global addresses pass; local ones only when allowed; metadata, unspecified, multicast never."""
    ip = ipaddress.ip_address(address)
    assert ssrf.address_allowed(ip, allow_local=False) is strict
    assert ssrf.address_allowed(ip, allow_local=True) is relaxed


def test_schemes_and_names() -> None:
    """Only http(s); a host name no DNS could hold is refused without a lookup."""
    for url in ("ftp://example.com/", "file:///etc/passwd", "gopher://x/", "http:///nohost", "http://a_b!/"):
        with pytest.raises(ssrf.BlockedUrl):
            ssrf.parse(url)
    assert ssrf.parse("https://example.com:8443/x").port == 8443


def test_variables_and_credentials() -> None:
    """{name} placeholders are filled, a missing one refused; user:password@ becomes basic auth."""
    assert ssrf.fill_variables("http://h/{a}/{b}", {"a": "1", "b": "2"}) == "http://h/1/2"
    with pytest.raises(ssrf.BlockedUrl):
        ssrf.fill_variables("http://h/{a}", {})
    assert ssrf.strip_credentials("http://u:p@h:1/x") == "http://h:1/x"
    target = asyncio.run(ssrf.resolve_target("http://u:p%40@127.0.0.1:8080/x?q=1", allow_local=True))
    assert target.url == "http://127.0.0.1:8080/x?q=1" and target.auth == ("u", "p@")
    assert target.host_header == "127.0.0.1:8080" and target.server_name is None


def test_delivery_connects_to_the_checked_address() -> None:
    """localhost is resolved once and the request aimed at that address, with the name kept as Host."""
    target = asyncio.run(ssrf.resolve_target("http://localhost:9/x", allow_local=True))
    assert ipaddress.ip_address(target.url.split("//")[1].split(":9")[0].strip("[]")).is_loopback
    assert target.host_header == "localhost:9"
    with pytest.raises(ssrf.BlockedUrl, match="local network"):
        asyncio.run(ssrf.resolve_target("http://localhost:9/x", allow_local=False))
