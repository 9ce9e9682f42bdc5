"""MQTT (aiomqtt): the outbox published in order through broker outages, and agents'
commands received.

Rows are published oldest first with QoS 1 and marked only after the broker has
acknowledged them, so a broker outage or an engine restart delays messages but loses
none (a message may be delivered twice around a crash: consumers de-duplicate by
`call_id` + `seq`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any, Literal

import aiomqtt
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.settings import MqttSettings
from core.store import Journal, Store


class OutboxPublisher:
    def __init__(self, settings: MqttSettings, store: Store, journal: Journal, *,
                 poll: float = 1.0, backoff_max: float = 10.0) -> None:
        self.settings = settings
        self.store = store
        self.journal = journal
        self.poll = poll
        self.backoff_max = backoff_max
        self.published = 0
        self.connected = False
        #: state snapshots (queue stats): latest per topic, published retained, not stored
        self.live: dict[str, str] = {}
        self.log = structlog.get_logger("mqtt").bind(broker=settings.url)

    def publish_live(self, topic: str, payload: str) -> None:
        """A snapshot that only matters while it is the latest (a broker outage keeps the
        last one per topic; it goes out retained once the broker is back)."""
        self.live[topic] = payload
        self.journal.outbox_ready.set()

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with aiomqtt.Client(self.settings.host, self.settings.port,
                                          identifier=self.settings.client_id,
                                          timeout=5) as client:
                    self.connected = True
                    delay = 0.5
                    self.log.info("mqtt.connected")
                    await self._pump(client)
            except aiomqtt.MqttError as exc:
                if self.connected:
                    self.log.warning("mqtt.disconnected", error=str(exc))
                else:
                    self.log.warning("mqtt.connect_failed", error=str(exc), retry_in=delay)
            finally:
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(self.backoff_max, delay * 2)

    async def _pump(self, client: aiomqtt.Client) -> None:
        while True:
            while self.live:
                topic = next(iter(self.live))
                payload = self.live.pop(topic)
                try:
                    await client.publish(topic, payload, qos=0, retain=True)
                except aiomqtt.MqttError:
                    self.live.setdefault(topic, payload)  # unless a newer one came meanwhile
                    raise
            batch = await self.store.pending_outbox(200)
            if not batch:
                self.journal.outbox_ready.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.journal.outbox_ready.wait(), self.poll)
                continue
            done: list[int] = []
            try:
                for row_id, topic, payload in batch:
                    await client.publish(topic, payload, qos=1)
                    done.append(row_id)
            finally:
                if done:
                    await self.store.mark_published(done, time.time())
                    self.published += len(done)


class AgentCommand(BaseModel):
    """What an agent's desktop sends on `{prefix}agents/{agent_id}/commands` (version 1)."""

    model_config = ConfigDict(extra="forbid")
    v: Literal[1] = 1
    action: Literal["login", "logout", "pause", "ready", "end_wrapup", "extend_wrapup",
                    "pause_recording", "resume_recording", "start_recording", "stop_recording",
                    "listen", "whisper", "barge", "transfer", "disposition", "update_customer",
                    "escalate", "consult", "consult_complete", "consult_cancel", "conference"]
    reason: str | None = Field(None, max_length=32)
    agent: str | None = Field(None, max_length=32)  # whom a supervisor listens to
    target: str | None = Field(None, max_length=80)  # transfer: queue:NAME or agent:ID; consult
    keep_priority: bool = True
    code: str | None = Field(None, max_length=64)  # disposition
    notes: str | None = Field(None, max_length=100000)  # the queue's notes_max applies
    ticket: str | None = Field(None, max_length=32)
    follow_up_at: str | None = Field(None, max_length=40)  # ISO 8601 with a zone
    follow_up_to: str | None = Field(None, max_length=8)  # agent or queue
    fields: dict[str, Any] | None = None  # update_customer
    request: str | None = Field(None, max_length=64)  # echoed back in the reply


