"""The simulated PBX's AMI server: sessions, login, and the actions the engine uses.

Responses copy Asterisk 20.20.1's wording from ../shared/ami-transcripts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from asterisk.wire import FrameReader, Message, format_message, parse_message
from sim.dialplan import separate_args
from sim.pbx import Channel, OriginateRequest, Pbx

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
Pairs = list[tuple[str, str]]


class _Session(asyncio.Protocol):
    def __init__(self, server: AmiServer) -> None:
        self.server = server
        self.reader = FrameReader(expect_banner=False)
        self.transport: asyncio.Transport | None = None
        self.user: str | None = None
        self.events = False
        self.closed = False
        self.peer = ("", 0)
        # Asterisk serves one session's actions one after another (a thread per session).
        self.actions: asyncio.Queue[Message] = asyncio.Queue()
        self.worker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername") or ("", 0)
        self.server.sessions.add(self)
        transport.write(BANNER)
        self.worker = self.server.pbx.spawn(self._work())

    async def _work(self) -> None:
        while not self.closed:
            action = await self.actions.get()
            await self.server.handle(self, action)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.worker is not None:
            self.worker.cancel()
        self.server.sessions.discard(self)
        if self.on_event in self.server.pbx.listeners:
            self.server.pbx.listeners.remove(self.on_event)

    def data_received(self, data: bytes) -> None:
        for frame in self.reader.feed(data):
            self.actions.put_nowait(parse_message(frame))

    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def on_event(self, data: bytes) -> None:
        self.write(data)

    def respond(self, action: Message, pairs: Pairs) -> None:
        head, rest = pairs[0], pairs[1:]
        aid = [("ActionID", action.action_id)] if "actionid" in action.index else []
        self.write(format_message([head, *aid, *rest]))

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()


Handler = Callable[[_Session, Message], Awaitable[None]]


class AmiServer:
    def __init__(self, pbx: Pbx, users: dict[str, str], host: str = "127.0.0.1", port: int = 0) -> None:
        self.pbx = pbx
        self.users = users
        self.host = host
        self.port = port
        self.sessions: set[_Session] = set()
        self._server: asyncio.Server | None = None
        self.started = time.time()
        self.received: list[Message] = []  # every action, for tests to assert on
        self._handlers: dict[str, Handler] = {
            "login": self._login, "logoff": self._logoff, "ping": self._ping,
            "events": self._events, "corestatus": self._core_status,
            "coreshowchannels": self._core_show_channels, "status": self._status,
            "originate": self._originate, "agi": self._agi, "bridge": self._bridge,
            "hangup": self._hangup, "redirect": self._redirect, "playdtmf": self._play_dtmf,
            "mixmonitor": self._mixmonitor, "mixmonitormute": self._mixmonitor_mute,
            "stopmixmonitor": self._stop_mixmonitor, "blindtransfer": self._blind_transfer,
            "getvar": self._getvar, "setvar": self._setvar,
        }

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Session(self), self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        for session in list(self.sessions):
            session.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def drop_connections(self) -> None:
        """Cut every AMI session (an Asterisk restart or network fault, for tests)."""
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.abort()

    async def handle(self, session: _Session, action: Message) -> None:
        self.received.append(action)
        name = action.get("Action")
        if not name:
            session.respond(action, [("Response", "Error"), ("Message", "Missing action in request")])
            return
        low = name.lower()
        if session.user is None and low not in ("login", "logoff", "ping"):
            session.respond(action, [("Response", "Error"), ("Message", "Authentication Required")])
            return
        handler = self._handlers.get(low)
        if handler is None:
            session.respond(action, [
                ("Response", "Error"),
                ("Message", f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."),
            ])
            self._security(session, "RequestBadFormat", "Error", [("RequestType", f"Action: {name}")])
            return
        await handler(session, action)

    def _security(self, session: _Session, event: str, severity: str, extra: Pairs) -> None:
        tv = time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime())
        local = f"IPV4/TCP/{self.host}/{self.port}"
        remote = f"IPV4/TCP/{session.peer[0]}/{session.peer[1]}"
        pairs = [("Event", event), ("Privilege", "security,all"), ("EventTV", tv),
                 ("Severity", severity), ("Service", "AMI"), ("EventVersion", "1")]
        if event == "SuccessfulAuth":
            pairs += [("AccountID", session.user or ""), ("SessionID", f"0x{id(session):x}"),
                      ("LocalAddress", local), ("RemoteAddress", remote), ("UsingPassword", "0"),
                      ("SessionTV", tv)]
        else:
            pairs += [("SessionID", f"0x{id(session):x}"), ("LocalAddress", local),
                      ("RemoteAddress", remote), *extra, ("SessionTV", tv),
                      ("AccountID", session.user or "")]
        if session.events:
            session.write(format_message(pairs))

    def _channel(self, name: str) -> Channel | None:
        return self.pbx.find(name)

    def _need_channel(self, s: _Session, a: Message) -> Channel | None:
        """The action's Channel, or None after answering Asterisk's "No such channel"."""
        ch = self.pbx.find(a.get("Channel"))
        if ch is None:
            s.respond(a, [("Response", "Error"), ("Message", "No such channel")])
        return ch

    # --- actions --------------------------------------------------------------------

    async def _login(self, s: _Session, a: Message) -> None:
        user, secret = a.get("Username"), a.get("Secret")
        if user not in self.users or self.users[user] != secret:
            await self.pbx.clock.sleep(1.0)  # Asterisk delays a failed login by a second
            s.respond(a, [("Response", "Error"), ("Message", "Authentication failed")])
            await asyncio.sleep(0)
            s.close()
            return
        s.user = user
        s.events = a.get("Events", "on").lower() not in ("off", "no", "false")
        s.respond(a, [("Response", "Success"), ("Message", "Authentication accepted")])
        if s.events:
            uptime = str(int(self.pbx.clock.now() - self.pbx.started))
            s.write(format_message([("Event", "FullyBooted"), ("Privilege", "system,all"),
                                    ("Uptime", uptime), ("LastReload", uptime),
                                    ("Status", "Fully Booted")]))
            self._security(s, "SuccessfulAuth", "Informational", [])
            self.pbx.listeners.append(s.on_event)

    async def _logoff(self, s: _Session, a: Message) -> None:
        s.respond(a, [("Response", "Goodbye"), ("Message", "Thanks for all the fish.")])
        s.close()

    async def _ping(self, s: _Session, a: Message) -> None:
        s.respond(a, [("Response", "Success"), ("Ping", "Pong"),
                      ("Timestamp", f"{self.pbx.clock.now():.6f}")])

    async def _events(self, s: _Session, a: Message) -> None:
        on = a.get("EventMask", "on").lower() not in ("off", "none")
        if on and not s.events:
            self.pbx.listeners.append(s.on_event)
        elif not on and s.on_event in self.pbx.listeners:
            self.pbx.listeners.remove(s.on_event)
        s.events = on
        s.respond(a, [("Response", "Success"), ("Events", "On" if on else "Off")])

    async def _core_status(self, s: _Session, a: Message) -> None:
        t = time.localtime(self.started)
        s.respond(a, [
            ("Response", "Success"),
            ("CoreStartupDate", time.strftime("%Y-%m-%d", t)),
            ("CoreStartupTime", time.strftime("%H:%M:%S", t)),
            ("CoreReloadDate", time.strftime("%Y-%m-%d", t)),
            ("CoreReloadTime", time.strftime("%H:%M:%S", t)),
            ("CoreCurrentCalls", str(len(self.pbx.channels))),
            ("CoreProcessedCalls", str(self.pbx.processed_calls)),
        ])

    def _list(self, s: _Session, a: Message, message: str, items: list[Pairs], complete: str,
              extra: Pairs | None = None, *, id_last: bool = False) -> None:
        s.respond(a, [("Response", "Success"), ("EventList", "start"), ("Message", message)])
        aid = [("ActionID", a.action_id)] if a.action_id else []
        for item in items:
            # CoreShowChannel puts ActionID after Event; Status puts it last (and neither
            # carries a Timestamp: list items are not events to every session).
            s.write(format_message([*item, *aid] if id_last else [item[0], *aid, *item[1:]]))
        s.write(format_message([("Event", complete), *aid, ("EventList", "Complete"),
                                ("ListItems", str(len(items))), *(extra or [])]))

    async def _core_show_channels(self, s: _Session, a: Message) -> None:
        now = self.pbx.clock.now()
        items = []
        for ch in list(self.pbx.channels.values()):
            secs = int(now - ch.created)
            items.append([("Event", "CoreShowChannel"), *ch.snapshot(),
                          ("Application", ch.app), ("ApplicationData", ch.app_data),
                          ("Duration", f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"),
                          ("BridgeId", ch.bridge.id if ch.bridge else "")])
        self._list(s, a, "Channels will follow", items, "CoreShowChannelsComplete")

    async def _status(self, s: _Session, a: Message) -> None:
        wanted = a.get("Channel")
        chans = [c for c in self.pbx.channels.values() if not wanted or c.name == wanted]
        if wanted and not chans:
            s.respond(a, [("Response", "Error"), ("Message", "No such channel")])
            return
        now = self.pbx.clock.now()
        items = [[("Event", "Status"), ("Privilege", "Call"), *c.snapshot(),
                  ("Type", c.name.split("/", 1)[0]), ("DNID", ""),
                  ("EffectiveConnectedLineNum", c.con_num or "<unknown>"),
                  ("EffectiveConnectedLineName", c.con_name or "<unknown>"),
                  ("TimeToHangup", "0"), ("BridgeID", c.bridge.id if c.bridge else ""),
                  ("Application", c.app), ("Data", c.app_data), ("Nativeformats", "(ulaw)"),
                  ("Readformat", "ulaw"), ("Readtrans", ""), ("Writeformat", "ulaw"),
                  ("Writetrans", ""), ("Callgroup", "0"), ("Pickupgroup", "0"),
                  ("Seconds", str(int(now - c.created)))] for c in chans]
        self._list(s, a, "Channel status will follow", items, "StatusComplete",
                   [("Items", str(len(items)))], id_last=True)

    async def _originate(self, s: _Session, a: Message) -> None:
        channel = a.get("Channel")
        if not channel:
            s.respond(a, [("Response", "Error"), ("Message", "Channel not specified")])
            return
        if not a.get("Application") and not a.get("Exten"):
            s.respond(a, [("Response", "Error"), ("Message", "Exten not specified")])
            return
        try:
            timeout = int(a.get("Timeout") or 30000)
            priority = int(a.get("Priority") or 1)
        except ValueError:
            s.respond(a, [("Response", "Error"), ("Message", "Invalid timeout or priority")])
            return
        name, num = _split_callerid(a.get("CallerID"))
        variables: list[tuple[str, str]] = []
        for raw in a.getall("Variable"):
            for item in separate_args(raw.lstrip()):
                k, sep, v = item.partition("=")
                if sep:
                    variables.append((k.strip(), v))
        req = OriginateRequest(
            channel=channel, context=a.get("Context"), exten=a.get("Exten"), priority=priority,
            application=a.get("Application"), data=a.get("Data"), timeout_ms=timeout,
            caller_num=num, caller_name=name, variables=tuple(variables),
            channel_id=a.get("ChannelId"), other_channel_id=a.get("OtherChannelId"),
            action_id=a.action_id,
        )
        if a.get("Async", "false").lower() in ("true", "yes", "1"):
            s.respond(a, [("Response", "Success"), ("Message", "Originate successfully queued")])
            self.pbx.originate(req, lambda pairs: self._originate_response(pairs))
            return
        done: asyncio.Future[Pairs] = asyncio.get_running_loop().create_future()
        self.pbx.originate(req, lambda pairs: done.set_result(pairs))
        pairs = await done
        ok = ("Response", "Success") in pairs
        s.respond(a, [("Response", "Success"), ("Message", "Originate successfully queued")] if ok
                  else [("Response", "Error"), ("Message", "Originate failed")])

    def _originate_response(self, pairs: Pairs) -> None:
        self.pbx.emit("OriginateResponse", "call,all", pairs)

    async def _agi(self, s: _Session, a: Message) -> None:
        name = a.get("Channel")
        ch = self._channel(name)
        if ch is None:
            s.respond(a, [("Response", "Error"), ("Message", f"Channel {name} does not exist.")])
            return
        if ch.agi_queue is None:
            s.respond(a, [("Response", "Error"),
                          ("Message", f"Channel {name} is not running AsyncAGI.")])
            return
        ch.agi_queue.put_nowait((a.get("Command"), a.get("CommandID")))
        s.respond(a, [("Response", "Success"), ("Message", "Added AGI command to queue")])

    async def _bridge(self, s: _Session, a: Message) -> None:
        one, two = self._channel(a.get("Channel1")), self._channel(a.get("Channel2"))
        if one is None:
            s.respond(a, [("Response", "Error"),
                          ("Message", f"Channel1 does not exist: {a.get('Channel1')}")])
            return
        if two is None:
            s.respond(a, [("Response", "Error"),
                          ("Message", f"Channel2 does not exist: {a.get('Channel2')}")])
            return
        s.respond(a, [("Response", "Success"), ("Message", "Channels have been bridged")])
        self.pbx.bridge(one, two, from_action=True)

    async def _hangup(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        try:
            cause = int(a.get("Cause") or 16)
        except ValueError:
            cause = 16
        s.respond(a, [("Response", "Success"), ("Message", "Channel Hungup")])
        self.pbx.request_hangup(ch, cause, via_action=True)
        for _ in range(20):  # let the channel's own task tear it down, as Asterisk's thread does
            if ch.gone:
                break
            await asyncio.sleep(0)

    async def _redirect(self, s: _Session, a: Message) -> None:
        ch = self._channel(a.get("Channel"))
        if ch is None:
            s.respond(a, [("Response", "Error"), ("Message", "Channel does not exist: "
                                                            + a.get("Channel"))])
            return
        try:
            priority = int(a.get("Priority") or 1)
        except ValueError:
            s.respond(a, [("Response", "Error"), ("Message", "Invalid priority")])
            return
        extra = self._channel(a.get("ExtraChannel")) if a.get("ExtraChannel") else None
        if a.get("ExtraChannel") and extra is None:
            s.respond(a, [("Response", "Error"), ("Message", "ExtraChannel does not exist: "
                                                            + a.get("ExtraChannel"))])
            return
        if extra is None:
            s.respond(a, [("Response", "Success"), ("Message", "Redirect successful")])
        else:  # as recorded on 20.20.1: both leave the bridge, each for its own place
            s.respond(a, [("Response", "Success"), ("Message", "Dual Redirect successful")])
        self.pbx.redirect(ch, a.get("Context") or ch.context, a.get("Exten"), priority)
        if extra is not None:
            extra_priority = int(a.get("ExtraPriority") or 1) if (
                a.get("ExtraPriority") or "1").isdigit() else 1
            self.pbx.redirect(extra, a.get("ExtraContext") or extra.context,
                              a.get("ExtraExten") or extra.exten, extra_priority)

    async def _play_dtmf(self, s: _Session, a: Message) -> None:
        ch = self._channel(a.get("Channel"))
        digit = a.get("Digit")
        if ch is None:
            s.respond(a, [("Response", "Error"), ("Message", "Channel not found")])
            return
        if not digit:
            s.respond(a, [("Response", "Error"), ("Message", "No digit specified")])
            return
        await self.pbx.clock.sleep(int(a.get("Duration") or 100) / 1000)
        s.respond(a, [("Response", "Success"), ("Message", "DTMF successfully queued")])
        target = ch.peer if ch.peer is not None else None
        if target is not None and not target.gone:
            self.pbx.send_dtmf(target, digit[0], int(a.get("Duration") or 100))

    async def _mixmonitor(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        s.respond(a, [("Response", "Success")])
        self.pbx.mixmonitor(ch, a.get("File"), a.get("Options"))

    async def _mixmonitor_mute(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        s.respond(a, [("Response", "Success")])
        self.pbx.mixmonitor_mute(ch, a.get("Direction") or "both", a.get("State") or "1")

    async def _stop_mixmonitor(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        if not ch.mixmonitor:
            s.respond(a, [("Response", "Error"), ("Message", "Could not stop MixMonitor")])
            return
        s.respond(a, [("Response", "Success")])
        self.pbx.stop_mixmonitor(ch)

    async def _blind_transfer(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        if ch.bridge is None:
            s.respond(a, [("Response", "Error"), ("Message", "Transfer failed")])
            return
        s.respond(a, [("Response", "Success"), ("Message", "Transfer succeeded")])
        self.pbx.blind_transfer(ch, a.get("Context") or ch.context, a.get("Exten"))

    async def _getvar(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        var = a.get("Variable")
        s.respond(a, [("Response", "Success"), ("Variable", var),
                      ("Value", ch.lookup().get(var, ""))])

    async def _setvar(self, s: _Session, a: Message) -> None:
        ch = self._need_channel(s, a)
        if ch is None:
            return
        self.pbx.set_var(ch, a.get("Variable"), a.get("Value"))
        s.respond(a, [("Response", "Success"), ("Message", "Variable Set")])


def _split_callerid(text: str) -> tuple[str, str]:
    """`Name <number>` -> (name, number); a bare number is just the number."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].partition("<")
        return name.strip().strip('"'), num.strip()
    return "", text
