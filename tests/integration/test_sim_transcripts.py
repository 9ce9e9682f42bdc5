"""Replay every recorded AMI conversation into the simulated PBX and compare.

The sim is loaded with the transcripts' own dialplan (asterisk-conf/extensions.conf);
each `-->` action is sent at its recorded time (scaled), with channel names translated
to the sim's; responses are compared by ActionID (header names in order, Response and
Message values), events per channel (the sequence of event names, and each event's
header names in order). Ids, timestamps and uniqueids are ignored.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import defaultdict
from pathlib import Path

import pytest

from asterisk.transcripts import Transcript, load
from asterisk.wire import FrameReader, Message, parse_message
from sim.dialplan import Dialplan, load_dialplan, load_manager_conf
from sim.pbx import Clock, Pbx
from sim.server import AmiServer
from tests.conftest import TRANSCRIPTS

SPEED = 4.0

# Events the sim does not produce, with the reason. Everything else is compared.
NOT_SIMULATED = {
    "DeviceStateChange": "device state is not modelled (the engine does not use it)",
    "QueueMemberStatus": "app_queue is not simulated: the engine routes calls itself",
    "RTCPSent": "no RTP in the sim",
    "DialState": "intermediate dial progress is not modelled",
    "VarSet": "only variables the engine reads are set (Set, SET VARIABLE, AGISTATUS...)",
    "Newexten": "dialplan steps of app_dial's outgoing legs are not reproduced exactly",
    "NewCallerid": "caller-id updates on Dial legs are not reproduced exactly",
    "NewConnectedLine": "connected-line updates on bridges are not reproduced exactly",
    "Unhold": "hold indications are not modelled",
}

# Transcripts the sim is not expected to reproduce, and why.
NOT_REPLAYED = {
    "app_queue": "Asterisk's own app_queue, recorded for comparison; the engine never uses it",
    "sip_softphone": "a real SIP phone (sipp) calls in; there is no AMI action to replay",
    "dialer/nailed_confbridge": "ConfBridge is not simulated: the engine keeps agents "
    "connected with the Bridge-action loop (nailed_bridge_loop), the fastest in the README",
    "dialer/nailed_exec_bridge": "EXEC Bridge is not simulated: the engine uses the Bridge "
    "action (0-2 ms) rather than EXEC Bridge (~17 ms)",
}
DIALER = TRANSCRIPTS / "dialer"
#: the dialer recordings' fake phones play these (dialer/asterisk-conf/dialer-lab.conf):
#: their lengths, and what AMD hears in them
DLAB_PROMPTS = {"dlab/hello": 0.61, "dlab/machine": 5.6, "dlab/silence": 60.0,
                "dlab/silence3": 3.0, "dlab/safeharbour": 5.48}
DLAB_VOICES = {"dlab/hello": ("human", 0.61), "dlab/machine": ("machine", 5.1),
               "dlab/silence": ("silent", 0.0), "dlab/silence3": ("silent", 0.0)}

# Channels whose sequences knowingly differ, per transcript, and why.
KNOWN_CHANNEL_DIFFERENCES: dict[str, dict[str, str]] = {
    "originate_and_bridge": {
        "Local/noanswer@fake-agents-#1;1": "ring-timeout tear-down order of a Local pair",
        "Local/noanswer@fake-agents-#1;2": "ring-timeout tear-down order of a Local pair",
        "Local/nosuchexten@nosuchcontext-#1;1": "the sim fails a missing extension before "
        "creating the pair's dialplan step",
        "Local/nosuchexten@nosuchcontext-#1;2": "as above",
    },
    "connect_by_dial": {"*": "app_dial's Local legs (DialState, hang-up order) are simplified"},
    "transfer_and_spy": {"*": "app_dial's Local legs and BlindTransfer's internals are simplified"},
    "recording": {"*": "app_dial's Local legs inside EXEC Dial are simplified"},
}


def racy_hangups(transcript: Transcript) -> set[str]:
    """Hangups sent 0 ms after a Hangup of the other half of the same Local pair: whether
    that half still exists is down to Asterisk's thread scheduling (the recordings show
    both outcomes), so only the response's shape is compared."""
    racy: set[str] = set()
    sent = [(b.at, b.message) for b in transcript.sent()]
    for (t1, a1), (t2, a2) in itertools.pairwise(sent):
        c1, c2 = a1.get("Channel"), a2.get("Channel")
        if (a1.get("Action"), a2.get("Action")) == ("Hangup", "Hangup") and t2 - t1 < 0.005 \
                and c1[:-1] == c2[:-1] and c1 != c2:
            racy.add(a2.action_id)
    return racy

