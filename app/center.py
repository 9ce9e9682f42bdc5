"""The center as the admin configured it: every YAML file engine.yaml names, loaded and
checked together (a broken file stops the engine with file:line messages)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from acd.model import AcdConfig, load_acd
from core.errors import ConfigError
from core.people import AgentsConfig, Directory
from core.settings import Settings
from dialer.model import CampaignsConfig, load_campaigns
from ivr.model import IvrConfig, load_ivr
from recorder.model import RecordingConfig, load_recording
from reports.catalogue import Center as ReportFacts


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
    ivr_path = settings.ivr_path()
    ivr = load_ivr(ivr_path) if ivr_path is not None else None
    acd: AcdConfig | None = None
    queues, agents = settings.path(settings.acd.queues), settings.path(settings.acd.agents)
    if queues is not None and agents is not None:
        acd = load_acd(queues, agents)
    campaigns_path = settings.path(settings.dialer.campaigns)
    campaigns = load_dialer(campaigns_path, acd) if campaigns_path is not None else None
    recording: RecordingConfig | None = None
    path = settings.path(settings.recording.file)
    if path is not None:
        recording = load_recording(path, set(acd.queues) if acd is not None else None,
                                   set(campaigns.campaigns) if campaigns is not None else None)
        if settings.recording.directory:
            recording = recording.model_copy(update={"directory": settings.recording.directory,
                                                     "visible_directory": None})
    return Center(ivr, ivr_path, acd, recording, Directory(acd.agents if acd is not None else ()),
                  campaigns, campaigns_path)


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
