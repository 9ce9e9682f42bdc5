"""The web server, in the engine's event loop (aiohttp): login, the wallboard and its
live stream, the reports page and its data, /metrics, /healthz and /readyz.

Nothing here waits on the engine, and the engine never waits on a page: the stream
takes snapshots the engine hands over without blocking (web/feed.py), password checks
run in a thread, and every page a person sees needs a session of a role allowed there."""

from __future__ import annotations

import asyncio
import html
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.settings import HttpSettings
from reports.catalogue import NAMES, Ask, UnknownName
from reports.sql import Report
from reports.window import BadRange, window
from web.auth import PAGES, Session, Sessions, check_secret, may
from web.feed import LiveFeed
from web.metrics import Metrics

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "centralita_session"
MAX_STREAMS = 200  # open wallboards, all users together
HEARTBEAT = 15.0
#: a page whose socket takes no data for this long is dropped (it stopped reading)
WRITE_TIMEOUT = 10.0
#: a page gets at most this many updates a second (each with the latest of everything
#: that changed): a burst of calls costs the engine the same with 1 page or 50
FLUSHES_PER_SECOND = 4
HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                      "frame-ancestors 'none'; form-action 'self'",
           "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
HOME = {"supervisor": "/wallboard", "qa": "/reports"}


@dataclass(frozen=True, slots=True)
class WebPorts:
    """What the pages need from the rest of the engine."""

    person: Callable[[str], tuple[str, str] | None]  # id -> (role, name), from agents.yaml
    secret_of: Callable[[str], Awaitable[str | None]]  # id -> stored hash
    reports: Callable[[Ask], Awaitable[list[Report]]]
    ready: Callable[[], Awaitable[dict[str, bool]]]  # what /readyz checks
    outbox_backlog: Callable[[], Awaitable[int]]