_LOCAL = re.compile(r"(Local/[^;\s,]+?)-([0-9a-f]{8});([12])")
_CHAN = re.compile(r"((?:SIP|PJSIP)/[^;\s,-]+)-([0-9a-f]{8})")


class Normaliser:
    """Maps concrete channel names to stable ones: the n-th pair of a base is `#n`."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[str, int]] = defaultdict(dict)

    def channel(self, name: str) -> str:
        def local(m: re.Match[str]) -> str:
            ids = self.seen[m.group(1)]
            n = ids.setdefault(m.group(2), len(ids) + 1)
            return f"{m.group(1)}-#{n};{m.group(3)}"

        return _LOCAL.sub(local, name)

    def channels(self) -> list[str]:
        return [f"{base}-#{n};{half}" for base, ids in self.seen.items()
                for n in ids.values() for half in "12"]

    def concrete(self, stable: str) -> str | None:
        m = re.fullmatch(r"(Local/[^;\s,]+?)-#(\d+);([12])", stable)
        if not m:
            return stable
        for concrete_id, n in self.seen[m.group(1)].items():
            if n == int(m.group(2)):
                return f"{m.group(1)}-{concrete_id};{m.group(3)}"
        return None


def _key(msg: Message, norm: Normaliser) -> str | None:
    for header in ("Channel", "DestChannel", "TransfererChannel"):
        if header in msg:
            return norm.channel(msg[header])
    if msg.event.startswith("Bridge"):
        return "bridge"
    return None


def _events_by_channel(messages: list[Message], norm: Normaliser) -> dict[str, list[Message]]:
    out: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        if not m.is_event or m.event in NOT_SIMULATED or m.action_id:
            continue
        if m.event == "OriginateResponse":
            continue  # compared with the responses: it carries the Originate's ActionID
        key = _key(m, norm)
        if key is not None:
            out[key].append(m)
    return out


def _pbx(name: str) -> Pbx:
    conf = TRANSCRIPTS / "asterisk-conf"
    plan = load_dialplan(conf / "extensions.conf")
    if not name.startswith("dialer/"):
        return Pbx(plan, clock=Clock(SPEED), seed=1)
    # Recorded with `#tryinclude dialer-lab.conf` and manager.conf's timestampevents = yes.
    lab = load_dialplan(DIALER / "asterisk-conf" / "dialer-lab.conf")
    pbx = Pbx(Dialplan({**plan.contexts, **lab.contexts}), clock=Clock(SPEED), seed=1,
              timestamps=True)
    pbx.prompts.update(DLAB_PROMPTS)
    pbx.voices.update(DLAB_VOICES)
    return pbx


async def _replay(name: str, transcript: Transcript) -> tuple[str, list[Message], bool]:
    conf = TRANSCRIPTS / "asterisk-conf"
    pbx = _pbx(name)
    users = load_manager_conf(conf / "manager.conf").users
    secret = next(iter(users.values()))
    server = AmiServer(pbx, users)
    port = await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frames = FrameReader()
    got: list[Message] = []
    norm = Normaliser()
    closed = False

    async def read() -> None:
        nonlocal closed
        while True:
            data = await reader.read(65536)
            if not data:
                closed = True
                return
            for f in frames.feed(data):
                msg = parse_message(f)
                if msg.event == "Newchannel":
                    norm.channel(msg["Channel"])
                got.append(msg)

    reading = asyncio.ensure_future(read())
    # The transcript's own names for channels, learned in the same way.
    tnorm = Normaliser()
    received = transcript.received()
    for m in received:
        if m.event == "Newchannel":
            tnorm.channel(m["Channel"])
    # An action on a channel follows what the recording had seen of it: how many
    # AsyncAGIStarts that channel had had when the action was sent (the sim's waits drift
    # a little from Asterisk's; an AGI command needs the channel in AsyncAGI).
    agi_starts: dict[str, int] = defaultdict(int)
    needs_start: dict[int, tuple[str, int]] = {}
    for block in transcript.blocks:
        if block.sent:
            msg = block.message
            channel = msg.get("Channel") or msg.get("Channel1")
            if channel.startswith("Local/") and msg.get("Action").lower() in (
                    "agi", "hangup", "bridge", "redirect"):
                stable = tnorm.channel(channel)
                needs_start[id(block)] = (stable, agi_starts[stable])
        elif not block.is_banner and not block.is_close:
            for m in block.messages:
                if m.event == "AsyncAGIStart":
                    agi_starts[tnorm.channel(m["Channel"])] += 1

    def sim_starts(stable: str) -> int:
        return sum(1 for m in got if m.event == "AsyncAGIStart"
                   and norm.channel(m["Channel"]) == stable)

    loop = asyncio.get_running_loop()
    t0 = loop.time()
    last_at, last_sent = 0.0, t0
    for block in transcript.sent():
        due = t0 + block.at / SPEED
        if block.at - last_at >= 0.01:
            # Actions Asterisk saw some ms apart stay apart here even when this machine is
            # busy (sped up 4x, 22 ms would be 5 ms): the rest of the replay moves along
            # with them. Those sent together stay together.
            late = last_sent + min(block.at - last_at, 0.05) - due
            if late > 0:
                t0 += late
                due += late
        await asyncio.sleep(max(0.0, due - loop.time()))
        if id(block) in needs_start:
            stable, count = needs_start[id(block)]
            for _ in range(200):
                if sim_starts(stable) >= count:
                    break
                await asyncio.sleep(0.01)
        last_at, last_sent = block.at, loop.time()
        lines = []
        for line in block.lines:
            if line == "Secret: ********":
                line = f"Secret: {secret}"
            for concrete in _LOCAL.findall(line):
                old = f"{concrete[0]}-{concrete[1]};{concrete[2]}"
                stable = tnorm.channel(old)
                new = None
                for _ in range(200):  # the sim may be a moment behind the recording
                    new = norm.concrete(stable)
                    if new:
                        break
                    await asyncio.sleep(0.01)
                line = line.replace(old, new or old)
            lines.append(line)
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
    last = transcript.blocks[-1].at
    await asyncio.sleep(max(0.0, t0 + last / SPEED - loop.time()) + 0.6)
    reading.cancel()
    writer.close()
    await server.close()
    await pbx.shutdown()
    return frames.banner or "", got, closed


ALL = sorted([p.name.removesuffix(".ami.txt") for p in TRANSCRIPTS.glob("*.ami.txt")]
             + [f"dialer/{p.name.removesuffix('.ami.txt')}" for p in DIALER.glob("*.ami.txt")])
REPLAYED = [n for n in ALL if n not in NOT_REPLAYED]


def test_every_transcript_is_either_replayed_or_named_as_a_difference() -> None:
    assert any(n.startswith("dialer/") for n in ALL), f"no dialer transcripts in {DIALER}"
    assert set(ALL) == set(REPLAYED) | set(NOT_REPLAYED)


@pytest.mark.parametrize("name", REPLAYED)
async def test_simulated_pbx_answers_like_the_recording(name: str) -> None:
    transcript = load(TRANSCRIPTS / f"{name}.ami.txt")
    banner, got, closed = await _replay(name, transcript)
    expected = transcript.received()
    assert banner == transcript.blocks[0].lines[0]

    # Responses, matched by ActionID.
    want_resp = {m.action_id: m for m in expected if m.is_response}
    got_resp = {m.action_id: m for m in got if m.is_response}
    for action_id, want in want_resp.items():
        assert action_id in got_resp, f"{name}: no response to {action_id}"
        have = got_resp[action_id]
        if action_id in racy_hangups(transcript):
            continue
        assert have.names() == want.names(), f"{name} {action_id}: header names differ"
        assert have.response == want.response, f"{name} {action_id}"
        tn, sn = Normaliser(), Normaliser()
        assert sn.channel(have.get("Message")) == tn.channel(want.get("Message")), name

    # OriginateResponse: same outcome and headers per Originate.
    # (Asterisk sends OriginateResponse to every session: one left over from an earlier
    # recording's Originate shows up in the next transcript; those are not ours.)
    originates = {b.message.action_id for b in transcript.sent()
                  if b.message.get("Action") == "Originate"}
    want_or = {m.action_id: m for m in expected
               if m.event == "OriginateResponse" and m.action_id in originates}
    got_or = {m.action_id: m for m in got if m.event == "OriginateResponse"}
    for action_id, want in want_or.items():
        have = got_or.get(action_id)
        assert have is not None, f"{name}: no OriginateResponse for {action_id}"
        assert have.names() == want.names(), f"{name} {action_id}"
        assert (have.response, have.get("Reason")) == (want.response, want.get("Reason"))

    # List items (CoreShowChannels): same count and header names.
    for action_id in want_resp:
        want_items = [m for m in expected if m.is_event and m.action_id == action_id
                      and m.event != "OriginateResponse"]
        have_items = [m for m in got if m.is_event and m.action_id == action_id
                      and m.event != "OriginateResponse"]
        assert [m.event for m in have_items] == [m.event for m in want_items], (name, action_id)
        for h, w in zip(have_items, want_items, strict=True):
            assert h.names() == w.names(), (name, action_id, w.event)

    # Events per channel.
    want_ev = _events_by_channel(expected, _tnorm(expected))
    have_ev = _events_by_channel(got, _tnorm(got))
    known = KNOWN_CHANNEL_DIFFERENCES.get(name, {})
    ours = set(_tnorm(expected).channels())
    tn = _tnorm(expected)
    racy_pairs = {tn.channel(b.message.get("Channel"))[:-1] for b in transcript.sent()
                  if b.message.action_id in racy_hangups(transcript)}
    compared = 0
    for key, want_seq in want_ev.items():
        if key in known or "*" in known or (key.startswith("Local/") and key not in ours):
            continue
        compared += 1
        have_seq = have_ev.get(key, [])
        if key[:-1] in racy_pairs:
            # The tear-down order of a pair hung up twice at once is a race (see
            # racy_hangups): compare up to the tear-down, then require a final Hangup.
            assert have_seq and have_seq[-1].event == "Hangup", f"{name}: {key}"
            want_seq, have_seq = _before_teardown(want_seq), _before_teardown(have_seq)
        assert [m.event for m in have_seq] == [m.event for m in want_seq], f"{name}: {key}"
        for h, w in zip(have_seq, want_seq, strict=True):
            assert h.names() == w.names(), f"{name}: {key} {w.event} header names"
    if "*" not in known and any(k.startswith("Local/") for k in ours):
        assert compared >= 2, f"{name}: too few channels compared ({compared})"
    if "*" in known:
        # Still: every event kind the recording has, the sim produced too.
        want_kinds = {m.event for seq in want_ev.values() for m in seq}
        have_kinds = {m.event for seq in have_ev.values() for m in seq}
        assert want_kinds <= have_kinds, f"{name}: missing {want_kinds - have_kinds}"
    if transcript.blocks[-1].is_close:
        assert closed, f"{name}: Asterisk closed the connection, the sim did not"


def _before_teardown(seq: list[Message]) -> list[Message]:
    for i, m in enumerate(seq):
        if m.event in ("HangupRequest", "SoftHangupRequest", "Hangup", "AsyncAGIEnd"):
            return seq[:i]
    return seq


def _tnorm(messages: list[Message]) -> Normaliser:
    norm = Normaliser()
    for m in messages:
        if m.event == "Newchannel":
            norm.channel(m["Channel"])
    return norm


def test_transcripts_dir_is_where_the_guide_says() -> None:
    assert Path(TRANSCRIPTS, "README.md").exists()
