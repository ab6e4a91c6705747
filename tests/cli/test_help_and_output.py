"""Help on every option with its default, shell completion, and the output formats' rules (no API needed)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

import pytest
import yaml
from certwright_client import output
from certwright_client.cli import build_parser, main

from tests.cli.test_coverage import NOT_API_CALLS, _commands


def _parser_of(words: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = build_parser()
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    return parser


@pytest.mark.parametrize("words", sorted(set(_commands(build_parser())) - NOT_API_CALLS), ids=lambda w: " ".join(w))
def test_every_option_has_help_that_shows_its_default(words: tuple[str, ...]) -> None:
    parser = _parser_of(words)
    text = parser.format_help()
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{' '.join(words)} {action.option_strings[0]} has no help"
        assert "default" in parser._get_formatter()._expand_help(action), (words, action.option_strings)
    assert "(default: " in text


def test_the_top_level_help_lists_every_group_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for group in ("ca", "cert", "ca-bundle", "assoc", "audit", "grant", "poll", "agent", "diagnose", "completion"):
        assert f"    {group}" in text, group
    assert "5 --wait saw the work" in text and "75 --wait timed out" in text


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_name_the_commands(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "certwright" in script
    for word in ("schedule-deletion", "report-deployment", "--expires-before", "--wait"):
        assert word in script, word


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is part of every CI image; skip only elsewhere")
def test_the_bash_completion_completes_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    probe = (
        script
        + "\nCOMP_WORDS=(certwright cert re); COMP_CWORD=2; COMP_LINE='certwright cert re'; COMP_POINT=${#COMP_LINE}\n"
        + "_shtab_certwright; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30, check=False)
    assert set(done.stdout.split()) == {"renew", "revoke"}, done.stderr


def test_the_default_format_is_a_table_on_a_terminal_and_json_into_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CERTWRIGHT_OUTPUT", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert output.default_format() == "table"
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert output.default_format() == "json"
    monkeypatch.setenv("CERTWRIGHT_OUTPUT", "yaml")
    assert output.default_format() == "yaml"


ITEMS = {
    "items": [
        {"id": "cert-1", "name": "web", "lifecycleState": "ACTIVE", "currentVersion": {"serialNumber": "0a"}},
        {"id": "cert-2", "name": "api", "lifecycleState": "PENDING_DELETION", "currentVersion": None},
    ],
    "nextPage": "tok",
}


def test_a_list_table_has_a_column_per_known_field_and_a_dash_for_none() -> None:
    rows = output.table(ITEMS).splitlines()
    assert rows[0].split() == ["ID", "NAME", "STATE", "SERIAL"]
    assert rows[1].split() == ["cert-1", "web", "ACTIVE", "0a"]
    assert rows[2].split() == ["cert-2", "api", "PENDING_DELETION", "-"]
    assert output.table({"items": []}) == "(no items)"


def test_a_single_resource_table_has_dotted_fields_and_hides_pem() -> None:
    rows = output.table({"id": "x", "deployment": {"state": "DEPLOYED"}, "pem": "-----BEGIN X-----\n"}).splitlines()
    assert [r.split()[:2] for r in rows] == [
        ["FIELD", "VALUE"],
        ["id", "x"],
        ["deployment.state", "DEPLOYED"],
        ["pem", "<PEM,"],
    ]


def test_yaml_is_the_same_data_as_json_with_pem_as_blocks() -> None:
    body = {**ITEMS, "pem": "-----BEGIN X-----\nAAAA\n-----END X-----\n"}
    text = output.render(body, "yaml")
    assert yaml.safe_load(text) == json.loads(output.render(body, "json")) == body
    assert "pem: |" in text


def test_a_table_of_a_partial_listing_says_how_to_go_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from certwright_client import cli

    monkeypatch.setattr(cli, "run", lambda args, client: (200, ITEMS))
    assert main(["--output", "table", "cert", "list", "--limit", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ID") and "note: more items: --page-token tok" in captured.err


def test_field_and_output_may_follow_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from certwright_client import cli

    monkeypatch.setattr(cli, "run", lambda args, client: (200, {"id": "cert-1", "name": "web"}))
    assert main(["cert", "get", "cert-1", "--field", "name"]) == 0
    assert capsys.readouterr().out == "web\n"
    assert main(["cert", "get", "cert-1", "-o", "yaml"]) == 0
    assert capsys.readouterr().out == "id: cert-1\nname: web\n"
    assert main(["-o", "table", "cert", "get", "cert-1"]) == 0
    assert capsys.readouterr().out.split() == ["FIELD", "VALUE", "id", "cert-1", "name", "web"]