class WebServer:
    def __init__(self, settings: HttpSettings, feed: LiveFeed, metrics: Metrics, ports: WebPorts,
                 *, zone: ZoneInfo, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.feed = feed
        self.metrics = metrics
        self.ports = ports
        self.zone = zone
        self.clock = clock
        self.sessions = Sessions(ttl=settings.session_minutes * 60)
        self.hashing = asyncio.Semaphore(2)  # a login flood queues up, the loop stays free
        self.log = structlog.get_logger("web")
        self.write_timeout = WRITE_TIMEOUT
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.app = self._app()

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._headers])
        app.add_routes([
            web.get("/", self.home), web.get("/login", self.login_page),
            web.post("/login", self.login), web.post("/logout", self.logout),
            web.get("/wallboard", self.page("wallboard")), web.get("/reports", self.page("reports")),
            web.get("/api/me", self.me), web.get("/api/live", self.live),
            web.get("/api/reports/{name}", self.report),
            web.get("/metrics", self.scrape), web.get("/healthz", self.healthz),
            web.get("/readyz", self.readyz),
            web.static("/static", STATIC, show_index=False, follow_symlinks=False),
        ])
        return app

    @web.middleware
    async def _headers(self, request: web.Request,
                       handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                       ) -> web.StreamResponse:
        response = await handler(request)
        if not response.prepared:
            response.headers.update(HEADERS)
        return response

    async def start(self) -> str:
        host, port = self.settings.address
        self.runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, backlog=64)
        await site.start()
        bound = self.runner.addresses[0] if self.runner.addresses else (host, port)
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{bound[1]}/"
        self.log.info("web.started", url=self.url)
        return self.url

    async def stop(self) -> None:
        for client in list(self.feed.clients):
            if client.task is not None:
                client.task.cancel()
        if self.runner is not None:
            await self.runner.cleanup()

    # --- who is asking ----------------------------------------------------------------

    def _session(self, request: web.Request) -> tuple[Session | None, str]:
        return self.sessions.get(request.cookies.get(COOKIE), self.clock())

    def _require(self, request: web.Request, page: str | None, *, api: bool) -> Session:
        """The session, for `page` (None: any page of theirs); else the refusal."""
        session, why = self._session(request)
        if session is None:
            if api:
                message = "session expired: log in again" if why == "expired" else "login required"
                raise web.HTTPUnauthorized(text=json.dumps({"error": message}),
                                           content_type="application/json")
            target = f"/login?next={quote(request.path)}" + ("&expired=1" if why == "expired" else "")
            raise web.HTTPSeeOther(target)
        if page is not None and not may(session, page):
            self.log.warning("web.refused", user=session.user, role=session.role, page=page)
            raise web.HTTPForbidden(text=f"{page}: not open to the {session.role} role",
                                    content_type="text/plain")
        return session

    # --- pages --------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        session, _ = self._session(request)
        raise web.HTTPSeeOther(HOME.get(session.role, "/login") if session else "/login")

    def page(self, name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            self._require(request, name, api=False)
            return web.FileResponse(STATIC / f"{name}.html")
        return handler

    async def login_page(self, request: web.Request, message: str = "") -> web.Response:
        if not message and request.query.get("expired"):
            message = "Your session expired. Log in again."
        text = (STATIC / "login.html").read_text(encoding="utf-8")
        text = text.replace("{{message}}", html.escape(message)) \
                   .replace("{{next}}", html.escape(_local(request.query.get("next", ""))))
        return web.Response(text=text, content_type="text/html",
                            status=401 if message and "expired" not in message else 200)

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        user = str(form.get("user", ""))[:32].strip()
        secret = str(form.get("password", ""))[:200]
        now = self.clock()
        if self.sessions.locked(user, now):
            self.log.warning("web.login_refused", user=user, reason="too many failures")
            return await self.login_page(request, "Too many failed attempts: wait 5 minutes.")
        person = self.ports.person(user) if user else None
        stored = await self.ports.secret_of(user) if person is not None else None
        async with self.hashing:
            ok = stored is not None and await asyncio.to_thread(check_secret, secret, stored)
        if not ok or person is None or person[0] not in PAGES:
            self.sessions.failed(user, now)
            self.log.warning("web.login_failed", user=user)
            return await self.login_page(request, "Unknown user or wrong password.")
        role = person[0]
        token = self.sessions.open(user, role, now)
        self.log.info("web.login", user=user, role=role)
        nxt = _local(str(form.get("next", "")))
        target = nxt if nxt and may(Session(user, role, 0), nxt.strip("/").split("/")[0]) \
            else HOME[role]
        response = web.HTTPSeeOther(target)
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                            max_age=int(self.settings.session_minutes * 60))
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.close(request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        raise response

    async def me(self, request: web.Request) -> web.Response:
        session = self._require(request, None, api=True)
        person = self.ports.person(session.user)
        thresholds = {k: v.model_dump() for k, v in self.settings.thresholds.items()}
        return web.json_response({"user": session.user, "name": person[1] if person else "",
                                  "role": session.role, "pages": sorted(PAGES[session.role]),
                                  "thresholds": thresholds, "now": self.clock()})

    # --- live --------------------------------------------------------------------------

    async def live(self, request: web.Request) -> web.StreamResponse:
        self._require(request, "live", api=True)
        if len(self.feed.clients) >= MAX_STREAMS:
            raise web.HTTPServiceUnavailable(text="too many wallboards open")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        client = self.feed.join()
        client.task = asyncio.current_task()
        token = request.cookies.get(COOKIE)
        try:
            await response.write(b"retry: 3000\n\n")
            while not client.dropped:
                try:
                    await asyncio.wait_for(client.wake.wait(), HEARTBEAT)
                except TimeoutError:
                    if self.sessions.get(token, self.clock())[0] is None:
                        await response.write(b"event: logout\ndata: {}\n\n")
                        break  # logged out or expired: the page goes to the login
                    client.pending[("", "")] = ": still here\n\n"
                client.wake.clear()
                batch, client.pending = client.pending, {}
                await asyncio.wait_for(
                    response.write("".join(batch.values()).encode()), self.write_timeout)
                await asyncio.sleep(1 / FLUSHES_PER_SECOND)  # more changes gather meanwhile
        except TimeoutError:
            self.feed.drop(client, "not reading")
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.feed.leave(client)
        return response

    # --- reports -----------------------------------------------------------------------

    async def report(self, request: web.Request) -> web.Response:
        self._require(request, "reports", api=True)
        q = request.query
        name = request.match_info["name"]
        try:
            if name not in NAMES:
                raise UnknownName(f"unknown report {name!r} (one of {', '.join(NAMES)})")
            minutes = int(q.get("minutes", "30")) if q.get("minutes", "30").isdigit() else -1
            period = window(q.get("from") or None, q.get("to") or None, zone=self.zone,
                            today=datetime.now(self.zone).date())
            ask = Ask(name, period, tuple(q.getall("queue", [])), tuple(q.getall("agent", [])),
                      tuple(q.getall("campaign", [])), minutes, 1000)
            reports = await self.ports.reports(ask)
        except (BadRange, UnknownName) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({
            "period": {"from": period.local(period.start).isoformat(),
                       "to": period.local(period.end).isoformat(), "timezone": str(self.zone)},
            "reports": [{"name": r.name, "title": r.title, "columns": list(r.columns),
                         "rows": [list(row) for row in r.rows]} for r in reports]})

    # --- ops -----------------------------------------------------------------------------

    async def scrape(self, request: web.Request) -> web.Response:
        try:
            self.metrics.outbox_backlog = await asyncio.wait_for(self.ports.outbox_backlog(), 2.0)
        except Exception:  # the database is down: the figure stays at its last value
            self.log.warning("web.metrics_backlog_unknown")
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(self, request: web.Request) -> web.Response:
        checks = await self.ports.ready()
        ok = all(checks.values())
        return web.json_response({"status": "ready" if ok else "not ready", **checks},
                                 status=200 if ok else 503)


def _local(path: str) -> str:
    """Only a path on this server may be a redirect target (no open redirect)."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else ""



