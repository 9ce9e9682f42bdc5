from __future__ import annotations

from pathlib import Path

import pytest

from acd.model import load_acd
from core.errors import ConfigError
from tests.conftest import ROOT

QUEUES = """\
queues:
  support:
    skills: {support: 3}
    ring_timeout: 15
  sales:
    skills: {sales: 1}
"""
AGENTS = """\
skills: [support, sales]
agents:
  - {id: "1", device: PJSIP/a1, skills: {support: 5, sales: 2}, queues: {support: 0, sales: 0}}
  - {id: "2", device: PJSIP/a2, skills: {sales: 4}, queues: {sales: 0}}
"""


def problems(tmp_path: Path, queues: str = QUEUES, agents: str = AGENTS) -> list[str]:
    (tmp_path / "queues.yaml").write_text(queues)
    (tmp_path / "agents.yaml").write_text(agents)
    with pytest.raises(ConfigError) as info:
        load_acd(tmp_path / "queues.yaml", tmp_path / "agents.yaml")
    return info.value.problems


def test_the_shipped_queues_and_agents_are_valid() -> None:
    from core.schedule import HoursFile
    from core.yamlconf import load_model

    hours = load_model(HoursFile, ROOT / "config" / "hours.yaml").schedules
    config = load_acd(ROOT / "config" / "queues.yaml", ROOT / "config" / "agents.yaml", hours)
    assert config.queues["support"].rules("support").steps[0].min_level == 2
    assert config.hours == hours["office"]  # `hours: office`, from hours.yaml


def test_unknown_skill_names_file_and_line(tmp_path: Path) -> None:
    got = problems(tmp_path, queues=QUEUES.replace("{sales: 1}", "{salez: 1}"))
    q = tmp_path / "queues.yaml"
    assert f"{q}:6: queues.sales.skills.salez: unknown skill 'salez'" in got[0]


def test_a_queue_nobody_can_serve(tmp_path: Path) -> None:
    got = problems(tmp_path, queues=QUEUES.replace("{support: 3}", "{support: 9}"))
    assert any("queues.support: no agent can take this queue's calls" in p for p in got)


def test_overflow_loops(tmp_path: Path) -> None:
    text = QUEUES.replace("ring_timeout: 15", "ring_timeout: 15\n    overflow: sales") + \
        "    overflow: support\n"
    got = problems(tmp_path, queues=text)
    assert any("overflow loop: support -> sales -> support" in p for p in got)


def test_negative_timeouts_and_duplicate_ids(tmp_path: Path) -> None:
    got = problems(tmp_path, queues=QUEUES.replace("ring_timeout: 15", "ring_timeout: -5"))
    assert f"{tmp_path / 'queues.yaml'}:4: queues.support.ring_timeout: Input should be greater " \
           "than 0" in got[0]
    got = problems(tmp_path, agents=AGENTS.replace('id: "2"', 'id: "1"'))
    assert f"{tmp_path / 'agents.yaml'}:4: agents.1.id: duplicate agent id '1'" in got[0]


def test_agents_in_unknown_queues(tmp_path: Path) -> None:
    got = problems(tmp_path, agents=AGENTS.replace("queues: {sales: 0}}", "queues: {bogus: 0}}"))
    assert any("agents.1.queues.bogus: unknown queue 'bogus'" in p for p in got)
