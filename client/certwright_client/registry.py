"""Which modules add subcommands to `certwright`, and how a module adds an action to a group another module made.

Each module listed in COMMAND_MODULES exposes `register(groups)`, where `groups` is the top-level subparsers
action. A command either names `execute(args, client) -> (status, body)` (one API call, printed by the CLI as
JSON) or `run(args) -> exit code` (a command that talks to the API its own way) with `set_defaults`.
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # argparse's own type for add_subparsers(); not subscriptable at run time
    Subcommands = argparse._SubParsersAction

# In help order. A new command module appends its name here.
COMMAND_MODULES: list[str] = [
    "certwright_client.cli",
    "certwright_client.agent.command",
    "certwright_client.diagnose.command",
    "certwright_client.console.command",
]


def modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def group(groups: Subcommands, name: str, **kwargs: Any) -> Subcommands:
    """The actions of the group `name` (`cert`, `assoc`, …), made now if no module made it before.

    `cert find` in another module: `group(groups, "cert").add_parser("find")` adds to the existing `cert`.
    """
    parser = groups.choices.get(name)
    if parser is None:
        parser = groups.add_parser(name, **kwargs)
    actions: Subcommands | None = getattr(parser, "certwright_actions", None)
    if actions is None:
        actions = parser.add_subparsers(dest="action", required=True)
        parser.certwright_actions = actions  # type: ignore[attr-defined]
    return actions
