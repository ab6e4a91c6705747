"""`certwright agent`: its flags, its log lines, and the exit code a monitoring system reads."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from certwright_client import registry
from certwright_client.agent import config as agent_config
from certwright_client.agent.api import AgentApi
from certwright_client.agent.loop import EXIT_BUSY, EXIT_OK, EXIT_USAGE, Agent, exclusive
from certwright_client.cli import Client, CliError, api_url

EPILOG = """Exit codes: 0 every certificate installed at its CURRENT version; 1 the API refused (4xx) or a
configured certificate has no association to this host; 2 bad flags or configuration; 3 the API failed
(5xx); 4 the API could not be reached (files unchanged); 5 a version was not installed or failed
verification (rolled back, reported FAILED); 75 another agent is running on the same state directory."""


def register(groups: registry.Subcommands) -> None:
    agent = groups.add_parser(
        "agent",
        help="keep this host's certificates installed (certbot-compatible files, reload, verify, report)",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    agent.add_argument("--config", type=Path, help="TOML configuration file (see docs/agent.md)")
    mode = agent.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="one pass, then exit with its code (cron)")
    mode.add_argument("--interval", type=float, help="seconds between passes of the loop (default: config, 300)")
    agent.add_argument("--output-dir", help="where live/<name>/ and archive/<name>/ are written")
    agent.add_argument(
        "--state-dir", help="the agent's journal, poll cache and lock (default <output-dir>/agent-state)"
    )
    agent.add_argument(
        "--cert", action="append", default=[], metavar="NAME=CERTIFICATE", help="a lineage name and certificate id"
    )
    agent.add_argument("--reload", help="command run after new files are in place (e.g. 'systemctl reload nginx')")
    agent.add_argument("--deploy-hook", action="append", default=[], help="certbot-style deploy hook (repeatable)")
    agent.add_argument("--verify", metavar="HOST:PORT", help="check by a TLS handshake that this address serves it")
    agent.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    _logging()
    flags: dict[str, Any] = {
        "output_dir": args.output_dir,
        "state_dir": args.state_dir,
        "interval": args.interval,
        "certificates": args.cert,
        "reload": args.reload,
        "deploy_hooks": args.deploy_hook,
        "verify": args.verify,
        "api": args.api or os.environ.get("CERTWRIGHT_API_URL"),  # flags and environment override the file
        "caller": args.caller,
        "sigv4": args.sigv4,
    }
    try:
        config = agent_config.load(args.config, flags)
        client = Client(api_url(argparse.Namespace(api=config.api)), config.caller, config.sigv4)
    except agent_config.ConfigError as err:
        print(f"error: InvalidConfig: {err}", file=sys.stderr)
        return EXIT_USAGE
    except CliError as err:
        print(f"error: {err.code}: {err.message}", file=sys.stderr)
        return err.exit_code
    agent = Agent(config, AgentApi(client))
    with exclusive(config.state_dir) as mine:
        if not mine:
            logging.getLogger("certwright.agent").error("another agent holds %s; not running", config.state_dir)
            return EXIT_BUSY
        if args.once:
            return agent.run_once().exit_code
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        agent.run_forever(config.interval, stop)
        return EXIT_OK


_HANDLER = logging.StreamHandler(sys.stderr)
_HANDLER.setFormatter(logging.Formatter("%(asctime)s certwright-agent %(levelname)s %(message)s"))


def _logging() -> None:
    """One line per action on stderr (the journal's or cron's mail); the stream is the one of this run."""
    logger = logging.getLogger("certwright.agent")
    _HANDLER.stream = sys.stderr  # not setStream: it flushes the previous stream, which may be closed
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
