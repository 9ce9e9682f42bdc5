"""The names the engine uses (asterisk/dialplan.py) agree with the dialplan it ships
(asterisk/etc/extensions.conf): every context exists and parks calls in AGI(agi:async),
every leg extension reaches AGI there, `failed` hangs up, and the variables are set."""

from __future__ import annotations

import pytest

from asterisk import dialplan as dp
from sim.dialplan import load_dialplan
from tests.conftest import PROJECT_ETC

PLAN = load_dialplan(PROJECT_ETC / "extensions.conf")
TEXT = (PROJECT_ETC / "extensions.conf").read_text()


def apps_from(context: str, exten: str) -> list[str]:
    ext = PLAN.find(context, exten)
    assert ext is not None, f"no extension {exten!r} in [{context}]"
    return [step.app for _, step in sorted(ext.steps.items())]


@pytest.mark.parametrize(("context", "exten"), [
    (dp.INBOUND, "100"), (dp.INBOUND, "7"), (dp.INBOUND, "+34911000000"), (dp.INBOUND, "s"),
    (dp.AGENTS, "1002"), (dp.AGENTS, "*21"),
    *((dp.LEGS, e) for e in dp.LEG_EXTENSIONS), (dp.LEGS, "1001"),
    (dp.DIALER, dp.AMD), (dp.DIALER, dp.DIRECT)])
def test_engine_contexts_park_calls_in_async_agi(context: str, exten: str) -> None:
    assert context in dp.ENGINE_CONTEXTS
    apps = apps_from(context, exten)
    assert "AGI" in apps, f"[{context}] {exten} never reaches AGI(agi:async): {apps}"


@pytest.mark.parametrize("context", [dp.LEGS, dp.DIALER])
def test_an_unanswered_originate_just_hangs_up(context: str) -> None:
    assert apps_from(context, dp.FAILED) == ["Hangup"]


def test_a_nailed_line_goes_back_into_async_agi() -> None:
    ext = PLAN.find(dp.LEGS, dp.NAILED)
    assert ext is not None and ext.pattern == dp.NAILED  # the exact extension, not _[a-z].
    steps = [s for _, s in sorted(ext.steps.items())]
    assert [s.app for s in steps] == ["NoOp", "AGI", "NoOp", "Goto"]
    assert steps[-1].args == "wait" and ext.labels["wait"] == 2


def test_amd_hands_its_verdict_to_the_engine() -> None:
    assert apps_from(dp.DIALER, dp.AMD) == ["NoOp", "AMD", "AGI", "Hangup"]
    ext = PLAN.find(dp.DIALER, dp.AMD)
    assert ext is not None
    assert ext.steps[2].args == f"${{{dp.AMD_ARGS}}}"
    assert ext.steps[3].args == "agi:async,${AMDSTATUS},${AMDCAUSE}"


def test_variables_the_dialplan_uses_are_the_engines() -> None:
    assert f"Set({dp.DNIS}=" in TEXT
    for variable in (dp.AMD_ARGS, dp.AGENT):
        assert f"${{{variable}}}" in TEXT


def test_every_engine_context_is_in_the_dialplan() -> None:
    assert set(dp.ENGINE_CONTEXTS) <= set(PLAN.contexts)
