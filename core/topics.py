"""Every MQTT topic the engine publishes or listens on, built in one place.

`{prefix}` comes from engine.yaml (`mqtt.prefix`, e.g. `centralita/`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: who may send commands, as the second part of `{prefix}{kind}/{id}/commands`
COMMAND_KINDS = ("agents", "queues", "campaigns")


@dataclass(frozen=True, slots=True)
class CommandTopic:
    kind: str  # agents, queues, campaigns
    id: str  # the agent id, queue or campaign name the command is for


@dataclass(frozen=True, slots=True)
class Topics:
    prefix: str

    # --- what the engine publishes ----------------------------------------------------

    def call_events(self, call_id: str) -> str:
        return f"{self.prefix}calls/{call_id}/events"

    def engine_status(self) -> str:
        return f"{self.prefix}engine/status"

    def snapshots(self) -> list[str]:
        """Wildcards of the retained snapshots the engine publishes (cleared at start and
        at a clean stop, so nothing stale outlives the engine that wrote it)."""
        return [f"{self.prefix}queues/+/stats", f"{self.prefix}campaigns/+/stats",
                f"{self.prefix}agents/+/presence"]

    def agent_state(self, agent: str) -> str:
        return f"{self.prefix}agents/{agent}/state"

    def agent_presence(self, agent: str) -> str:
        return f"{self.prefix}agents/{agent}/presence"

    def agent_screenpop(self, agent: str) -> str:
        return f"{self.prefix}agents/{agent}/screenpop"

    def agent_wrapup(self, agent: str) -> str:
        return f"{self.prefix}agents/{agent}/wrapup"

    def agent_preview(self, agent: str) -> str:
        return f"{self.prefix}agents/{agent}/preview"

    def queue_stats(self, queue: str) -> str:
        return f"{self.prefix}queues/{queue}/stats"

    def campaign_stats(self, campaign: str) -> str:
        return f"{self.prefix}campaigns/{campaign}/stats"

    def replies(self, to: CommandTopic) -> str:
        return f"{self.prefix}{to.kind}/{to.id}/replies"

    # --- what it listens to -----------------------------------------------------------

    def commands(self, kind: str, id_: str) -> str:
        return f"{self.prefix}{kind}/{id_}/commands"

    def all_commands(self, kind: str) -> str:
        """The subscription for every command of one kind (`{prefix}agents/+/commands`)."""
        return f"{self.prefix}{kind}/+/commands"

    def command_topic(self, topic: str) -> CommandTopic | None:
        """Which agent, queue or campaign a command topic is for; None if it is not one."""
        if not topic.startswith(self.prefix):
            return None
        parts = topic[len(self.prefix):].split("/")
        if len(parts) != 3 or parts[0] not in COMMAND_KINDS or parts[2] != "commands" \
                or not parts[1]:
            return None
        return CommandTopic(parts[0], parts[1])

    def catalogue(self) -> dict[str, str]:
        """The topics with placeholders, for the published contract (`schema mqtt`)."""
        return {
            "engine_status": self.engine_status(),
            "call_events": self.call_events("{call_id}"),
            "agent_state": self.agent_state("{agent}"),
            "agent_presence": self.agent_presence("{agent}"),
            "agent_screenpop": self.agent_screenpop("{agent}"),
            "agent_wrapup": self.agent_wrapup("{agent}"),
            "agent_preview": self.agent_preview("{agent}"),
            "queue_stats": self.queue_stats("{queue}"),
            "campaign_stats": self.campaign_stats("{campaign}"),
            **{f"{kind}_commands": self.commands(kind, "{id}") for kind in COMMAND_KINDS},
            **{f"{kind}_replies": f"{self.prefix}{kind}/{{id}}/replies" for kind in COMMAND_KINDS},
        }
