"""The client package stands alone: of the Lambda layer it imports only the pure verdicts diagnose shares with the
endpoint prober (certwright.x509.endpoint_checks), and the layer carries none of it."""

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
    # Any import of the layer but the shared verdicts (and the packages around them) raises ImportError.
    script = (
        "import importlib, sys\n"
        "ALLOWED = {'certwright', 'certwright.x509', 'certwright.x509.endpoint_checks'}\n"
        "class Only:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if (name == 'certwright' or name.startswith('certwright.')) and name not in ALLOWED:\n"
        "            raise ImportError(f'the client imported {name} from the layer')\n"
        "sys.meta_path.insert(0, Only())\n"
        + "".join(f"importlib.import_module({name!r})\n" for name in names)
        + "assert not [m for m in sys.modules if m.startswith('certwright.') and m not in ALLOWED]\n"
    )
    paths = [Path(certwright_client.__file__).parents[1], Path(certwright.__file__).parents[1]]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in paths)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr


def test_the_layer_has_no_cli_and_the_command_is_the_clients() -> None:
    assert not (Path(certwright.__file__).parent / "cli.py").exists()
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'certwright = "certwright_client.cli:main"' in pyproject
