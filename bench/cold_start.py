"""Cold start: import time of each Lambda handler in a fresh interpreter, beside a bare boto3 + Powertools import.

A handler imports Certwright's code on its first call (functions/*/app.py); the last column adds those imports
(the API's resolver, or the composition root and the event codec) to show what the first call still pays.
Times are the interpreter's CPU time (time.process_time): on a shared machine wall time mostly measures the
neighbours.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("CERTWRIGHT_BENCH_COLD_RUNS", "5"))
BASELINE = "import boto3, aws_lambda_powertools; from aws_lambda_powertools import Logger"
PROBE = """
import importlib.util, sys, time
start = time.process_time()
{body}
print(time.process_time() - start)
"""
FIRST_CALL = {"issuance_api": ("certwright.api.app",)}
FIRST_CALL_DEFAULT = ("certwright.bootstrap", "certwright.events")
LOAD = "spec = importlib.util.spec_from_file_location('handler', {path!r}); module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)"


def _seconds(body: str) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'shared'}:{ROOT}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "certwright",
    }
    samples = []
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(body=body)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    print(f"\nCold start: import CPU time of each handler (median of {RUNS} fresh interpreters)")
    baseline = _seconds(BASELINE)
    header = f"{'function':<22} {'import ms':>10} {'vs boto3+Powertools':>20} {'+ first-call imports ms':>24}"
    print(header)
    print("-" * len(header))
    print(f"{'(boto3 + Powertools)':<22} {baseline * 1000:>10.0f} {1.0:>20.2f}")
    for handler in sorted((ROOT / "functions").glob("*/app.py")):
        load = LOAD.format(path=str(handler))
        seconds = _seconds(load)
        deferred = "; ".join(f"import {name}" for name in FIRST_CALL.get(handler.parent.name, FIRST_CALL_DEFAULT))
        first_call = _seconds(f"{load}; {deferred}")
        print(
            f"{handler.parent.name:<22} {seconds * 1000:>10.0f} {seconds / baseline:>20.2f} {first_call * 1000:>24.0f}"
        )
