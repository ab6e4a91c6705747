"""`make demo` keeps telling its story: every step happens and is checked (embedded AWS over HTTP)."""

from __future__ import annotations

import pytest

from infra import demo


def test_the_demo_story_completes(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main() == 0
    printed = capsys.readouterr().out
    assert "FAILED" not in printed
    assert "Every step happened and was checked." in printed
