"""`certwright console`: its arguments, and serving the console until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from certwright_client.cli import Client, api_url
from certwright_client.console.server import Console, ConsoleServer
from certwright_client.console.source import Api

HELP = """Serves a web console on 127.0.0.1 (never another interface) that reads and acts through the API with the
transport the CLI uses: the local runtime's caller header, or SigV4 with your AWS credentials, signed here — the
browser never holds credentials and nothing new is exposed in the cloud. Actions ask for confirmation and show
their blast radius; every form carries a per-session CSRF token."""


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `console` to the `certwright` command's subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser("console", help="a local web console", description=HELP)
    parser.add_argument(
        "--api",
        dest="console_api",
        help="API base URL (default: certwright --api, CERTWRIGHT_API_URL, the local runtime)",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free port)")
    parser.add_argument(
        "--caller-arn",
        dest="console_caller",
        help="local runtime only: act as this IAM ARN (default: certwright --caller, CERTWRIGHT_CALLER)",
    )
    parser.add_argument(
        "--sigv4", dest="console_sigv4", action="store_true", help="sign with your AWS credentials (deployed API)"
    )
    parser.set_defaults(run=run)
    return parser


def build(args: argparse.Namespace) -> ConsoleServer:
    base = args.console_api or api_url(args)
    caller = args.console_caller or getattr(args, "caller", None) or os.environ.get("CERTWRIGHT_CALLER")
    sign = bool(args.console_sigv4 or getattr(args, "sigv4", False))
    return ConsoleServer(Console(Api(Client(base, caller, sign))), args.port)


def run(args: argparse.Namespace) -> int:
    server = build(args)
    print(f"Certwright console on {server.url} (API {server.console.api.base_url}); Ctrl-C stops it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("console stopped", file=sys.stderr)
    return 0
