"""Outbound URL checks for webhooks: http(s) only, and no local, private or metadata address.

The check runs when a hook is saved and again at every delivery, against the address the
delivery then connects to (the URL's host is resolved once and the connection goes to that
address, so a name that resolves elsewhere the second time cannot rebind to a local one).
`ISSUEGRAPH_WEBHOOKS_ALLOW_LOCAL=true` allows loopback, private and link-local addresses; the
cloud metadata addresses stay refused even then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba): never reachable.
METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class BlockedUrl(Exception):
    """The URL may not be called; the message says why (GitLab's URL blocker wording)."""


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: the URL to request (host replaced by the checked address), the
    Host header and the TLS server name to send, and HTTP basic credentials from the URL."""

    url: str
    host_header: str
    server_name: str | None
    auth: tuple[str, str] | None


def fill_variables(url: str, variables: dict[str, str]) -> str:
    """`{name}` placeholders replaced from the hook's url_variables; a missing one is refused."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in variables:
            raise BlockedUrl(f"Invalid url given: no value for {{{name}}}")
        return variables[name]

    return _VARIABLE.sub(value, url)


def address_allowed(address: IPAddress, allow_local: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return False
    if allow_local:
        return not address.is_multicast and not address.is_unspecified
    return address.is_global and not address.is_multicast


def parse(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise BlockedUrl("Only allowed schemes are http, https") from exc
    if parts.scheme not in ("http", "https"):
        raise BlockedUrl("Only allowed schemes are http, https")
    host = parts.hostname or ""
    if not host:
        raise BlockedUrl("URL is invalid")
    # A name no DNS could hold is refused before any lookup is made for it.
    if _literal(host) is None and (
        len(host) > 253 or not all(_LABEL.match(p) for p in host.rstrip(".").split("."))
    ):
        raise BlockedUrl("Host cannot be resolved or invalid")
    return parts


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check(addresses: list[IPAddress], allow_local: bool) -> IPAddress:
    if not addresses:
        raise BlockedUrl("Host cannot be resolved or invalid")
    # Every address the name has must be allowed: the connection could go to any of them.
    for address in addresses:
        if not address_allowed(address, allow_local):
            raise BlockedUrl("Requests to the local network are not allowed")
    return addresses[0]


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _from_infos(infos: list[tuple[object, ...]]) -> list[IPAddress]:
    found: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def check_url(url: str, allow_local: bool) -> None:
    """At save time: the scheme, and every address the host resolves to now."""
    parts = parse(url)
    host = parts.hostname or ""
    literal = _literal(host)
    if literal is not None:
        _check([literal], allow_local)
        return
    try:
        infos = socket.getaddrinfo(host, _port(parts), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise BlockedUrl("Host cannot be resolved or invalid") from exc
    _check(_from_infos(list(infos)), allow_local)


async def resolve_target(url: str, allow_local: bool) -> Target:
    """At delivery: resolve once, check, and aim the request at that very address."""
    parts = parse(url)
    host = parts.hostname or ""
    address = _literal(host)
    if address is not None:
        _check([address], allow_local)
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, _port(parts), type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise BlockedUrl("Host cannot be resolved or invalid") from exc
        address = _check(_from_infos(list(infos)), allow_local)
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    host_header = f"{host}:{parts.port}" if parts.port else host
    if ":" in host:  # an IPv6 literal in the URL keeps its brackets in Host
        host_header = f"[{host}]:{parts.port}" if parts.port else f"[{host}]"
    auth = None
    if parts.username is not None:
        from urllib.parse import unquote

        auth = (unquote(parts.username), unquote(parts.password or ""))
    target_url = parts._replace(netloc=netloc).geturl()
    server_name = host if parts.scheme == "https" and _literal(host) is None else None
    return Target(url=target_url, host_header=host_header, server_name=server_name, auth=auth)


def strip_credentials(url: str) -> str:
    """The URL without `user:password@` (what logs and payloads show)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=netloc).geturl()
