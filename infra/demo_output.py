"""How the demo talks: the colours, a chapter heading, one line per checked step, the log lines, the closing summary."""

from __future__ import annotations

import logging
import sys

BOLD, GREEN, RED, DIM, RESET = (
    ("\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


def chapter(title: str) -> None:
    print(f"\n{BOLD}== {title}{RESET}")


def step(what: str, ok: bool, detail: str = "") -> None:
    mark = f"{GREEN}ok{RESET}" if ok else f"{RED}FAILED{RESET}"
    print(f"  [{mark}] {what}" + (f" {DIM}({detail}){RESET}" if detail else ""))


def waiting(what: str, timeout: float) -> None:
    print(f"  {DIM}waiting: {what} (up to {timeout:.0f} s){RESET}")


def note(text: str) -> None:
    """A line quoted from what the story received (an alert's text), indented under its step."""
    print(f"      {text}")


def banner(api_url: str, endpoint: str, sweep_seconds: float, workdir: str) -> None:
    print(
        f"{BOLD}Certwright demo{RESET} - local runtime: API {api_url}, embedded AWS {endpoint}, "
        f"sweep every {sweep_seconds:g} s; files in {workdir}"
    )


def closing(summary: list[tuple[str, str]], failures: list[str]) -> None:
    print(f"\n{BOLD}== What happened{RESET}")
    for label, value in summary:
        print(f"  {label:<16} {value}")
    if failures:
        print(f"\n{RED}{len(failures)} step(s) failed:{RESET} " + "; ".join(failures))
    else:
        print(f"\n{GREEN}Every step happened and was checked.{RESET}")


def _no_polling(record: logging.LogRecord) -> bool:
    """The demo polls with GETs while it waits; the log keeps what changed things."""
    text = record.getMessage()
    return not (text.startswith("IssuanceApiFunction") and " GET " in text)


def show_router_log() -> None:
    """The router prints one readable line per delivery (infra.local); everything else only when it is a warning."""
    logging.basicConfig(
        stream=sys.stdout, level=logging.WARNING, format=f"  {DIM}%(asctime)s %(message)s{RESET}", datefmt="%H:%M:%S"
    )
    logging.getLogger("infra.local").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_no_polling)
