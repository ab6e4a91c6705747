"""The outbound-connection guard shared by the prober and the ACME validator: resolve a name once, check every
address it resolves to against a policy, and hand back the checked addresses to connect to (SSRF and DNS
rebinding: nothing is resolved again between the check and the connect)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def system_addresses(host: str, port: int) -> list[Address]:
    """The addresses the system resolver gives for `host`, in its order, each once (OSError when it fails)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address not in found:
            found.append(address)
    return found


def refusal(host: str, addresses: Iterable[Address], refuse: Callable[[Address], str | None]) -> str | None:
    """Why `host` must not be reached (the first address the policy `refuse` objects to), or None."""
    for address in addresses:
        why = refuse(address)
        if why:
            return f"{host} resolves to {address}, which {why}"
    return None
