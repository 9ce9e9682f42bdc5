"""The AMI client: the one place that holds a connection to Asterisk.

Built around panoramisk's protocol class for the transport, with the parts the
developers' guide warns about replaced: our own bounded, UTF-8-safe framing, per-action
timeouts, our own error types, no fire-and-forget callbacks (event handlers run inline
and their errors are logged), and a reconnect loop that never re-sends an action that
may already have run. After every (re)connect, `on_ready` (the engine's resync) runs
before any other action is let through.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog
from panoramisk.ami_protocol import AMIProtocol

from asterisk.actions import Action
from asterisk.errors import (
    AgiChannelGone,
    AgiError,
    AmiActionError,
    AmiConnectError,
    AmiDisconnected,
    AmiError,
    AmiLoginError,
    AmiProtocolError,
    AmiTimeout,
)
from asterisk.events import (
    AmiEvent,
    AsyncAGIEnd,
    AsyncAGIExec,
    Hangup,
    OriginateResponse,
    decode_event,
)
from asterisk.wire import AgiResult, FrameReader, HeaderValue, Message, format_action, parse_message

EventHandler = Callable[[AmiEvent], None]


def _unpack(action: str | Action, headers: Mapping[str, HeaderValue] | None
            ) -> tuple[str, Mapping[str, HeaderValue] | None]:
    if isinstance(action, Action):
        return action.name, action.headers
    return action, headers


#: headers never logged in clear
SECRET_HEADERS = frozenset({"secret", "key", "password"})


@dataclass(frozen=True, slots=True)
class AmiUrl:
    host: str
    port: int
    username: str
    secret: str

    @classmethod
    def parse(cls, url: str) -> AmiUrl:
        """`ami://user:secret@host:5038`; the port defaults to 5038."""
        parts = urlsplit(url)
        if parts.scheme != "ami":
            raise ValueError(f"AMI URL must start with ami://, got {url.split(':', 1)[0]!r}")
        if not parts.hostname or not parts.username:
            raise ValueError("AMI URL needs a user and a host: ami://user:secret@host:5038")
        try:
            port = parts.port or 5038
        except ValueError as exc:
            raise ValueError(f"AMI URL has an invalid port: {exc}") from None
        return cls(parts.hostname, port, unquote(parts.username), unquote(parts.password or ""))

    def __str__(self) -> str:  # never print the secret
        return f"ami://{self.username}@{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ListResult:
    """A list action's answer (`EventList: start` ... `...Complete`) as one value."""

    response: Message
    items: list[Message]
    complete: Message


class _Pending:
    __slots__ = ("action", "future", "items", "listing")

    def __init__(self, action: str, future: asyncio.Future[Any]) -> None:
        self.action = action
        self.future = future
        self.listing: Message | None = None
        self.items: list[Message] = []


class _Protocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's transport shell; parsing and dispatch are ours."""

    def __init__(self, on_frame: Callable[[bytes], None],
                 on_lost: Callable[[_Protocol, Exception | None], None], log: Any,
                 max_frame: int, on_bytes: Callable[[int], None] | None) -> None:
        self.on_frame = on_frame
        self.on_lost = on_lost
        self.log = log
        self.on_bytes = on_bytes
        self.reader = FrameReader(max_frame=max_frame)
        self.banner: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.factory = None

    def data_received(self, data: bytes) -> None:
        if self.on_bytes is not None:
            self.on_bytes(len(data))
        try:
            frames = self.reader.feed(data)
        except AmiProtocolError as exc:
            if not self.banner.done():
                self.banner.set_exception(exc)
            self.transport.abort()
            return
        if not self.banner.done() and self.reader.banner is not None:
            self.banner.set_result(self.reader.banner)
        on_frame = self.on_frame
        for frame in frames:
            try:
                on_frame(frame)
            except Exception:  # one bad frame must not cost the ones after it
                self.log.exception("ami.frame_failed", size=len(frame), head=frame[:60])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.banner.done():
            self.banner.set_exception(AmiConnectError("connection closed before the AMI banner"))
        self.on_lost(self, exc)


