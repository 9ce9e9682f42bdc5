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
from typing import Any

import aiomqtt
import structlog

from core.commands import SENDER, Commands
from core.payloads import Reply
from core.settings import MqttSettings
from core.store import Journal, Store
from core.topics import Topics


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


class CommandListener:
    """Subscribes to the command topics of each kind with registered commands (agents,
    queues, ...); every command gets a reply on `{prefix}{kind}/{id}/replies`: ok, or why
    it was refused."""

    def __init__(self, settings: MqttSettings, commands: Commands, topics: Topics, *,
                 kinds: tuple[str, ...] = ("agents", "queues"), backoff_max: float = 10.0) -> None:
        self.settings = settings
        self.commands = commands
        self.topics = topics
        self.kinds = kinds
        self.backoff_max = backoff_max
        self.log = structlog.get_logger("mqtt.commands").bind(broker=settings.url)
        self.subscribed = False

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with aiomqtt.Client(self.settings.host, self.settings.port,
                                          identifier=f"{self.settings.client_id}-commands",
                                          timeout=5) as client:
                    for kind in self.kinds:
                        await client.subscribe(self.topics.all_commands(kind), qos=1)
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
        """(where the reply goes, the reply) for one message; (None, "") when it is not a
        command topic of ours."""
        to = self.topics.command_topic(topic)
        if to is None or to.kind not in self.kinds:
            return None, ""
        reply_to = self.topics.replies(to)
        try:
            raw = payload.decode("utf-8") if isinstance(payload, bytes | bytearray) else str(payload)
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self.log.info("command.malformed", **{SENDER[to.kind]: to.id},
                          error=f"not JSON: {exc}")
            return reply_to, Reply(ok=False, error=f"not JSON: {exc}").encode()
        return reply_to, self.commands.run(to.kind, to.id, data).encode()
