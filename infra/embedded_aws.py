"""The embedded AWS: a moto server on 127.0.0.1 in this process, with the KMS shims, and Certwright wired to it."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from certwright import bootstrap
from certwright.config import Settings
from certwright.services.context import Runtime
from moto.server import ThreadedMotoServer

from infra import moto_shims
from infra.resources import REGION, create_resources

DEFAULT_PORT = 5000


@dataclass(frozen=True)
class EmbeddedAws:
    endpoint: str
    session: boto3.Session
    settings: Settings
    container: bootstrap.Container


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


@contextmanager
def embedded_aws(port: int | None = None, runtime: Runtime | None = None) -> Iterator[EmbeddedAws]:
    """Start moto on 127.0.0.1 (CERTWRIGHT_AWS_PORT, default 5000, or a free port if taken), create resources."""
    moto_shims.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        os.environ.setdefault(name, value)
    chosen = _free_port(port or int(os.environ.get("CERTWRIGHT_AWS_PORT", DEFAULT_PORT)))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=chosen, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{chosen}"
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        session = boto3.Session(region_name=REGION)
        settings = create_resources(session)
        container = bootstrap.build(settings, session=session, runtime=runtime)
        bootstrap.install(container)
        yield EmbeddedAws(endpoint, session, settings, container)
    finally:
        bootstrap.install(None)
        if previous is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = previous
        server.stop()
