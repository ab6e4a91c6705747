"""The TLS-endpoint port: a handshake with an association's endpoint, as the prober sees it (adapters/tls_endpoint.py)."""

from __future__ import annotations

from typing import Protocol

from certwright.x509.endpoint_checks import Observation


class TlsEndpointPort(Protocol):
    """A TLS handshake with an association's endpoint. Never raises for the endpoint's faults: a refused
    connection, a timeout or a failed handshake is the reason string it returns."""

    def observe(self, host: str, port: int, server_name: str) -> Observation | str:
        """What host:port serves to a client sending `server_name` as SNI, or why no handshake completed."""
        ...
