"""The people of the center as agents.yaml lists them, and a directory to find them by id,
extension or the phone a call comes from (O(1), no scans)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Level = Annotated[int, Field(ge=1, le=10)]


class Agent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str = ""
    device: str = Field(pattern=r"^(PJSIP|SIP|IAX2|Local)/\S+$")
    extension: str | None = Field(None, pattern=r"^[0-9]{2,8}$")
    skills: dict[str, Level] = Field(default_factory=dict)
    queues: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=dict)
    role: Literal["agent", "supervisor", "qa"] = "agent"
    max_no_answer: Annotated[int, Field(ge=1, le=20)] = 3
    login: bool = False  # logged in (ready) when the engine starts
    #: the operating-system account this person runs `centralita` as: the recordings and
    #: QA commands know who is asking from it (nobody can type someone else's)
    os_user: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")


class AgentsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    skills: list[str] = Field(min_length=1)
    agents: list[Agent] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_person_per_account(self) -> AgentsConfig:
        seen: dict[str, str] = {}
        for a in self.agents:
            if a.os_user is not None:
                if a.os_user in seen:
                    raise ValueError(f"os_user {a.os_user!r} is given to both {seen[a.os_user]} "
                                     f"and {a.id}: one account is one person")
                seen[a.os_user] = a.id
        return self


def phone_of(channel: str) -> str:
    """The device a channel belongs to: `PJSIP/agent1001-0000002a` -> `PJSIP/agent1001`;
    `Local/agent1001@lab-0000000b;2` -> `Local/agent1001@lab`."""
    base = channel.split(";", 1)[0]
    head, sep, tail = base.rpartition("-")
    return head if sep and tail and all(c in "0123456789abcdef" for c in tail) else base


def _device_key(device: str) -> str:
    # A Local device names its options after a slash (Local/x@ctx/n); channels do not.
    if device.startswith("Local/") and device.count("/") > 1:
        return device.rsplit("/", 1)[0]
    return device


class Directory:
    """Who is who: by agent id, by extension, by desk phone."""

    def __init__(self, agents: Iterable[Agent]) -> None:
        self._by_id: dict[str, Agent] = {}
        self._by_extension: dict[str, Agent] = {}
        self._by_device: dict[str, Agent] = {}
        for a in agents:
            self._by_id[a.id] = a
            if a.extension:
                self._by_extension[a.extension] = a
            self._by_device[_device_key(a.device)] = a

    def __iter__(self) -> Iterator[Agent]:
        return iter(self._by_id.values())

    def add(self, agent: Agent) -> None:
        """A new person (a reload)."""
        self.refresh([agent])

    def remove(self, agent_id: str) -> None:
        """Someone who left agents.yaml (a reload), once they are off any call."""
        a = self._by_id.pop(agent_id, None)
        if a is None:
            return
        if a.extension and self._by_extension.get(a.extension) is a:
            del self._by_extension[a.extension]
        key = _device_key(a.device)
        if self._by_device.get(key) is a:
            del self._by_device[key]

    def refresh(self, agents: Iterable[Agent]) -> None:
        """The same people with new details (a reload: same ids, phones and extensions;
        new skills, queues, names), seen at once by everyone holding this directory."""
        for a in agents:
            self._by_id[a.id] = a
            if a.extension:
                self._by_extension[a.extension] = a
            self._by_device[_device_key(a.device)] = a

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, agent_id: str) -> Agent | None:
        return self._by_id.get(agent_id)

    def __getitem__(self, agent_id: str) -> Agent:
        return self._by_id[agent_id]

    def find(self, key: str) -> Agent | None:
        """By agent id or by extension (what people dial or type)."""
        return self._by_id.get(key) or self._by_extension.get(key)

    def by_extension(self, extension: str) -> Agent | None:
        return self._by_extension.get(extension)

    def of_phone(self, caller_num: str, channel: str) -> Agent | None:
        """The agent whose desk phone placed a call: by its extension (the caller number)
        or by the device the channel belongs to."""
        return (self._by_extension.get(caller_num) if caller_num else None) \
            or self._by_device.get(phone_of(channel))
