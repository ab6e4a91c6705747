"""The prober's TLS handshake (the TlsEndpointPort): what a host:port serves with SNI, read with pyOpenSSL.

pyOpenSSL is imported here only (functions/endpoint_prober carries it; the layer does not). The verdict is not
made here: certwright.x509.endpoint_checks judges the Observation this adapter returns. Unlike diagnose's
client/certwright_client/diagnose/connect.py it makes one handshake and downloads nothing (no CRL, no caIssuers:
a prober in a VPC may have no way out); Certwright supplies the chain it expects instead.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time

from OpenSSL import SSL

from certwright.adapters.network_guard import refusal, system_addresses
from certwright.domain.association import unprobeable
from certwright.x509.endpoint_checks import Handshake, Observation

TIMEOUT = 5.0


def _reason(err: BaseException) -> str:
    if isinstance(err, SSL.Error) and err.args and isinstance(err.args[0], list) and err.args[0]:
        return "; ".join(str(entry[-1]) for entry in err.args[0])
    return str(err) or type(err).__name__


class TlsEndpoint:
    def __init__(self, timeout: float = TIMEOUT) -> None:
        self._timeout = timeout

    def observe(self, host: str, port: int, server_name: str) -> Observation | str:
        """The chain served to a client sending `server_name` as SNI, or why no handshake completed (as text)."""
        where = f"{host}:{port}"
        try:
            target = self._vetted(host, port)
        except OSError as err:
            return f"cannot resolve {host}: {err.strerror or err}"
        if isinstance(target, str):
            return f"{where}: {target}"
        try:
            sock = socket.create_connection(target, timeout=self._timeout)
        except OSError as err:
            return f"cannot connect to {where}: {err.strerror or err}"
        try:
            context = SSL.Context(SSL.TLS_CLIENT_METHOD)
            # Read whatever is served: the verdict is endpoint_checks', never the handshake's.
            context.set_verify(SSL.VERIFY_NONE, lambda *_: True)
            context.set_cipher_list(b"ALL:@SECLEVEL=0")
            connection = SSL.Connection(context, sock)
            connection.set_tlsext_host_name(server_name.encode("idna"))
            connection.set_connect_state()
            failure = self._shake(connection, sock, where)
            if failure is not None:
                return failure
            chain = connection.get_peer_cert_chain(as_cryptography=True) or []
            if not chain:
                return f"{where} completed the handshake without a certificate"
            handshake = Handshake(tuple(chain), connection.get_protocol_version_name(), connection.get_cipher_name())
            with contextlib.suppress(SSL.Error, OSError):
                connection.shutdown()
            return Observation(host, port, server_name, handshake)
        finally:
            sock.close()

    @staticmethod
    def _vetted(host: str, port: int) -> tuple[str, int] | str:
        """The first address `host` resolves to, unless any of them is one the prober must not reach (link-local,
        instance metadata...: see domain.association.unprobeable). The connection goes to that very address, so a
        name cannot resolve to another one between the check and the connect."""
        addresses = system_addresses(host, port)
        why = refusal(host, addresses, unprobeable)
        if why:
            return f"{why}: not probed"
        if not addresses:
            raise OSError(f"{host} has no address")
        return str(addresses[0]), port

    def _shake(self, connection: SSL.Connection, sock: socket.socket, where: str) -> str | None:
        """do_handshake until done (pyOpenSSL asks to be called again), within the timeout; the failure as text."""
        deadline = time.monotonic() + self._timeout
        while True:
            wait: tuple[list[socket.socket], list[socket.socket], list[socket.socket]]
            try:
                connection.do_handshake()
                return None
            except SSL.WantReadError:
                wait = ([sock], [], [])
            except SSL.WantWriteError:
                wait = ([], [sock], [])
            except (SSL.Error, OSError) as err:
                return f"TLS handshake with {where} failed: {_reason(err)}"
            left = deadline - time.monotonic()
            if left <= 0 or not any(select.select(*wait, left)[:2]):
                return f"TLS handshake with {where} timed out after {self._timeout:g}s"
