"""The center as the admin configured it: every YAML file engine.yaml names, loaded and
checked together (a broken file stops the engine with file:line messages)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from acd.model import AcdConfig, load_acd
from core.people import Directory
from core.settings import Settings
from ivr.model import IvrConfig, load_ivr
from recorder.model import RecordingConfig, load_recording


@dataclass(frozen=True, slots=True)
class Center:
    ivr: IvrConfig | None
    ivr_path: Path | None
    acd: AcdConfig | None
    recording: RecordingConfig | None
    directory: Directory


def load_center(settings: Settings) -> Center:
    ivr_path = settings.ivr_path()
    ivr = load_ivr(ivr_path) if ivr_path is not None else None
    acd: AcdConfig | None = None
    queues, agents = settings.path(settings.acd.queues), settings.path(settings.acd.agents)
    if queues is not None and agents is not None:
        acd = load_acd(queues, agents)
    recording: RecordingConfig | None = None
    path = settings.path(settings.recording.file)
    if path is not None:
        recording = load_recording(path, set(acd.queues) if acd is not None else None)
        if settings.recording.directory:
            recording = recording.model_copy(update={"directory": settings.recording.directory,
                                                     "visible_directory": None})
    return Center(ivr, ivr_path, acd, recording, Directory(acd.agents if acd is not None else ()))
