"""The center as the admin configured it: every YAML file engine.yaml names, loaded and
checked together (a broken file stops the engine with file:line messages)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from acd.model import AcdConfig, load_acd
from core.errors import ConfigError
from core.people import AgentsConfig, Directory
from core.schedule import HoursFile
from core.settings import Settings
from core.suggest import did_you_mean
from core.yamlconf import load_model, parse_yaml, problems_at, read_text
from dialer.model import CampaignsConfig, load_campaigns
from ivr.model import IvrConfig, load_ivr
from recorder.model import RecordingConfig, load_recording
from reports.catalogue import Center as ReportFacts

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Center:
    ivr: IvrConfig | None
    ivr_path: Path | None
    acd: AcdConfig | None
    recording: RecordingConfig | None
    directory: Directory
    campaigns: CampaignsConfig | None = None
    campaigns_path: Path | None = None


def load_center(settings: Settings) -> Center:
    """Every file engine.yaml names, and how they refer to each other; a ConfigError with
    every problem (file:line) when anything is wrong."""
    center, problems = read_center(settings)
    if problems or center is None:
        raise ConfigError(problems)
    return center


def read_center(settings: Settings) -> tuple[Center | None, list[str]]:
    """The center, or None and all its problems: each file is read even when another is
    broken, so an admin sees everything to fix at once."""
    problems: list[str] = []

    def attempt(load: Callable[[], T]) -> T | None:
        try:
            return load()
        except ConfigError as exc:
            problems.extend(exc.problems)
            return None

    hours_path = settings.path(settings.hours.file)
    shared = attempt(lambda: load_model(HoursFile, hours_path).schedules) \
        if hours_path is not None else None
    ivr_path = settings.ivr_path()
    ivr = attempt(lambda: load_ivr(ivr_path, shared)) if ivr_path is not None else None
    acd: AcdConfig | None = None
    queues, agents = settings.path(settings.acd.queues), settings.path(settings.acd.agents)
    if (queues is None) != (agents is None):
        problems.append(f"{settings.config_dir}/engine.yaml: acd: queues and agents go together "
                        f"(both files, or neither)")
    elif queues is not None and agents is not None:
        acd = attempt(lambda: load_acd(queues, agents, shared))
    campaigns_path = settings.path(settings.dialer.campaigns)
    campaigns = attempt(lambda: load_dialer(campaigns_path, acd)) \
        if campaigns_path is not None and (acd is not None or not problems) else None
    recording: RecordingConfig | None = None
    path = settings.path(settings.recording.file)
    if path is not None:
        recording = attempt(lambda: load_recording(
            path, set(acd.queues) if acd is not None else None,
            set(campaigns.campaigns) if campaigns is not None else None))
        if recording is not None and settings.recording.directory:
            recording = recording.model_copy(update={"directory": settings.recording.directory,
                                                     "visible_directory": None})
    if problems:
        return None, problems
    if ivr is not None and ivr_path is not None:
        problems += cross_check(ivr, ivr_path, acd, queues, shared is not None)
    if problems:
        return None, problems
    return Center(ivr, ivr_path, acd, recording, Directory(acd.agents if acd is not None else ()),
                  campaigns, campaigns_path), []


def cross_check(ivr: IvrConfig, ivr_path: Path, acd: AcdConfig | None, queues_path: Path | None,
                shared_hours: bool) -> list[str]:
    """What ivr.yaml says about queues, skills, agents and hours, checked against
    queues.yaml and agents.yaml, with the line on each side."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    members: dict[str, list[Any]] = {}
    if acd is not None:
        for agent in acd.agents:
            for q in agent.queues:
                members.setdefault(q, []).append(agent)
    agent_ids = {a.id for a in acd.agents} if acd is not None else set()
    routes = [(("nodes", name, *loc), r) for name in ivr.nodes for loc, r in ivr.routes_of(name)]
    if ivr.operator is not None:
        routes.append((("operator",), ivr.operator))
    for loc, route in routes:
        # (without an ACD the IVR parks queued callers itself: any queue name will do)
        if route.queue is not None and acd is not None and route.queue not in acd.queues:
            found.append((loc, f"unknown queue {route.queue!r}"
                               f"{did_you_mean(route.queue, acd.queues)} (queues.yaml has "
                               f"{', '.join(sorted(acd.queues))})"))
            continue
        if route.agent is not None and acd is not None and route.agent not in agent_ids:
            found.append((loc, f"unknown agent {route.agent!r}{did_you_mean(route.agent, agent_ids)}"))
        if route.skills and acd is not None:
            queue = route.queue
            pool = members.get(queue, []) if queue is not None else list(acd.agents)
            relaxes = queue is not None and bool(acd.queues[queue].escalation)
            for skill, level in route.skills.items():
                if skill not in acd.skills:
                    found.append(((*loc, "skills", skill), f"unknown skill {skill!r}"
                                  f"{did_you_mean(skill, acd.skills)} (agents.yaml skills: "
                                  f"{', '.join(acd.skills)})"))
                elif not any(a.skills.get(skill, 0) >= (1 if relaxes else level) for a in pool):
                    found.append(((*loc, "skills", skill),
                                  f"no agent{f' of queue {queue}' if queue else ''} has skill "
                                  f"{skill!r} at level {level} or more: callers routed here "
                                  f"would never be answered"))
    out = problems_at(_tree(ivr_path), str(ivr_path), found)
    if acd is not None and acd.hours is not None and ivr.schedules and not shared_hours \
            and queues_path is not None and acd.hours not in ivr.schedules.values():
        where = problems_at(_tree(queues_path), str(queues_path), [(("hours",), "")])[0]
        names = ", ".join(sorted(ivr.schedules))
        out.append(f"{where.rstrip(': ')}: business hours differ from ivr.yaml's schedules "
                   f"({names}): define them once in hours.yaml (engine.yaml hours.file) and "
                   f"name them in both files")
    return out


def _tree(path: Path) -> Any:
    return parse_yaml(read_text(path), str(path))[1]


def load_dialer(path: Path, acd: AcdConfig | None) -> CampaignsConfig:
    """campaigns.yaml, checked against agents.yaml (its agents and skills)."""
    if acd is None:
        raise ConfigError([f"{path}: campaigns need the ACD's agents and queues "
                           "(engine.yaml acd.agents and acd.queues)"])
    return load_campaigns(path, AgentsConfig(skills=acd.skills, agents=acd.agents))


def report_center(settings: Settings, center: Center) -> ReportFacts:
    """What the reports need of the center: queues' service-level rules, names."""
    rules = {name: q.service_level for name, q in center.acd.queues.items()} \
        if center.acd is not None else {}
    campaigns = frozenset(center.campaigns.campaigns) if center.campaigns is not None \
        else frozenset()
    return ReportFacts(rules=rules, agents=frozenset(a.id for a in center.directory),
                       campaigns=campaigns, fcr_days=settings.reports.fcr_days)
