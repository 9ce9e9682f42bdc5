"""The shipped SIP edge on a real PJSIP Asterisk: an INVITE that claims to be the trunk
from anywhere but the carrier's address is refused and never becomes a call; the same
INVITE from the carrier's address is routed to [centralita-in].

The lab loads the shipped pjsip.conf as `centralita asterisk-config DIR --address
127.0.0.1 --carrier 127.0.0.2/32` writes it (the carrier is 127.0.0.2, so the
impostor on 127.0.0.1 is not it). Skipped without AMI_URL or when nothing answers SIP on
SIP_ADDRESS (default 127.0.0.1:5060).

Seen on Asterisk 20.20.1 (2026-11-23): the impostor gets `401 Unauthorized` (res_pjsip
challenges a request it cannot tie to an endpoint, with an artificial auth nobody can
answer; `endpoint_identifier_order = ip,username` leaves no anonymous endpoint) and no
channel is created; from 127.0.0.2 the INVITE gets `100 Trying` and a PJSIP/trunk
channel appears in centralita-in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid

import pytest

from asterisk.client import AmiClient, AmiUrl
from asterisk.events import AmiEvent, Newchannel
from tests.asterisk.conftest import AMI_URL

SIP = os.environ.get("SIP_ADDRESS", "127.0.0.1:5060")
CARRIER = os.environ.get("SIP_CARRIER_ADDRESS", "127.0.0.2")


def _sip_answers() -> bool:
    host, port = SIP.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.bind(("127.0.0.1", 0))
        s.sendto(_request("OPTIONS", s.getsockname(), "probe"), (host, int(port)))
        try:
            return s.recv(4096).startswith(b"SIP/2.0")
        except OSError:
            return False


def _request(method: str, local: tuple[str, int], user: str, call_id: str | None = None,
             branch: str | None = None) -> bytes:
    host, port = SIP.rsplit(":", 1)
    call_id = call_id or uuid.uuid4().hex
    branch = branch or "z9hG4bK" + uuid.uuid4().hex[:12]
    me = f"{local[0]}:{local[1]}"
    body = (f"v=0\r\no=- 1 1 IN IP4 {local[0]}\r\ns=-\r\nc=IN IP4 {local[0]}\r\nt=0 0\r\n"
            f"m=audio {local[1] + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n") if method == "INVITE" else ""
    return (f"{method} sip:100@{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {me};branch={branch};rport\r\n"
            f"From: <sip:{user}@{local[0]}>;tag=t{uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:100@{host}>\r\n"
            f"Call-ID: {call_id}\r\nCSeq: 1 {method}\r\n"
            f"Contact: <sip:{user}@{me}>\r\nMax-Forwards: 70\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode()


pytestmark = pytest.mark.skipif(AMI_URL is None or not _sip_answers(),
                                reason="needs AMI_URL and a PJSIP Asterisk on SIP_ADDRESS")


async def invite_as_trunk(source: str) -> tuple[list[int], socket.socket, bytes]:
    """INVITE from `source` claiming to be the trunk: the response codes, until a final one
    (or 3 s), and what is needed to CANCEL it."""
    host, port = SIP.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setblocking(False)
    invite = _request("INVITE", s.getsockname(), "trunk")
    s.sendto(invite, (host, int(port)))
    codes: list[int] = []
    loop = asyncio.get_running_loop()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(3.0):
            while not codes or codes[-1] < 200:
                data = await loop.sock_recv(s, 65536)
                if data.startswith(b"SIP/2.0 "):
                    codes.append(int(data[8:11]))
    return codes, s, invite


async def test_an_impostor_claiming_to_be_the_trunk_is_refused() -> None:
    assert AMI_URL is not None
    channels: list[Newchannel] = []

    def seen(e: AmiEvent) -> None:
        if isinstance(e, Newchannel) and e.channel.startswith("PJSIP/trunk"):
            channels.append(e)

    ami = AmiClient(AmiUrl.parse(AMI_URL), on_event=seen)
    await ami.connect()
    try:
        codes, sock, _ = await invite_as_trunk("127.0.0.1")
        sock.close()
        assert codes and codes[-1] in (401, 403), codes  # challenged: cannot be answered
        await asyncio.sleep(1.0)
        assert channels == []  # never became a call

        codes, sock, invite = await invite_as_trunk(CARRIER)
        try:
            assert codes and codes[0] == 100 and all(c < 300 for c in codes), codes
            for _ in range(30):
                if channels:
                    break
                await asyncio.sleep(0.1)
            assert channels and channels[0].message.get("Context") == "centralita-in"
        finally:  # leave nothing behind: CANCEL the genuine INVITE
            cancel = invite.split(b"\r\n\r\n")[0].replace(b"INVITE sip:", b"CANCEL sip:", 1) \
                .replace(b"CSeq: 1 INVITE", b"CSeq: 1 CANCEL").replace(
                b"Content-Type: application/sdp\r\n", b"")
            cancel = cancel[:cancel.rindex(b"Content-Length:")] + b"Content-Length: 0\r\n\r\n"
            host, port = SIP.rsplit(":", 1)
            sock.sendto(cancel, (host, int(port)))
            await asyncio.sleep(0.5)
            sock.close()
    finally:
        await ami.close()
