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
import secrets
import ssl
import time
from typing import Any

import aiomqtt
import structlog

from core.commands import Commands
from core.payloads import EngineStatus, Reply
from core.settings import MqttSettings
from core.store import Journal, Store
from core.topics import CommandTopic, Topics

#: a command is a small JSON object: anything larger is refused before it is parsed
MAX_COMMAND_BYTES = 16 * 1024
MAX_DEPTH = 4  # {"action": ..., "fields": {"x": [...]}} at most
MAX_ITEMS = 64  # keys and list items in one command, all levels together


def connect(settings: MqttSettings, role: str, *,
            will: aiomqtt.Will | None = None) -> aiomqtt.Client:
    """A client for the engine's `role` (outbox, commands): its own id each time (a
    stable prefix, the role and a random suffix: nobody can take it over by reusing it),
    the broker's user and password, TLS for mqtts://."""
    context = None
    if settings.tls:
        context = ssl.create_default_context(cafile=settings.ca_file)
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file)
    return aiomqtt.Client(settings.host, settings.port,
                          identifier=f"{settings.client_id}-{role}-{secrets.token_hex(4)}",
                          username=settings.user, password=settings.secret(),
                          tls_context=context, will=will, timeout=5)


def _shape(data: Any) -> str | None:
    """Why a decoded body is too big or too deep to be a command, or None."""
    items = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested too deeply (at most {MAX_DEPTH} levels)"
        children = value.values() if isinstance(value, dict) else value \
            if isinstance(value, list) else ()
        for child in children:
            items += 1
            if items > MAX_ITEMS:
                return f"too many fields (at most {MAX_ITEMS})"
            stack.append((child, depth + 1))
    return None


