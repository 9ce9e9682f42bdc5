"""The AMI actions the engine sends, as typed values built in one place.

`AmiClient.send(action)` sends one; `AmiClient.originate(action)` sends an Originate and
returns the future of its OriginateResponse. Header names and values follow what
Asterisk 20.20.1 accepted in ../shared/ami-transcripts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from asterisk.wire import HeaderValue


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    headers: Mapping[str, HeaderValue] = field(default_factory=dict)


def originate(*, channel: str, context: str, exten: str, channel_id: str, ring_timeout: float,
              caller_id: str, variables: Mapping[str, str] | None = None,
              priority: int = 1) -> Action:
    """Ring `channel`; once answered it runs `context`,`exten`,`priority` (the engine's
    AGI(agi:async) contexts). `channel_id` names the new channel's Uniqueid, so the
    engine knows the leg before it exists."""
    headers: dict[str, HeaderValue] = {
        "Channel": channel, "Context": context, "Exten": exten, "Priority": str(priority),
        "Timeout": str(int(ring_timeout * 1000)), "ChannelId": channel_id,
        "CallerID": caller_id,
    }
    if variables:
        headers["Variable"] = [f"{k}={variable_value(v)}" for k, v in variables.items()]
    return Action("Originate", headers)


def variable_value(value: str) -> str:
    """A value as Originate's `Variable` header must carry it: Asterisk splits the header
    at commas (several variables in one header) unless quoted, and drops quotes and
    backslashes (main/manager.c, main/app.c __ast_app_separate_args). On 20.20.1
    `CENTRALITA_AMD=2500,1500,...` arrived as `2500`; `"2500,1500,..."` arrived whole."""
    escaped = "".join("\\" + ch if ch in '\\"()[]' else ch for ch in value)
    return f'"{escaped}"' if "," in value else escaped


def originate_app(*, channel: str, application: str, data: str, ring_timeout: float,
                  caller_id: str) -> Action:
    """Ring `channel`; once answered it runs one application (a supervisor's ChanSpy)."""
    return Action("Originate", {"Channel": channel, "Application": application, "Data": data,
                                "Timeout": str(int(ring_timeout * 1000)),
                                "CallerID": caller_id})


def bridge(channel1: str, channel2: str) -> Action:
    """Join two channels parked in AsyncAGI (a running AGI command on each freezes)."""
    return Action("Bridge", {"Channel1": channel1, "Channel2": channel2, "Tone": "no"})


def redirect(channel: str, context: str, exten: str, priority: int = 1) -> Action:
    return Action("Redirect", {"Channel": channel, "Context": context, "Exten": exten,
                               "Priority": str(priority)})


def redirect_pair(channel: str, to: tuple[str, str], extra: str, extra_to: tuple[str, str]
                  ) -> Action:
    """Move two bridged channels at once (`to`, `extra_to`: context and extension), each to
    a new AsyncAGI session: a dual Redirect leaves neither alone in the bridge."""
    return Action("Redirect", {
        "Channel": channel, "Context": to[0], "Exten": to[1], "Priority": "1",
        "ExtraChannel": extra, "ExtraContext": extra_to[0], "ExtraExten": extra_to[1],
        "ExtraPriority": "1"})


def hangup(channel: str, cause: int | None = None) -> Action:
    headers: dict[str, HeaderValue] = {"Channel": channel}
    if cause is not None:
        headers["Cause"] = str(cause)
    return Action("Hangup", headers)


def blind_transfer(channel: str, context: str, exten: str) -> Action:
    """On an agent's leg: the caller it is bridged to leaves for `context`,`exten`."""
    return Action("BlindTransfer", {"Channel": channel, "Context": context, "Exten": exten})


def mixmonitor(channel: str, file: str, *, bridged_only: bool) -> Action:
    return Action("MixMonitor", {"Channel": channel, "File": file,
                                 "Options": "b" if bridged_only else ""})


def mixmonitor_mute(channel: str, muted: bool) -> Action:
    return Action("MixMonitorMute", {"Channel": channel, "Direction": "both",
                                     "State": "1" if muted else "0"})


def stop_mixmonitor(channel: str) -> Action:
    return Action("StopMixMonitor", {"Channel": channel})


def setvar(channel: str, name: str, value: str) -> Action:
    return Action("Setvar", {"Channel": channel, "Variable": name, "Value": value})


def getvar(channel: str, name: str) -> Action:
    return Action("Getvar", {"Channel": channel, "Variable": name})


def core_show_channels() -> Action:
    return Action("CoreShowChannels")
