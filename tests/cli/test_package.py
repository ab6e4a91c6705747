"""The client package stands alone: it imports nothing from the Lambda layer, and the layer carries none of it."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import certwright
import certwright_client


def test_every_client_module_imports_with_the_layer_unavailable() -> None:
    names = sorted(
        m.name
        for m in pkgutil.walk_packages(certwright_client.__path__, "certwright_client.")
        if m.name != "certwright_client.__main__"
    )
    assert "certwright_client.agent.loop" in names and "certwright_client.cli" in names
    # `certwright` set to None in sys.modules: any import of the layer raises ImportError.
    script = "import importlib, sys\nsys.modules['certwright'] = None\n" + "".join(
        f"importlib.import_module({name!r})\n" for name in names
    )
    env = {**os.environ, "PYTHONPATH": str(Path(certwright_client.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr


def test_the_layer_has_no_cli_and_the_command_is_the_clients() -> None:
    assert not (Path(certwright.__file__).parent / "cli.py").exists()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'certwright = "certwright_client.cli:main"' in pyproject
