"""Commands people send over MQTT: one model per action (a union keyed on `action`), and
the table that hands each to the service that registered for it.

Agents (and supervisors) send to `{prefix}agents/{id}/commands`, supervisors also to
`{prefix}queues/{queue}/commands`. Every command gets a reply: ok, or why it was refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from core.logbudget import LogBudget
from core.payloads import Reply


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1
    request: str | None = Field(None, max_length=64)  # the sender's id, echoed in the reply


# --- an agent's own state ---------------------------------------------------------------

class Login(Command):
    action: Literal["login"]


class Logout(Command):
    action: Literal["logout"]


class Pause(Command):
    action: Literal["pause"]
    reason: str | None = Field(None, max_length=32)


class Ready(Command):
    action: Literal["ready"]


class EndWrapup(Command):
    action: Literal["end_wrapup"]


class ExtendWrapup(Command):
    action: Literal["extend_wrapup"]


# --- the call an agent is on --------------------------------------------------------------

class Transfer(Command):
    """Blind transfer: `queue:NAME`, `agent:ID`, `ivr:NODE` or `external:NUMBER`."""

    action: Literal["transfer"]
    target: str = Field(max_length=80)
    keep_priority: bool = True


class Consult(Command):
    action: Literal["consult"]
    target: str = Field(max_length=80)  # agent:ID or an extension


class ConsultComplete(Command):
    action: Literal["consult_complete"]


class ConsultCancel(Command):
    action: Literal["consult_cancel"]


class Conference(Command):
    action: Literal["conference"]


class Disposition(Command):
    action: Literal["disposition"]
    code: str = Field(min_length=1, max_length=64)
    notes: str = Field("", max_length=100000)  # the queue's notes_max applies
    ticket: str | None = Field(None, max_length=32)
    follow_up_at: str | None = Field(None, max_length=40)  # ISO 8601 with a zone
    follow_up_to: str | None = Field(None, max_length=8)  # agent or queue


class UpdateCustomer(Command):
    action: Literal["update_customer"]
    fields: dict[str, Any]


class Escalate(Command):
    action: Literal["escalate"]
    notes: str = Field("", max_length=100000)


# --- recording and live monitoring ---------------------------------------------------

class PauseRecording(Command):
    action: Literal["pause_recording"]


class ResumeRecording(Command):
    action: Literal["resume_recording"]


class StartRecording(Command):
    action: Literal["start_recording"]


class StopRecording(Command):
    action: Literal["stop_recording"]


class Listen(Command):
    action: Literal["listen"]
    agent: str = Field(max_length=32)  # whom the supervisor listens to


class Whisper(Command):
    action: Literal["whisper"]
    agent: str = Field(max_length=32)


class Barge(Command):
    action: Literal["barge"]
    agent: str = Field(max_length=32)


class ReloadConfig(Command):
    """A supervisor: read the whole configuration again (as SIGHUP does)."""

    action: Literal["reload_config"]


# --- outbound: a previewed lead, and the call on an agent's kept line -------------------

class AcceptLead(Command):
    """Preview dialing: call the lead now on offer (agents/{id}/preview)."""

    action: Literal["accept_lead"]
    lead: int | None = Field(None, ge=1)  # the offer's lead id (checked when given)


class SkipLead(Command):
    action: Literal["skip_lead"]
    lead: int | None = Field(None, ge=1)


class HangUp(Command):
    """End the call on the agent's kept line (the line stays up for the next call)."""

    action: Literal["hangup"]


# --- supervisors, on a queue -------------------------------------------------------------

class Reprioritise(Command):
    action: Literal["reprioritise"]
    call_id: str = Field(min_length=1, max_length=32)
    priority: int = Field(ge=0, le=100)


# --- supervisors, on a campaign ------------------------------------------------------------

class StartCampaign(Command):
    action: Literal["start"]


class PauseCampaign(Command):
    """No new dials; calls under way finish."""

    action: Literal["pause"]


class StopCampaign(Command):
    """No new dials, and the leads held in memory go back to the store."""

    action: Literal["stop"]


class SetMode(Command):
    action: Literal["set_mode"]
    mode: Literal["preview", "progressive", "power", "predictive"]
    ratio: float | None = Field(None, ge=1.0, le=5.0)  # power: lines per free agent


class ReloadCampaigns(Command):
    """Read campaigns.yaml again (all campaigns); a broken file changes nothing."""

    action: Literal["reload"]


AgentCommand = Annotated[
    Login | Logout | Pause | Ready | EndWrapup | ExtendWrapup | Transfer | Consult
    | ConsultComplete | ConsultCancel | Conference | Disposition | UpdateCustomer | Escalate
    | PauseRecording | ResumeRecording | StartRecording | StopRecording | Listen | Whisper | Barge
    | AcceptLead | SkipLead | HangUp | ReloadConfig,
    Field(discriminator="action")]
QueueCommand = Annotated[Reprioritise, Field(discriminator="action")]
CampaignCommand = Annotated[StartCampaign | PauseCampaign | StopCampaign | SetMode
                            | ReloadCampaigns, Field(discriminator="action")]

