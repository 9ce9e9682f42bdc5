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
    *((dp.LEGS, e) for e in dp.LEG_EXTENSIONS), (dp.LEGS, "1001")])
def test_engine_contexts_park_calls_in_async_agi(context: str, exten: str) -> None:
    assert context in dp.ENGINE_CONTEXTS
    apps = apps_from(context, exten)
    assert "AGI" in apps, f"[{context}] {exten} never reaches AGI(agi:async): {apps}"


def test_an_unanswered_originate_just_hangs_up() -> None:
    assert apps_from(dp.LEGS, dp.FAILED) == ["Hangup"]


@pytest.mark.parametrize("variable", [dp.DNIS])
def test_variables_the_dialplan_sets_are_the_engines(variable: str) -> None:
    assert f"Set({variable}=" in TEXT


def test_every_engine_context_is_in_the_dialplan() -> None:
    assert set(dp.ENGINE_CONTEXTS) <= set(PLAN.contexts)
