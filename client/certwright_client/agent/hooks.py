"""The commands a deployment runs: the reload command and certbot-style deploy hooks, in certbot's environment."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HookResult:
    command: str
    ok: bool
    detail: str  # "exit 0", "exit 1: <last stderr line>", "timed out after 120s", …


def deploy_environment(lineage: Path, domains: tuple[str, ...]) -> dict[str, str]:
    """certbot's deploy-hook variables: RENEWED_LINEAGE (the live folder), RENEWED_DOMAINS (space-separated)."""
    return {**os.environ, "RENEWED_LINEAGE": str(lineage), "RENEWED_DOMAINS": " ".join(domains)}


def hook_commands(commands: tuple[str, ...], hook_dir: Path | None) -> list[str]:
    """The configured commands, then every executable file of `hook_dir` in name order (as certbot runs
    renewal-hooks/deploy/: files ending in ~ are editor backups and skipped)."""
    found = list(commands)
    if hook_dir is not None and hook_dir.is_dir():
        for path in sorted(hook_dir.iterdir()):
            if path.is_file() and os.access(path, os.X_OK) and not path.name.endswith("~"):
                found.append(str(path))
    return found


def run(command: str, env: dict[str, str] | None, timeout: float) -> HookResult:
    """One command through /bin/sh -c, as certbot runs --deploy-hook; its output is not ours to print."""
    try:
        done = subprocess.run(  # noqa: S602 - an operator's command line, run as certbot runs it
            command, shell=True, env=env, timeout=timeout, capture_output=True, text=True, check=False
        )
    except subprocess.TimeoutExpired:
        return HookResult(command, False, f"timed out after {timeout:g}s")
    except OSError as err:
        return HookResult(command, False, f"could not start: {err.strerror or err}")
    if done.returncode == 0:
        return HookResult(command, True, "exit 0")
    tail = next((line.strip() for line in reversed((done.stderr or done.stdout).splitlines()) if line.strip()), "")
    return HookResult(command, False, f"exit {done.returncode}" + (f": {tail[:300]}" if tail else ""))