class QueueCommand(BaseModel):
    """A supervisor's command on `{prefix}queues/{queue}/commands` (version 1)."""

    model_config = ConfigDict(extra="forbid")
    v: Literal[1] = 1
    action: Literal["reprioritise"]
    call_id: str = Field(min_length=1, max_length=32)
    priority: int = Field(ge=0, le=100)
    request: str | None = Field(None, max_length=64)


CommandHandler = Callable[[str, AgentCommand], str | None]  # -> error, or None when done
QueueHandler = Callable[[str, QueueCommand], str | None]


class CommandListener:
    """Subscribes to agents' commands; every command gets a reply on
    `{prefix}agents/{agent_id}/replies`: ok, or the reason it was refused."""

    def __init__(self, settings: MqttSettings, handler: CommandHandler, *,
                 queue_handler: QueueHandler | None = None, backoff_max: float = 10.0) -> None:
        self.settings = settings
        self.handler = handler
        self.queue_handler = queue_handler
        self.backoff_max = backoff_max
        self.log = structlog.get_logger("mqtt.commands").bind(broker=settings.url)
        self.subscribed = False

    async def run(self) -> None:
        delay = 0.5
        prefix = self.settings.prefix
        while True:
            try:
                async with aiomqtt.Client(self.settings.host, self.settings.port,
                                          identifier=f"{self.settings.client_id}-commands",
                                          timeout=5) as client:
                    await client.subscribe(f"{prefix}agents/+/commands", qos=1)
                    if self.queue_handler is not None:
                        await client.subscribe(f"{prefix}queues/+/commands", qos=1)
                    self.subscribed = True
                    delay = 0.5
                    async for message in client.messages:
                        reply_to, body = self.handle(str(message.topic), message.payload)
                        if reply_to is not None:
                            await client.publish(reply_to, body, qos=1)
            except aiomqtt.MqttError as exc:
                self.log.warning("mqtt.commands_disconnected", error=str(exc), retry_in=delay)
            finally:
                self.subscribed = False
            await asyncio.sleep(delay)
            delay = min(self.backoff_max, delay * 2)

    def handle(self, topic: str, payload: Any) -> tuple[str | None, str]:
        prefix = self.settings.prefix
        parts = topic.removeprefix(prefix).split("/")
        if len(parts) != 3 or parts[0] not in ("agents", "queues") or parts[2] != "commands":
            return None, ""
        agent_id = parts[1]
        reply_to = f"{prefix}{parts[0]}/{agent_id}/replies"
        model: type[AgentCommand] | type[QueueCommand] = \
            AgentCommand if parts[0] == "agents" else QueueCommand
        request = None
        try:
            raw = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else str(payload)
            data = json.loads(raw)
            request = data.get("request") if isinstance(data, dict) else None
            command = model.model_validate(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.log.info("mqtt.command_malformed", agent=agent_id, error=f"not JSON: {exc}")
            return reply_to, self._reply(False, f"not JSON: {exc}", request)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "(message)"
            self.log.info("mqtt.command_malformed", agent=agent_id,
                          error=f"{field}: {first['msg']}")
            return reply_to, self._reply(False, f"{field}: {first['msg']}", request)
        try:
            if isinstance(command, QueueCommand):
                assert self.queue_handler is not None
                error = self.queue_handler(agent_id, command)
            else:
                error = self.handler(agent_id, command)
        except Exception as exc:  # a bug must not stop the listener
            self.log.exception("mqtt.command_failed", agent=agent_id)
            error = f"internal error: {type(exc).__name__}"
        if error and isinstance(command, QueueCommand):  # agents' refusals: the engine logs them
            self.log.info("mqtt.command_refused", queue=agent_id, action=command.action,
                          call_id=command.call_id, error=error)
        return reply_to, self._reply(error is None, error, command.request)

    @staticmethod
    def _reply(ok: bool, error: str | None, request: Any) -> str:
        return json.dumps({"v": 1, "ok": ok, "error": error, "request": request})
