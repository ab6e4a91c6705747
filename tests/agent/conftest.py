"""Fixtures for the agent: test certificates, the contract's fake API, and running `certwright agent --once`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from certwright_client.cli import main

from tests.agent.fake_api import HOST, Association, FakeApi
from tests.agent.pki import Authority, Leaf, issue, root_and_issuing


@pytest.fixture(scope="session")
def ca() -> Authority:
    return root_and_issuing()


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def v1(ca: Authority) -> Leaf:
    return issue(ca, 1)


@pytest.fixture
def association(api: FakeApi, v1: Leaf) -> Association:
    return api.add(Association("assoc-1", "cert-agent", "web", HOST, {1: v1}, 1, hostnames=["www.agent.example"]))


@dataclass
class Run:
    code: int
    err: str


class AgentRunner:
    """Writes a TOML config and runs `certwright --api URL --caller HOST agent --once --config FILE`."""

    def __init__(self, tmp: Path, api_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.output = tmp / "etc"
        self.config = tmp / "agent.toml"
        self.api_url = api_url
        self.capsys = capsys
        self.write()

    def write(self, extra: str = "", entry: str = "") -> None:
        self.config.write_text(
            f'output_dir = "{self.output}"\nretry_failed_after = 0\n{extra}\n'
            f'[[certificate]]\nname = "web"\ncertificate = "cert-agent"\n{entry}\n'
        )

    def __call__(self, *flags: str) -> Run:
        self.capsys.readouterr()
        code = main(["--api", self.api_url, "--caller", HOST, "agent", "--once", "--config", str(self.config), *flags])
        return Run(code, self.capsys.readouterr().err)

    @property
    def live(self) -> Path:
        return self.output / "live" / "web"


@pytest.fixture
def agent(tmp_path: Path, api: FakeApi, capsys: pytest.CaptureFixture[str]) -> AgentRunner:
    return AgentRunner(tmp_path, api.url, capsys)
