"""What a reloaded configuration changes, and whether it can be applied while calls run
(pure: two loaded centers in, a summary or a refusal out)."""

from __future__ import annotations

from typing import Any

from app.center import Center


def _names(old: dict[str, Any], new: dict[str, Any], what: str) -> list[str]:
    out = []
    added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
    if added:
        out.append(f"{what} added: {', '.join(added)}")
    if removed:
        out.append(f"{what} removed: {', '.join(removed)}")
    if changed:
        out.append(f"{what} changed: {', '.join(changed)}")
    return out


def changes(old: Center, new: Center) -> list[str]:
    """A summary of what differs (not the files themselves); empty when nothing does."""
    out: list[str] = []
    if old.ivr != new.ivr:
        if old.ivr is None or new.ivr is None:
            out.append("ivr: added" if old.ivr is None else "ivr: removed")
        else:
            out += [f"ivr: {line}" for line in _names(dict(old.ivr.nodes), dict(new.ivr.nodes),
                                                       "nodes")]
            if old.ivr.schedules != new.ivr.schedules:
                out.append("ivr: business hours changed")
            rest = {"language", "languages", "prompts", "entry", "default_menu", "operator"}
            if old.ivr.model_dump(include=rest) != new.ivr.model_dump(include=rest):
                out.append("ivr: entry points, prompts or languages changed")
    if old.acd != new.acd and old.acd is not None and new.acd is not None:
        out += [f"queues.yaml: {line}" for line in _names(dict(old.acd.queues),
                                                           dict(new.acd.queues), "queues")]
        out += [f"agents.yaml: {line}" for line in _names(
            {a.id: a for a in old.acd.agents}, {a.id: a for a in new.acd.agents}, "agents")]
        for key in ("hours", "notes_max", "internal", "survey", "outside_numbers", "skills"):
            if getattr(old.acd, key) != getattr(new.acd, key):
                out.append(f"{key} changed")
    if old.recording != new.recording and old.recording is not None and new.recording is not None:
        out += [f"recording.yaml: {line}" for line in _names(
            dict(old.recording.policies), dict(new.recording.policies), "policies")]
        if old.recording.model_dump(exclude={"policies"}) != new.recording.model_dump(
                exclude={"policies"}):
            out.append("recording.yaml: queues, campaigns, forms or retention changed")
    if old.campaigns != new.campaigns and old.campaigns is not None and new.campaigns is not None:
        out += [f"campaigns.yaml: {line}" for line in _names(
            dict(old.campaigns.campaigns), dict(new.campaigns.campaigns), "campaigns")]
    return out


def needs_restart(old: Center, new: Center) -> str | None:
    """Why this change cannot be applied while calls run, or None."""
    parts: tuple[tuple[str, object, object], ...] = (
        ("the IVR", old.ivr, new.ivr), ("the ACD", old.acd, new.acd),
        ("recording", old.recording, new.recording), ("the dialer", old.campaigns, new.campaigns))
    for what, was, now in parts:
        if (was is None) != (now is None):
            return f"{what} {'added' if was is None else 'removed'}: restart the engine for that"
    if old.acd is not None and new.acd is not None:
        before = {a.id: a for a in old.acd.agents}
        after = {a.id: a for a in new.acd.agents}
        for agent_id, a in after.items():
            if agent_id not in before:
                continue  # a new agent: added
            b = before[agent_id]
            if (a.device, a.extension, a.role, a.os_user) != (b.device, b.extension, b.role,
                                                               b.os_user):
                return (f"agent {agent_id}: a new phone, extension, role or os_user: restart "
                        f"the engine for that")
    if old.recording is not None and new.recording is not None and \
            old.recording.directory != new.recording.directory:
        return "the recordings directory changed: restart the engine for that"
    return None
