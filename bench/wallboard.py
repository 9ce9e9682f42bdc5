"""bench/wallboard: the engine's event handling with 50 wallboard pages open, next to
the same run with none.

The ingest pipeline (bench/ingest.py: AMI bytes -> typed events -> registry) runs in a
loop that also serves the web pages, with every call started, answered or ended handing
the wallboard a fresh queue snapshot (far more often than the engine's 2-second stats:
the worst case). 50 pages read the live stream from a separate process, as browsers
would. Rounds alternate (none, 50, none, 50, ...); the ratio of medians is the cost."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import statistics
import sys
import time
from typing import Any
from zoneinfo import ZoneInfo

from bench.ingest import build_stream, pipeline
from core.bus import Bus
from core.events import CallAnswered, CallEnded, CallStarted
from core.settings import HttpSettings
from core.topics import Topics
from web.feed import LiveFeed
from web.metrics import Metrics, Readings
from web.server import WebPorts, WebServer

CLIENTS = 50


def _pages(port: int, token: str, n: int, ready: Any, stop: Any, counts: Any) -> None:
    """n pages reading the stream, in their own process with one thread (as n browsers on
    other machines would cost this box nothing, they should cost it as little as can be)."""
    import selectors

    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"GET /api/live HTTP/1.1\r\nHost: b\r\nCookie: centralita_session={token}"
                     f"\r\n\r\n".encode())
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ, i)
        socks.append(sock)
        ready.release()
    got = [0] * n
    while not stop.is_set():
        for key, _ in sel.select(timeout=0.5):
            try:
                chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(key.fileobj)
                continue
            got[key.data] += chunk.count(b"\n\n")
    for i, sock in enumerate(socks):
        counts[i] = got[i]
        sock.close()


async def one_round(stream: list[bytes], clients: int) -> tuple[float, int, int, float]:
    topics = Topics("bench/")
    feed = LiveFeed(topics, lambda _a: "", backlog=10_000)
    metrics = Metrics(feed, {}, Readings(ami_ready=lambda: True, ami_events=lambda: 0,
                                         journal_backlog=lambda: 0))

    async def none() -> Any:
        return None

    async def zero() -> int:
        return 0

    ports = WebPorts(person=lambda _u: None, secret_of=lambda _u: none(), reports=lambda _a: none(),
                     ready=lambda: none(), outbox_backlog=zero)
    server = WebServer(HttpSettings(listen="127.0.0.1:0"), feed, metrics, ports, zone=ZoneInfo("UTC"))
    await server.start()
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    token = server.sessions.open("9001", "supervisor", time.time())
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Semaphore(0), ctx.Event()
    counts = ctx.Array("i", clients)
    proc = None
    if clients:
        proc = ctx.Process(target=_pages, args=(port, token, clients, ready, stop, counts))
        proc.start()
        for _ in range(clients):
            await asyncio.to_thread(ready.acquire, True, 30)
        while len(feed.clients) < clients:
            await asyncio.sleep(0.05)
    topic = topics.queue_stats("support")
    waiting = [0]

    def tap(bus: Bus) -> None:
        def snapshot(delta: int) -> None:
            waiting[0] += delta
            feed.published(topic, json.dumps({"queue": "support", "waiting": waiting[0],
                                              "longest_wait": 0.0, "agents": {"ready": 3}}))
        bus.subscribe(CallStarted, lambda _e: snapshot(1))
        bus.subscribe(CallAnswered, lambda _e: snapshot(0))
        bus.subscribe(CallEnded, lambda _e: snapshot(-1))

    cpu0 = time.process_time()
    rate, _lat, _seen = await pipeline(stream, tap)
    cpu = time.process_time() - cpu0  # this process: the engine's side, pages included
    await asyncio.sleep(0.5)
    stop.set()
    if proc is not None:
        await asyncio.to_thread(proc.join, 10)
    dropped = feed.dropped
    await server.stop()
    return rate, sum(counts[:]), dropped, cpu


def main(calls: int = 1000, rounds: int = 7) -> dict[str, float]:
    stream, _ = build_stream(calls)
    bare: list[float] = []
    with_pages: list[float] = []
    cpu_bare: list[float] = []
    cpu_pages: list[float] = []
    delivered = dropped = 0
    for _ in range(rounds):
        rate, _got, _lost, cpu = asyncio.run(one_round(stream, 0))
        bare.append(rate)
        cpu_bare.append(cpu)
        rate, got, lost, cpu = asyncio.run(one_round(stream, CLIENTS))
        with_pages.append(rate)
        cpu_pages.append(cpu)
        delivered, dropped = delivered + got, dropped + lost
    a, b = statistics.median(bare), statistics.median(with_pages)
    ratio = b / a
    # the engine process's own CPU per event: what the pages cost the engine, whatever
    # the other processes on this 2-core box (the AMI sender, the pages) take meanwhile
    us_bare = 1e6 * statistics.median(cpu_bare) / len(stream)
    us_pages = 1e6 * statistics.median(cpu_pages) / len(stream)
    cpu_ratio = us_bare / us_pages
    print(f"\nbench/wallboard: {len(stream)} AMI events of {calls} calls, a snapshot to the "
          f"wallboard per call started/answered/ended, {rounds} rounds each")
    print(f"{'':34}{'no pages':>14}{f'{CLIENTS} pages':>14}{'ratio':>8}")
    print(f"{'events/s (bytes -> registry)':34}{a:>14,.0f}{b:>14,.0f}{ratio:>8.2f}")
    print(f"{'  spread over the rounds':34}{f'{min(bare):,.0f}-{max(bare):,.0f}':>16}"
          f"{f'{min(with_pages):,.0f}-{max(with_pages):,.0f}':>16}")
    print(f"{'engine CPU per event (us)':34}{us_bare:>14.1f}{us_pages:>14.1f}{cpu_ratio:>8.2f}")
    print(f"stream messages delivered to pages: {delivered:,}; pages dropped for falling "
          f"behind: {dropped}")
    print(f"target: engine CPU per event with pages >= 0.9 of without (calls unchanged with "
          f"pages open) -> {'met' if cpu_ratio >= 0.9 else 'NOT met'}")
    print(f"BENCH wallboard clients={CLIENTS} events_per_s={b:.0f} baseline_events_per_s={a:.0f} "
          f"ratio={ratio:.2f} cpu_us_per_event={us_pages:.1f} baseline_cpu_us={us_bare:.1f} "
          f"cpu_ratio={cpu_ratio:.2f} delivered={delivered} dropped={dropped}")
    sys.stdout.flush()
    return {"ratio": ratio, "cpu_ratio": cpu_ratio}


if __name__ == "__main__":
    main()