class OutboxPublisher:
    """Publishes the outbox in order, the latest snapshots retained, and the engine's own
    status: online when connected, offline (retained, by the broker's last will) when the
    link dies, offline with every snapshot cleared on a clean stop. At the first connect
    the snapshots an earlier run left retained are cleared before fresh ones go out."""

    def __init__(self, settings: MqttSettings, store: Store, journal: Journal, *,
                 poll: float = 1.0, backoff_max: float = 10.0, topics: Topics | None = None,
                 version: str = "", started_at: float = 0.0) -> None:
        self.settings = settings
        self.store = store
        self.journal = journal
        self.poll = poll
        self.backoff_max = backoff_max
        self.published = 0
        self.connected = False
        #: state snapshots (queue stats): latest per topic, published retained, not stored
        self.live: dict[str, str] = {}
        self.topics = topics
        self.version = version
        self.started_at = started_at
        #: every snapshot topic published retained (cleared at a clean stop)
        self.retained: set[str] = set()
        self._cleared = False  # an earlier run's snapshots, at the first connect
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self.log = structlog.get_logger("mqtt").bind(broker=settings.safe_url)

    def publish_live(self, topic: str, payload: str) -> None:
        """A snapshot that only matters while it is the latest (a broker outage keeps the
        last one per topic; it goes out retained once the broker is back)."""
        self.live[topic] = payload
        self.journal.outbox_ready.set()

    async def run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with connect(self.settings, "outbox", will=self._will()) as client:
                    self.connected = True
                    delay = 0.5
                    self.log.info("mqtt.connected")
                    await self._status(client, "online")
                    if not self._cleared:
                        await self._clear_stale(client)
                    await self._pump(client)
                    if self._stopping.is_set():
                        await self._farewell(client)
                        return
            except aiomqtt.MqttError as exc:
                if self.connected:
                    self.log.warning("mqtt.disconnected", error=str(exc))
                else:
                    self.log.warning("mqtt.connect_failed", error=str(exc), retry_in=delay)
            finally:
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(self.backoff_max, delay * 2)

    def _will(self) -> aiomqtt.Will | None:
        if self.topics is None:
            return None
        return aiomqtt.Will(self.topics.engine_status(), self._status_payload(
            "offline", "connection lost"), qos=1, retain=True)

    def _status_payload(self, status: str, reason: str = "") -> str:
        return EngineStatus(status=status, version=self.version, started_at=self.started_at,
                            at=time.time(), reason=reason).encode()  # type: ignore[arg-type]

    async def _status(self, client: aiomqtt.Client, status: str, reason: str = "") -> None:
        if self.topics is not None:
            await client.publish(self.topics.engine_status(), self._status_payload(status, reason),
                                 qos=1, retain=True)

    async def _clear_stale(self, client: aiomqtt.Client, listen: float = 0.5) -> None:
        """Snapshots left retained by an earlier run: cleared (the fresh ones follow)."""
        if self.topics is None:
            self._cleared = True
            return
        stale: set[str] = set()
        for wildcard in self.topics.snapshots():
            await client.subscribe(wildcard, qos=0)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(listen):
                async for message in client.messages:
                    if message.retain and message.payload:
                        stale.add(str(message.topic))
        for wildcard in self.topics.snapshots():
            await client.unsubscribe(wildcard)
        for topic in stale - set(self.live):
            await client.publish(topic, b"", qos=1, retain=True)
        self._cleared = True
        if stale:
            self.log.info("mqtt.stale_cleared", count=len(stale - set(self.live)))

    async def _farewell(self, client: aiomqtt.Client) -> None:
        """A clean stop: every snapshot cleared, the engine said offline."""
        for topic in sorted(self.retained):
            await client.publish(topic, b"", qos=1, retain=True)
        await self._status(client, "offline", "stopped")
        self.log.info("mqtt.offline", snapshots_cleared=len(self.retained))
        self._stopped.set()

    async def close(self, timeout: float = 3.0) -> None:
        """Say offline and clear the snapshots (if connected), then stop."""
        self._stopping.set()
        self.journal.outbox_ready.set()
        if self.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout)

    async def _pump(self, client: aiomqtt.Client) -> None:
        while not self._stopping.is_set() or self.live:
            while self.live:
                topic = next(iter(self.live))
                payload = self.live.pop(topic)
                try:
                    await client.publish(topic, payload, qos=0, retain=True)
                    self.retained.add(topic)
                except aiomqtt.MqttError:
                    self.live.setdefault(topic, payload)  # unless a newer one came meanwhile
                    raise
            batch = await self.store.pending_outbox(200)
            if not batch:
                if self._stopping.is_set():
                    return
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
        self.log = structlog.get_logger("mqtt.commands").bind(broker=settings.safe_url)
        self.subscribed = False

    async def run(self) -> None:
        """Listens until cancelled. A broker outage reconnects; anything else that goes
        wrong is logged as an error and the listener starts again: no message can end it."""
        delay = 0.5
        while True:
            try:
                async with connect(self.settings, "commands") as client:
                    for kind in self.kinds:
                        await client.subscribe(self.topics.all_commands(kind), qos=1)
                    self.subscribed = True
                    delay = 0.5
                    async for message in client.messages:
                        try:
                            reply_to, body = self.handle(str(message.topic), message.payload)
                        except Exception:  # handle() answers everything; this is a bug
                            self.log.exception("command.unhandled", topic=str(message.topic)[:200])
                            to = self.topics.command_topic(str(message.topic))
                            reply_to = self.topics.replies(to) if to is not None else None
                            body = Reply(ok=False, error="internal error").encode()
                        if reply_to is not None:
                            await client.publish(reply_to, body, qos=1)
            except aiomqtt.MqttError as exc:
                self.log.warning("mqtt.commands_disconnected", error=str(exc), retry_in=delay)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.log.exception("mqtt.commands_failed", retry_in=delay)
            finally:
                self.subscribed = False
            await asyncio.sleep(delay)
            delay = min(self.backoff_max, delay * 2)

    def handle(self, topic: str, payload: Any) -> tuple[str | None, str]:
        """(where the reply goes, the reply) for one message; (None, "") when it is not a
        command topic of ours. Every message of ours gets an answer."""
        to = self.topics.command_topic(topic)
        if to is None or to.kind not in self.kinds:
            return None, ""
        reply_to = self.topics.replies(to)
        raw = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload).encode()
        if len(raw) > MAX_COMMAND_BYTES:
            return reply_to, self._refuse(to, f"too large: {len(raw)} bytes (at most "
                                              f"{MAX_COMMAND_BYTES})")
        try:
            data = json.loads(raw.decode("utf-8"))
        except RecursionError:
            return reply_to, self._refuse(to, f"nested too deeply (at most {MAX_DEPTH} levels)")
        except ValueError as exc:  # not UTF-8, not JSON, or a number too long to read
            return reply_to, self._refuse(to, f"not JSON: {str(exc)[:120]}")
        problem = _shape(data)
        if problem is not None:
            return reply_to, self._refuse(to, problem)
        try:
            return reply_to, self.commands.run(to.kind, to.id, data).encode()
        except Exception:
            self.log.exception("command.failed", topic=topic[:200])
            return reply_to, Reply(ok=False, error="internal error").encode()

    def _refuse(self, to: CommandTopic, error: str) -> str:
        self.commands.refusal("command.malformed", to.kind, to.id, error=error)
        return Reply(ok=False, error=error).encode()
