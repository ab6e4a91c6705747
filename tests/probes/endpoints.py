"""The probe tests' endpoints: a vendor CA whose leaves we hold the keys of, and a TLS server on 127.0.0.1 whose
served certificate can be swapped between probes (or none served: the handshake fails)."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.diagnose.servers import HOST, Issued, issue, server_context


@dataclass
class Vendor:
    """An outside CA (self-signed root) issuing leaves for HOST: imported into Certwright with their keys."""

    ca: Issued

    @classmethod
    def create(cls) -> Vendor:
        return cls(issue("Probe Vendor Root", ca=True))

    def leaf(self, **kwargs: Any) -> Issued:
        return issue(HOST, self.ca, sans=[HOST], **kwargs)

    def import_body(self, leaf: Issued, name: str = "probed") -> dict[str, Any]:
        return {
            "name": name,
            "configType": "IMPORTED",
            "certificatePem": leaf.pem.decode(),
            "certChainPem": self.ca.pem.decode(),
            "privateKeyPem": leaf.key_pem.decode(),
        }

    def version_body(self, leaf: Issued) -> dict[str, Any]:
        body = self.import_body(leaf)
        del body["name"], body["configType"]
        return body


class Endpoint:
    """What 127.0.0.1:`port` serves: `serve(...)` swaps it; `refuse()` makes every handshake fail."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.context: ssl.SSLContext | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self, leaf: Issued, chain: tuple[Issued, ...] = ()) -> None:
        self.context = server_context(self.directory, leaf, chain)

    def refuse(self) -> None:
        self.context = None


@contextlib.contextmanager
def endpoint(directory: Path) -> Iterator[Endpoint]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    served = Endpoint(directory, listener.getsockname()[1])
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            context = served.context
            sock.settimeout(5)
            if context is None:
                sock.close()  # no TLS here: the client's handshake fails
                continue
            with contextlib.suppress(OSError, ssl.SSLError), context.wrap_socket(sock, server_side=True) as tls:
                tls.recv(1)
            sock.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        stop.set()
        thread.join(5)
        listener.close()