#: how log lines name who sent a command of each kind
SENDER = {"agents": "agent", "queues": "queue", "campaigns": "campaign"}
#: which commands each command topic takes (core/topics.py COMMAND_KINDS)
UNIONS: dict[str, Any] = {"agents": AgentCommand, "queues": QueueCommand,
                          "campaigns": CampaignCommand}
_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(kind: str) -> TypeAdapter[Any]:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(UNIONS[kind])
    return _ADAPTERS[kind]


def actions(kind: str) -> list[str]:
    schema = _adapter(kind).json_schema()
    mapping = schema.get("discriminator", {}).get("mapping", {})
    if mapping:
        return sorted(mapping)
    return [schema["properties"]["action"]["const"]]


class Malformed(Exception):
    """A command that is not one: the message names the field and what is wrong."""


def parse(kind: str, data: Any) -> Command:
    """The typed command for a decoded JSON body; Malformed says what is wrong with it."""
    if not isinstance(data, dict):
        raise Malformed("(message): a command is a JSON object")
    known = actions(kind)
    if data.get("action") not in known:
        raise Malformed(f"action: must be one of {', '.join(known)}")
    try:
        command: Command = _adapter(kind).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first["loc"]]
        if loc and loc[0] == data.get("action"):
            loc = loc[1:]  # the union's tag, not a field the sender wrote
        raise Malformed(f"{'.'.join(loc) or '(message)'}: {first['msg']}") from None
    return command


C = TypeVar("C", bound=Command)
Handler = Callable[[str, Any], str | None]  # (sender, command) -> why refused, or None


class Commands:
    """The dispatch table: services register the commands they carry out; the MQTT
    listener (and tests, and the demo's desks) dispatch through it."""

    def __init__(self, *, call_of: Callable[[str], str | None] | None = None) -> None:
        self._handlers: dict[type[Command], Handler] = {}
        #: handlers that take a command only for some senders (the dialer's dispositions
        #: for agents on its calls), asked before the general one
        self._claimed: dict[type[Command], list[tuple[Callable[[str], bool], Handler]]] = {}
        self.call_of = call_of  # an agent's current call, for the refusal log line
        self.log = structlog.get_logger("commands")
        #: refusals logged per sender (a client sending garbage in a loop fills no disk)
        self.budget = LogBudget()

    def refusal(self, event: str, kind: str, sender: str, **fields: Any) -> None:
        """Log a refused command, at most `budget.per_window` a minute per sender."""
        key = f"{kind}/{sender}"
        allowed, held = self.budget.allow(key, time.monotonic())
        if held:
            self.log.warning("command.refusals_held_back", **{SENDER[kind]: sender}, count=held)
        if allowed:
            self.log.info(event, **{SENDER[kind]: sender}, **fields)

    def register(self, kind: type[C], handler: Callable[[str, C], str | None], *,
                 when: Callable[[str], bool] | None = None) -> None:
        """`handler` carries out `kind`; with `when`, only for the senders it accepts
        (several services may share a command that way, each for its own calls)."""
        if when is not None:
            self._claimed.setdefault(kind, []).append((when, handler))
            return
        if kind in self._handlers:
            raise ValueError(f"{kind.__name__} has a handler already")
        self._handlers[kind] = handler

    def handles(self, kind: type[Command]) -> bool:
        return kind in self._handlers or kind in self._claimed

    def _handler(self, sender: str, kind: type[Command]) -> Handler | None:
        for when, handler in self._claimed.get(kind, ()):
            if when(sender):
                return handler
        return self._handlers.get(kind)

    def dispatch(self, sender: str, command: Command, *, kind: str = "agents") -> str | None:
        """Carry out `command` from `sender` (an agent id, a queue or campaign name, as
        `kind` says): None when done or under way, else why it was refused (then nothing
        changed)."""
        handler = self._handler(sender, type(command))
        action = getattr(command, "action", type(command).__name__)
        if handler is None:
            error: str | None = f"{action} is not available: the service that does it is not configured"
        else:
            error = handler(sender, command)
        if error is not None:
            call_id = self.call_of(sender) if self.call_of and kind == "agents" else None
            self.refusal("command.refused", kind, sender, action=action, call_id=call_id,
                         error=error)
        return error

    def run(self, kind: str, sender: str, data: Any) -> Reply:
        """Parse and dispatch one decoded command body; the reply says how it went."""
        request = data.get("request") if isinstance(data, dict) else None
        request = request if isinstance(request, str) and len(request) <= 64 else None
        try:
            command = parse(kind, data)
        except Malformed as exc:
            self.refusal("command.malformed", kind, sender, error=str(exc)[:300])
            action = data.get("action") if isinstance(data, dict) else None
            return Reply(ok=False, error=str(exc)[:300], request=request,
                         action=action if isinstance(action, str) and len(action) <= 32 else None)
        try:
            error = self.dispatch(sender, command, kind=kind)
        except Exception as exc:  # a bug in one command must not stop the others
            self.log.exception("command.failed", **{SENDER[kind]: sender},
                               action=getattr(command, "action", ""))
            error = f"internal error: {type(exc).__name__}"
        return Reply(ok=error is None, error=error[:300] if error else None, request=command.request,
                     action=getattr(command, "action", None))
