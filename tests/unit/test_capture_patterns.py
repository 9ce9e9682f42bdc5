"""Capture patterns that could stall the event loop are refused when the config is read."""

from __future__ import annotations

import re

import pytest

from ivr.regexcheck import unsafe


@pytest.mark.parametrize("pattern", [
    r"(\d*)*x", r"(\d+)+", r"(1|11)*", r"(\d{2,})+5", r"((\d)+)*", r"(a|b|\d+){2,}",
    r"(\d)\1", r"(?=\d{4})\d+", "\\d" * 120,
])
def test_patterns_that_can_backtrack_are_refused(pattern: str) -> None:
    assert unsafe(pattern) is not None


@pytest.mark.parametrize("pattern", [
    r"\d{4}", r"4\d{15}", r"(\d{4})?\d{4}", r"(34|35)\d{7}", r"[0-9]+", r"\d{4,8}",
    r"(?:6|7)\d{8}", r"(\d{3})\d*",
])
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert unsafe(pattern) is None
    re.compile(pattern)


def test_the_reported_pattern_is_refused_by_check_config(tmp_path: object) -> None:
    from pydantic import ValidationError

    from ivr.model import CaptureNode
    with pytest.raises(ValidationError, match="unsafe pattern"):
        CaptureNode(type="capture", prompt="x", field="account", max_digits=64,
                    pattern=r"(\d*)*x", next={"queue": "support"}, fallback={"queue": "support"})
