"""The agent's configuration (TOML + flags), its exit codes for bad settings, the lock, and the backoff."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from certwright_client.agent import config as agent_config
from certwright_client.agent.loop import EXIT_BUSY, EXIT_USAGE, backoff, exclusive
from certwright_client.cli import main


def test_file_and_flags_combine_with_top_level_defaults(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        'output_dir = "/etc/certwright"\nreload = "systemctl reload nginx"\nkey_mode = "0640"\n'
        '[[certificate]]\nname = "web"\ncertificate = "cert-1"\nverify = "127.0.0.1:443"\n'
        '[certificate.files]\nprivkey = "key.pem"\n'
    )
    config = agent_config.load(path, {"certificates": ["api=cert-2"], "interval": 60, "deploy_hooks": ["/bin/true"]})
    web, api = config.certificates
    assert (web.name, web.certificate, web.reload, web.key_mode, web.verify) == (
        "web",
        "cert-1",
        "systemctl reload nginx",
        0o640,
        ("127.0.0.1", 443),
    )
    assert web.files["privkey"] == "key.pem" and web.files["fullchain"] == "fullchain.pem"
    assert (api.name, api.certificate, api.deploy_hooks, api.key_mode) == ("api", "cert-2", ("/bin/true",), 0o640)
    assert config.interval == 60 and config.state_dir == Path("/etc/certwright/agent-state")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('output_dir = "/x"\n', "no certificate"),
        ('[[certificate]]\nname = "web"\ncertificate = "c"\n', "output_dir is required"),
        ('output_dir = "/x"\n[[certificate]]\nname = "../etc"\ncertificate = "c"\n', "name must be"),
        ('output_dir = "/x"\nkey_mode = "rw"\n[[certificate]]\nname = "w"\ncertificate = "c"\n', "octal mode"),
        ('output_dir = "/x"\nverify = "localhost"\n[[certificate]]\nname = "w"\ncertificate = "c"\n', "HOST:PORT"),
        ('output_dir = "/x"\nrelaod = "x"\n', "unknown setting 'relaod'"),
        ("output_dir = [", "not TOML"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    assert main(["agent", "--once", "--config", str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error: InvalidConfig: ") and message in err and err.count("\n") == 1, err


def test_one_agent_per_state_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with exclusive(tmp_path / "state") as mine:
        assert mine
        code = main(
            ["agent", "--once", "--output-dir", str(tmp_path), "--state-dir", str(tmp_path / "state"), "--cert", "w=c"]
        )
        assert code == EXIT_BUSY
    assert "another agent holds" in capsys.readouterr().err


def test_backoff_doubles_with_jitter_up_to_the_interval() -> None:
    rng = random.Random(7)
    waits = [[backoff(n, 300, rng) for _ in range(200)] for n in range(1, 10)]
    for n, sample in enumerate(waits, start=1):
        ceiling = min(300, 5 * 2 ** (n - 1))
        assert all(ceiling / 2 <= w <= ceiling for w in sample)
        assert max(sample) - min(sample) > ceiling / 10, "jittered, so many hosts do not retry in step"


class CountingStop(threading.Event):
    """stop.wait(delay) records the delay instead of sleeping; set after `passes` waits."""

    def __init__(self, passes: int) -> None:
        super().__init__()
        self.passes = passes
        self.delays: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.delays.append(float(timeout or 0))
        if len(self.delays) >= self.passes:
            self.set()
        return self.is_set()


def test_the_loop_backs_off_while_the_api_is_down_and_polls_at_the_interval_once_it_answers(
    tmp_path: Path,
) -> None:
    from certwright_client.agent.api import AgentApi
    from certwright_client.agent.loop import Agent
    from certwright_client.cli import Client

    from tests.agent.fake_api import HOST, Association, FakeApi
    from tests.agent.pki import issue, root_and_issuing

    config = agent_config.parse(
        {"output_dir": str(tmp_path / "etc"), "certificate": [{"name": "web", "certificate": "cert-agent"}]}, {}
    )
    fake = FakeApi()
    url = fake.url
    fake.stop()  # down: connection refused
    stop = CountingStop(4)
    Agent(config, AgentApi(Client(url, HOST, sign=False))).run_forever(300, stop, random.Random(1))
    ceilings = [5, 10, 20, 40]
    assert all(c / 2 <= d <= c for c, d in zip(ceilings, stop.delays, strict=True)), stop.delays
    assert not (tmp_path / "etc" / "live").exists()

    fake = FakeApi()
    try:
        fake.add(Association("assoc-1", "cert-agent", "web", HOST, {1: issue(root_and_issuing(), 1)}, 1))
        stop = CountingStop(2)
        Agent(config, AgentApi(Client(fake.url, HOST, sign=False))).run_forever(300, stop, random.Random(1))
        assert all(270 <= d <= 330 for d in stop.delays), stop.delays
        assert (tmp_path / "etc" / "live" / "web" / "fullchain.pem").exists()
    finally:
        fake.stop()


def test_against_a_deployed_api_every_request_is_signed_with_sigv4_for_execute_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.agent.fake_api import HOST, Association, FakeApi
    from tests.agent.pki import issue, root_and_issuing

    fake = FakeApi()
    try:
        fake.add(Association("assoc-1", "cert-agent", "web", HOST, {1: issue(root_and_issuing(), 1)}, 1))
        path = tmp_path / "agent.toml"
        path.write_text(
            f'api = "{fake.url}"\nsigv4 = true\noutput_dir = "{tmp_path}/etc"\n'
            '[[certificate]]\nname = "web"\ncertificate = "cert-agent"\n'
        )
        assert main(["agent", "--once", "--config", str(path)]) == 0, capsys.readouterr().err
    finally:
        fake.stop()
    assert [c for _, _, c, _ in fake.requests] == [HOST] * 4  # poll, confirm, bundle, report: no caller header
    assert all(
        a and a.startswith("AWS4-HMAC-SHA256 Credential=testing/") and "/execute-api/aws4_request" in a
        for a in fake.authorizations
    ), fake.authorizations
