"""Publishes the outbox to MQTT (aiomqtt), in order, surviving broker outages.

Rows are published oldest first with QoS 1 and marked only after the broker has
acknowledged them, so a broker outage or an engine restart delays messages but loses
none (a message may be delivered twice around a crash: consumers de-duplicate by
`call_id` + `seq`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiomqtt
import structlog

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
        self.log = structlog.get_logger("mqtt").bind(broker=settings.url)

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
