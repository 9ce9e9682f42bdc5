"""Recording policy and QA forms as the admin writes them (config/recording.yaml).

Checked beyond types: policy names that do not exist, sampling outside 0-100, naming
schemes with unknown fields, prompts nobody declared, queues that do not exist; every
problem names file, line and field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from asterisk.sounds import stock_prompts
from core.errors import ConfigError
from core.yamlconf import parse_yaml, placeholders, problems_at, read_text, validate

NAMING_FIELDS = frozenset({"date", "time", "interaction", "segment", "agent", "queue",
                           "campaign", "number", "kind"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Policy(_Strict):
    """always / never / on_demand (the agent starts and stops it) / sampled (percent)."""

    mode: Literal["always", "never", "on_demand", "sampled"]
    percent: Annotated[float, Field(ge=0, le=100)] | None = None
    format: Literal["wav", "gsm", "wav49"] = "wav"
    #: the file's path under the recordings directory, without extension
    naming: str = "{date}/{interaction}-{segment}"
    announce: list[str] = Field(default_factory=list)  # played to the caller on entering a queue
    start: Literal["bridge", "answer"] = "bridge"  # answer: the queue wait is recorded too
    retain_days: Annotated[int, Field(ge=1, le=36500)] | None = None  # None: kept for ever

    @model_validator(mode="after")
    def _check(self) -> Policy:
        if self.mode == "sampled" and self.percent is None:
            raise ValueError("a sampled policy needs percent (0-100)")
        if self.mode != "sampled" and self.percent is not None:
            raise ValueError(f"percent only applies to mode sampled (this one is {self.mode})")
        try:
            fields = placeholders(self.naming)
        except ValueError as exc:
            raise ValueError(f"naming {self.naming!r}: {exc}") from None
        unknown = fields - NAMING_FIELDS
        if unknown:
            raise ValueError(f"naming uses unknown field(s) {sorted(unknown)}; "
                             f"known: {sorted(NAMING_FIELDS)}")
        if "interaction" not in fields:
            raise ValueError("naming must contain {interaction} so that files are unique")
        if ".." in self.naming or self.naming.startswith("/"):
            raise ValueError("naming must stay inside the recordings directory")
        return self


Scale = Literal["yes_no", "1-5"]


class Criterion(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    text: str = ""
    weight: Annotated[float, Field(gt=0, le=100)] = 1
    scale: Scale = "yes_no"
    critical: bool = False  # a "no" (or 1) fails the whole evaluation


class Form(_Strict):
    title: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    pass_mark: Annotated[float, Field(ge=0, le=100)] = 70

    @model_validator(mode="after")
    def _unique(self) -> Form:
        ids = [c.id for c in self.criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate criterion id(s) {dupes}")
        return self


class RecordingConfig(_Strict):
    #: where Asterisk writes (MixMonitor's File is absolute, under this)
    directory: str = "/var/spool/asterisk/monitor/centralita"
    #: where the engine sees those files (a shared mount); None: the same path; "" : not at all
    visible_directory: str | None = None
    #: where `centralita recordings fetch` may write copies (relative: to the config
    #: directory); fetch writes nowhere else; none: fetch is off
    export_directory: str | None = None
    prompts: list[str] = Field(default_factory=list)  # custom prompts installed on Asterisk
    policies: dict[str, Policy] = Field(min_length=1)
    default: str  # policy for queues not listed
    queues: dict[str, str] = Field(default_factory=dict)
    campaigns: dict[str, str] = Field(default_factory=dict)
    internal: str | None = None  # agent-to-agent calls; None: the default
    forms: dict[str, Form] = Field(default_factory=dict)  # QA evaluation forms
    purge_every: Annotated[float, Field(gt=0, le=86400)] = 3600  # retention job, seconds

    def policy_for(self, *, kind: str, queue: str = "", campaign: str = "") -> tuple[str, Policy]:
        if kind == "internal" and self.internal:
            name = self.internal
        elif campaign and campaign in self.campaigns:
            name = self.campaigns[campaign]
        else:
            name = self.queues.get(queue, self.default)
        return name, self.policies[name]

    @property
    def seen_directory(self) -> Path | None:
        if self.visible_directory == "":
            return None
        return Path(self.visible_directory or self.directory)

    def check(self, known_queues: set[str] | None, known_campaigns: set[str] | None = None
              ) -> list[tuple[tuple[str | int, ...], str]]:
        out: list[tuple[tuple[str | int, ...], str]] = []
        names = set(self.policies)

        def need(loc: tuple[str | int, ...], name: str | None) -> None:
            if name is not None and name not in names:
                out.append((loc, f"unknown policy {name!r} (policies: {sorted(names)})"))

        need(("default",), self.default)
        need(("internal",), self.internal)
        for q, name in self.queues.items():
            need(("queues", q), name)
            if known_queues is not None and q not in known_queues:
                out.append((("queues", q), f"unknown queue {q!r} (queues.yaml has "
                                           f"{sorted(known_queues)})"))
        for c, name in self.campaigns.items():
            need(("campaigns", c), name)
            if known_campaigns is not None and c not in known_campaigns:
                out.append((("campaigns", c), f"unknown campaign {c!r} (campaigns.yaml has "
                                              f"{sorted(known_campaigns)})"))
        if not self.directory.startswith("/"):
            out.append((("directory",), "must be an absolute path (Asterisk writes there)"))
        elif _system_directory(self.directory):
            out.append((("directory",), f"{self.directory!r} is a system directory: give "
                                        f"recordings their own (e.g. "
                                        f"/var/spool/asterisk/monitor/centralita)"))
        known_prompts = set(stock_prompts()) | set(self.prompts)
        for pname, p in self.policies.items():
            for i, prompt in enumerate(p.announce):
                if prompt not in known_prompts:
                    out.append((("policies", pname, "announce", i),
                                f"prompt {prompt!r} is neither a stock sound nor listed under "
                                f"prompts"))
        return out


def load_recording(path: Path, known_queues: set[str] | None = None,
                   known_campaigns: set[str] | None = None) -> RecordingConfig:
    text = read_text(path)
    data, node = parse_yaml(text, str(path))
    config = validate(RecordingConfig, data, node, str(path))
    problems = problems_at(node, str(path), config.check(known_queues, known_campaigns))
    if problems:
        raise ConfigError(problems)
    return config


#: never a recordings directory (retention deletes files under it)
SYSTEM = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc",
          "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib",
          "/var/log", "/var/spool", "/var/spool/asterisk", "/var/lib/asterisk"}


def _system_directory(directory: str) -> bool:
    import posixpath
    return posixpath.normpath(directory) in SYSTEM
