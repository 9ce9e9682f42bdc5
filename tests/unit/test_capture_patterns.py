"""Capture patterns that could stall the event loop are refused when the config is read."""

from __future__ import annotations

import re

import pytest

from core.safepatterns import unsafe


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


def test_outside_numbers_limit_external_transfers_and_callbacks() -> None:
    from acd.targets import transfer_target

    allowed = [r"^\+34([67][0-9]{8}|[89][1-9][0-9]{7})$"]  # as shipped in queues.yaml
    import re as _re

    def may(n: str) -> bool:
        return any(_re.fullmatch(p, n) for p in allowed)

    def target(t: str) -> object:
        return transfer_target(t, me="1001", queues=set(), agents=set(), ivr_nodes=set(),
                               state_of=lambda _a: "ready", may_dial=may)

    assert "may call" in str(target("external:+19005550199"))  # premium, abroad: refused
    assert "may call" in str(target("external:+34905123456"))  # Spanish premium: refused
    assert getattr(target("external:+34612345678"), "name", None) == "+34612345678"


def test_an_unsafe_outside_pattern_is_refused_in_queues_yaml(tmp_path: object) -> None:
    from pydantic import ValidationError

    from acd.model import QueuesConfig
    with pytest.raises(ValidationError, match="unsafe pattern"):
        QueuesConfig(queues={"q": {}}, outside_numbers=[r"^(\d+)+$"])