class AmiClient:
    def __init__(
        self,
        url: AmiUrl,
        *,
        on_event: EventHandler | None = None,
        on_ready: Callable[[AmiClient], Awaitable[None]] | None = None,
        action_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        ping_interval: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        max_frame: int = 256 * 1024,
        events: bool = True,
        on_bytes: Callable[[int], None] | None = None,
    ) -> None:
        self.url = url
        self.on_event = on_event
        self.on_ready = on_ready
        self.action_timeout = action_timeout
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.max_frame = max_frame
        self.events = events
        self.on_bytes = on_bytes  # told the size of every read from the socket (benchmarks)
        self.log = structlog.get_logger("ami").bind(ami=str(url))
        #: LOG_LEVEL=debug: every action sent (AGI commands included) is logged, secrets masked
        self.debug = False
        self._ids = itertools.count(1)
        self._prefix = f"c{random.randrange(16**6):06x}"
        self._proto: _Protocol | None = None
        self._pending: dict[str, _Pending] = {}
        self._originates: dict[str, asyncio.Future[OriginateResponse]] = {}
        self._agi: dict[str, tuple[str, asyncio.Future[AgiResult]]] = {}
        self._agi_by_channel: dict[str, set[str]] = {}
        self._ready = asyncio.Event()
        self._closing = False
        self._lost: asyncio.Future[None] | None = None
        self.connections = 0

    # --- connection -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._proto is not None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def in_flight(self) -> int:
        """Actions waiting for a response, AGI commands and Originates for their outcome."""
        return len(self._pending) + len(self._agi) + len(self._originates)

    @property
    def oversized_frames(self) -> int:
        """Frames over `max_frame` dropped on the current connection."""
        return self._proto.reader.oversized if self._proto is not None else 0

    async def connect(self, *, ready: bool = False) -> None:
        """One connection attempt: TCP, banner, Login. Raises a clear AmiError.

        `ready`: the link is used at once, without `run`'s resync (tools, tests)."""
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Protocol(self._on_frame, self._on_lost, self.log, self.max_frame,
                                      self.on_bytes),
                    self.url.host, self.url.port
                ),
                self.connect_timeout,
            )
        except (OSError, TimeoutError) as exc:
            raise AmiConnectError(
                "cannot reach Asterisk", host=self.url.host, port=self.url.port, error=str(exc)
            ) from exc
        try:
            banner = await asyncio.wait_for(proto.banner, self.connect_timeout)
        except TimeoutError as exc:
            proto.transport.abort()
            raise AmiProtocolError("no AMI banner", host=self.url.host, port=self.url.port) from exc
        except AmiError:
            proto.transport.abort()
            raise
        self._proto = proto
        self._lost = loop.create_future()
        try:
            await self._send(
                "Login",
                {
                    "Username": self.url.username,
                    "Secret": self.url.secret,
                    "Events": "on" if self.events else "off",
                },
                timeout=self.connect_timeout,
            )
        except AmiActionError as exc:
            self._drop()
            raise AmiLoginError(
                "Asterisk refused the login",
                user=self.url.username,
                host=self.url.host,
                port=self.url.port,
                message=exc.context.get("message", ""),
            ) from None
        except AmiError:
            self._drop()
            raise
        self.connections += 1
        self.log.info("ami.connected", banner=banner, connection=self.connections)
        if ready:
            self._ready.set()

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Stay connected until `close()`: reconnect with backoff, resync, ping."""
        delay = self.backoff_initial
        while not self._closing and not (stop and stop.is_set()):
            try:
                await self.connect()
            except AmiError as exc:
                self.log.warning("ami.connect_failed", error=str(exc), retry_in=round(delay, 2))
                await self._sleep(delay, stop)
                delay = min(self.backoff_max, delay * 2) * random.uniform(0.8, 1.2)
                continue
            delay = self.backoff_initial
            lost = self._lost
            assert lost is not None
            try:
                if self.on_ready is not None:
                    try:
                        await self.on_ready(self)
                    except AmiError:
                        raise
                    except Exception:
                        # A resync bug must not leave the engine deaf: log it and go on.
                        self.log.exception("ami.resync_failed")
                self._ready.set()
                await self._serve(lost, stop)
            except AmiError as exc:
                self.log.warning("ami.session_failed", error=str(exc))
                self._drop()
            finally:
                self._ready.clear()
            if not self._closing:
                self.log.warning("ami.disconnected", retry_in=round(delay, 2))
                await self._sleep(delay, stop)
        self._drop()

    async def _serve(self, lost: asyncio.Future[None], stop: asyncio.Event | None) -> None:
        waiters: set[asyncio.Future[Any]] = {lost}
        stopper = asyncio.ensure_future(stop.wait()) if stop else None
        if stopper:
            waiters.add(stopper)
        try:
            while not lost.done() and not (stopper and stopper.done()):
                await asyncio.wait(waiters, timeout=self.ping_interval, return_when="FIRST_COMPLETED")
                if lost.done() or (stopper and stopper.done()):
                    break
                try:
                    await self._send("Ping", timeout=min(self.action_timeout, self.ping_interval))
                except (AmiTimeout, AmiDisconnected) as exc:
                    self.log.warning("ami.ping_failed", error=str(exc))
                    self._drop()
                    break
        finally:
            if stopper:
                stopper.cancel()

    async def _sleep(self, delay: float, stop: asyncio.Event | None) -> None:
        if stop is None:
            await asyncio.sleep(delay)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    async def wait_ready(self, timeout: float | None = None) -> None:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise AmiConnectError("not connected to Asterisk", url=str(self.url)) from None

    async def close(self) -> None:
        self._closing = True
        if self._proto is not None:
            with contextlib.suppress(AmiError):
                await self._send("Logoff", timeout=1.0)
        self._drop()

    def _drop(self) -> None:
        proto, self._proto = self._proto, None
        if proto is not None:
            proto.transport.abort()
            self._on_lost(proto, None)

    # --- actions --------------------------------------------------------------------

    async def send(
        self,
        action: str | Action,
        headers: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> Message:
        """Send an action and return its response; list actions return the Complete event
        (use `send_list` for the items). Waits for the link (and its resync) first."""
        action, headers = _unpack(action, headers)
        await self._wait_link(timeout)
        result = await self._send(action, headers, timeout=timeout)
        return result.complete if isinstance(result, ListResult) else result

    async def send_list(
        self,
        action: str | Action,
        headers: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> ListResult:
        await self._wait_link(timeout)
        return await self.send_list_now(action, headers, timeout=timeout)

    async def send_now(
        self,
        action: str | Action,
        headers: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> Message:
        """An action on the live link without waiting for readiness (used by resync)."""
        action, headers = _unpack(action, headers)
        result = await self._send(action, headers, timeout=timeout)
        return result.complete if isinstance(result, ListResult) else result

    async def send_list_now(
        self,
        action: str | Action,
        headers: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
    ) -> ListResult:
        """A list action on the live link without waiting for readiness (used by resync)."""
        action, headers = _unpack(action, headers)
        result = await self._send(action, headers, timeout=timeout)
        if not isinstance(result, ListResult):
            return ListResult(result, [], result)
        return result

    async def _wait_link(self, timeout: float | None) -> None:
        if self._ready.is_set():
            return
        try:
            await asyncio.wait_for(self._ready.wait(), timeout or self.action_timeout)
        except TimeoutError:
            raise AmiDisconnected("not connected to Asterisk", maybe_ran=False) from None

    async def _send(
        self,
        action: str,
        headers: Mapping[str, HeaderValue] | None = None,
        *,
        timeout: float | None = None,
        action_id: str | None = None,
    ) -> Any:
        proto = self._proto
        if proto is None:
            raise AmiDisconnected("not connected to Asterisk", maybe_ran=False, action=action)
        action_id = action_id or f"{self._prefix}-{next(self._ids)}"
        fields: dict[str, HeaderValue] = dict(headers or {})
        fields["ActionID"] = action_id
        data = format_action(action, fields)
        if self.debug:
            self.log.debug("ami.action", action=action, **{
                k: "***" if k.lower() in SECRET_HEADERS else v for k, v in fields.items()})
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(action, future)
        proto.transport.write(data)
        try:
            return await asyncio.wait_for(future, timeout or self.action_timeout)
        except TimeoutError:
            raise AmiTimeout(
                "no response from Asterisk", action=action, action_id=action_id
            ) from None
        finally:
            self._pending.pop(action_id, None)

    async def originate(
        self,
        action: Action | Mapping[str, HeaderValue],
        *,
        timeout: float | None = None,
    ) -> asyncio.Future[OriginateResponse]:
        """Queue an asynchronous Originate; returns a future for its OriginateResponse.

        If the link drops before the outcome is known, the future fails with
        AmiDisconnected(maybe_ran=True): the caller must check the channel it named with
        `ChannelId` after resync instead of originating again.
        """
        await self._wait_link(timeout)
        fields = dict(action.headers if isinstance(action, Action) else action)
        fields["Async"] = "true"
        action_id = f"{self._prefix}-{next(self._ids)}"
        outcome: asyncio.Future[OriginateResponse] = asyncio.get_running_loop().create_future()
        # Whoever asked may be gone (a task cancelled at shutdown) when a lost link fails it.
        outcome.add_done_callback(lambda f: None if f.cancelled() else f.exception())
        self._originates[action_id] = outcome
        try:
            await self._send("Originate", fields, timeout=timeout, action_id=action_id)
        except AmiTimeout:
            # Asterisk may still run it: keep the outcome future alive.
            raise
        except AmiError:
            self._originates.pop(action_id, None)
            raise
        return outcome

    async def agi(self, channel: str, command: str, *, timeout: float = 300.0) -> AgiResult:
        """Run one AGI command on a channel parked in AGI(agi:async) and await its result."""
        if "\n" in command or "\r" in command:
            raise AgiError("AGI command contains a line break", channel=channel)
        await self._wait_link(timeout)
        command_id = f"{self._prefix}-agi-{next(self._ids)}"
        future: asyncio.Future[AgiResult] = asyncio.get_running_loop().create_future()
        self._agi[command_id] = (channel, future)
        self._agi_by_channel.setdefault(channel, set()).add(command_id)
        try:
            try:
                await self._send(
                    "AGI", {"Channel": channel, "Command": command, "CommandID": command_id},
                    timeout=min(timeout, self.action_timeout),
                )
            except AmiActionError as exc:
                msg = str(exc.context.get("message", ""))
                if "does not exist" in msg or "not in AGI" in msg.lower():
                    raise AgiChannelGone(msg, channel=channel, command=command) from None
                raise AgiError(msg, channel=channel, command=command) from None
            try:
                result = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise AmiTimeout(
                    "AGI command did not complete", channel=channel, command=command
                ) from None
        finally:
            self._agi.pop(command_id, None)
            ids = self._agi_by_channel.get(channel)
            if ids is not None:
                ids.discard(command_id)
                if not ids:
                    del self._agi_by_channel[channel]
        if not result.ok:
            raise AgiError(
                "AGI command failed", channel=channel, command=command,
                code=result.code, message=result.message,
            )
        return result

    # --- incoming -------------------------------------------------------------------

    def _on_frame(self, frame: bytes) -> None:
        msg = parse_message(frame)
        index = msg.index
        if "event" in index:
            action_id = index.get("actionid")
            if action_id is not None:
                pending = self._pending.get(action_id)
                if pending is not None and pending.listing is not None:
                    if index.get("eventlist", "").lower() == "complete":
                        pending.future.set_result(ListResult(pending.listing, pending.items, msg))
                    else:
                        pending.items.append(msg)
                    return
            self._on_event(msg)
        elif "response" in index:
            self._on_response(msg)
        else:
            self.log.warning("ami.unparseable_frame", size=len(frame), head=frame[:60])

    def _on_response(self, msg: Message) -> None:
        action_id = msg.action_id
        if not action_id:
            self.log.warning("ami.response_without_actionid", response=msg.response,
                             message=msg.get("Message"))
            return
        pending = self._pending.get(action_id)
        if pending is None or pending.future.done():
            self.log.warning("ami.unexpected_response", action_id=action_id,
                             response=msg.response, message=msg.get("Message"))
            return
        if msg.response in ("Success", "Goodbye", "Follows"):
            if msg.get("EventList").lower() == "start":
                pending.listing = msg
            else:
                pending.future.set_result(msg)
        else:
            pending.future.set_exception(
                AmiActionError(
                    f"Asterisk answered {msg.response or 'nothing'} to {pending.action}",
                    response=msg, action=pending.action, message=msg.get("Message"),
                )
            )

    def _on_event(self, msg: Message) -> None:
        event = decode_event(msg)
        kind = type(event)
        if kind is AsyncAGIExec:
            assert isinstance(event, AsyncAGIExec)
            entry = self._agi.get(event.command_id)
            if entry is not None and not entry[1].done():
                entry[1].set_result(event.result)
        elif kind is AsyncAGIEnd or kind is Hangup:
            assert isinstance(event, AsyncAGIEnd | Hangup)
            self._fail_agi(event.channel, kind.__name__)
        elif kind is OriginateResponse:
            assert isinstance(event, OriginateResponse)
            outcome = self._originates.pop(event.action_id, None)
            if outcome is not None and not outcome.done():
                outcome.set_result(event)
        handler = self.on_event
        if handler is not None:
            try:
                handler(event)
            except Exception:
                self.log.exception("ami.event_handler_failed", ami_event=msg.event,
                                   channel=msg.get("Channel"))

    def _fail_agi(self, channel: str, why: str) -> None:
        ids = self._agi_by_channel.pop(channel, None)
        if not ids:
            return
        for command_id in ids:
            entry = self._agi.get(command_id)
            if entry is not None and not entry[1].done():
                entry[1].set_exception(
                    AgiChannelGone("channel left AsyncAGI", channel=channel, event=why)
                )

    def _on_lost(self, proto: _Protocol, exc: Exception | None) -> None:
        if self._proto is proto:
            self._proto = None
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._ready.clear()
        for action_id, pending in list(self._pending.items()):
            if not pending.future.done():
                pending.future.set_exception(
                    AmiDisconnected("link lost before the response", maybe_ran=True,
                                    action=pending.action, action_id=action_id)
                )
        self._pending.clear()
        for action_id, outcome in self._originates.items():
            if not outcome.done():
                outcome.set_exception(
                    AmiDisconnected("link lost before OriginateResponse", maybe_ran=True,
                                    action_id=action_id)
                )
        self._originates.clear()
        for _, future in self._agi.values():
            if not future.done():
                future.set_exception(AmiDisconnected("link lost during AGI", maybe_ran=True))
        self._agi_by_channel.clear()
