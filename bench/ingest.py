"""bench/ingest: AMI events per second from socket bytes to registry update.

The real pipeline (AmiClient's framing and parsing, typed events, Registry) reads a
stream of events from a separate process over loopback TCP: the recorded events of one
engine-driven call (ivr_asyncagi.ami.txt) replayed for 1,000 concurrent calls, their
events interleaved. The baseline is panoramisk's bare `Message.from_line` on the same
messages in the same run. Latency is from the socket read that delivered an event's
last byte to the end of its registry update.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from panoramisk.message import Message as PanoramiskMessage

from asterisk.client import AmiClient, AmiUrl
from asterisk.events import AmiEvent
from asterisk.transcripts import load
from core.bus import Bus
from core.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPT = ROOT.parent / "shared" / "ami-transcripts" / "ivr_asyncagi.ami.txt"


def build_stream(calls: int) -> tuple[list[bytes], int]:
    """Events of one recorded call, renamed per call, interleaved across `calls` calls."""
    events = [m for m in load(TRANSCRIPT).received() if m.is_event
              and m.event not in ("FullyBooted", "SuccessfulAuth")]
    per_call: list[list[bytes]] = []
    for n in range(calls):
        frames = []
        for m in events:
            lines = []
            for k, v in m.pairs:
                v = v.replace("0000000e", f"{n:08x}").replace("1795333700.2", f"1795333700.{n}0")
                if k == "Context" and v == "from-callers":
                    v = "centralita-in"
                lines.append(f"{k}: {v}")
            frames.append(("\r\n".join(lines) + "\r\n\r\n").encode())
        per_call.append(frames)
    stream = [per_call[c][i] for i in range(len(events)) for c in range(calls)]
    return stream, len(events)


def _serve(port_q: multiprocessing.Queue[int], payload: bytes) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port_q.put(srv.getsockname()[1])
    conn, _ = srv.accept()
    conn.sendall(b"Asterisk Call Manager/9.0.0\r\n")
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += conn.recv(4096)
    action_id = next(line.split(": ", 1)[1] for line in buf.decode().split("\r\n")
                     if line.lower().startswith("actionid"))
    conn.sendall(f"Response: Success\r\nActionID: {action_id}\r\n"
                 "Message: Authentication accepted\r\n\r\n".encode())
    conn.recv(16)  # the client says "go" by sending a Ping once it is ready
    conn.sendall(payload)
    time.sleep(2)
    conn.close()


def bare_parse_rate(stream: list[bytes], rounds: int = 3) -> float:
    texts = [f[:-4].decode() for f in stream]
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        for t in texts:
            PanoramiskMessage.from_line(t)
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


async def pipeline(stream: list[bytes], tap: Callable[[Bus], None] | None = None
                   ) -> tuple[float, list[float], int]:
    """`tap` sees the bus the registry publishes on (the wallboard bench hangs its feed there)."""
    payload = b"".join(stream)
    ctx = multiprocessing.get_context("spawn")
    port_q: multiprocessing.Queue[int] = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(port_q, payload), daemon=True)
    proc.start()
    port = port_q.get(timeout=30)
    bus = Bus()
    if tap is not None:
        tap(bus)
    registry = Registry(bus, time.time, contexts=("centralita-in",))
    latencies: list[float] = []
    read_at = [0.0]
    done = asyncio.Event()
    total = len(stream)
    perf = time.perf_counter

    def on_event(ev: AmiEvent) -> None:
        registry.on_event(ev)
        latencies.append(perf() - read_at[0])
        if len(latencies) >= total:
            done.set()

    def read(_size: int) -> None:
        read_at[0] = perf()

    client = AmiClient(AmiUrl("127.0.0.1", port, "bench", "bench"), on_event=on_event,
                       on_bytes=read)
    await client.connect()
    t0 = perf()
    ping = asyncio.ensure_future(client.send_now("Ping", timeout=300))  # says "go"
    await asyncio.wait_for(done.wait(), 300)
    elapsed = perf() - t0
    ping.cancel()
    await client.close()
    proc.join(5)
    return total / elapsed, latencies, registry.events_seen


def main(calls: int = 1000) -> dict[str, float]:
    stream, per_call = build_stream(calls)
    bare = bare_parse_rate(stream)
    rate, latencies, seen = asyncio.run(pipeline(stream))
    assert seen == len(stream), (seen, len(stream))
    q = statistics.quantiles(latencies, n=100)
    p50, p99 = q[49] * 1000, q[98] * 1000
    ratio = rate / bare
    print(f"\nbench/ingest: {calls} concurrent calls x {per_call} events = {len(stream)} events "
          f"({sum(map(len, stream)) / 1e6:.1f} MB) over loopback TCP")
    print(f"{'':34}{'centralita pipeline':>22}{'panoramisk from_line':>22}{'ratio':>8}")
    print(f"{'events/s (bytes -> registry)':34}{rate:>22,.0f}{bare:>22,.0f}{ratio:>8.2f}")
    print(f"{'latency p50 / p99 (ms)':34}{p50:>13.2f} / {p99:<6.2f}{'-':>22}")
    print(f"target: ratio >= 0.5 -> {'met' if ratio >= 0.5 else 'NOT met'}")
    print(f"BENCH ingest events_per_s={rate:.0f} bare_parse_per_s={bare:.0f} ratio={ratio:.2f} "
          f"p50_ms={p50:.2f} p99_ms={p99:.2f}")
    sys.stdout.flush()
    return {"events_per_s": rate, "bare_parse_per_s": bare, "ratio": ratio}


if __name__ == "__main__":
    main()
