"""The agent at their desk: their own commands (log in and out, pause, ready, wrap-up),
wrap-up after every call, and agents found talking after a restart."""

from __future__ import annotations

import asyncio

import structlog

from acd.model import AcdConfig
from acd.state import AcdState
from core.agentstate import (
    ExtendWrapup,
    FinishCall,
    Input,
    LogIn,
    LogOut,
    MakeReady,
    Pause,
    Refused,
    Restore,
)
from core.people import Directory
from core.ports import Ports

OWNER = "acd"


class Desk:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig,
                 directory: Directory) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.log = structlog.get_logger("acd")

    def start(self) -> None:
        """Agents configured `login: true` start ready."""
        for agent in self.directory:
            if agent.login:
                self.ports.pool.try_apply(agent.id, LogIn(), why="login")

    # --- the agent's own commands -------------------------------------------------------

    def command(self, agent_id: str, action: str, reason: str | None = None) -> str | None:
        """login, logout, pause (with a reason), ready, end_wrapup, extend_wrapup. Returns
        why it was refused, or None; a refused command changes nothing."""
        if agent_id not in self.directory:
            return f"unknown agent {agent_id!r}"
        pool = self.ports.pool
        status = pool.status(agent_id)
        what: Input
        if action == "login":
            if status.state != "logged_out":
                return f"already logged in ({status.state})"
            what = LogIn()
        elif action == "logout":
            what = LogOut()
        elif action == "pause":
            what = Pause(reason or "")
        elif action == "ready":
            if status.state == "ready":
                return "already ready"
            if status.state == "wrapup":
                self.end_wrapup(agent_id)
                return None
            what = MakeReady()
        elif action in ("end_wrapup", "extend_wrapup"):
            if status.state != "wrapup":
                return f"not in wrap-up ({status.state})"
            if action == "end_wrapup":
                self.end_wrapup(agent_id)
                return None
            what = ExtendWrapup()
        else:
            return f"unknown action {action!r}"
        try:
            pool.apply(agent_id, what, why=action if action in ("login", "logout") else "")
        except Refused as exc:
            return str(exc)
        if isinstance(what, ExtendWrapup):
            extra = self.config.queues[self.state.queue_of(agent_id)].wrapup
            self.ports.step(status.call_id or "", "acd.wrapup_extended",
                            {"agent": agent_id, "seconds": extra})
        return None

    # --- wrap-up ------------------------------------------------------------------------

    def agent_done(self, call_id: str, at: float) -> None:
        """The agent's part of the call is over (hang-up, or they passed the caller on):
        wrap-up, for as long as the call's queue says."""
        done = self.state.disconnect(call_id)
        if done is None:
            return
        self.state.router.record_call(done.agent, at - done.since)
        queue = self.state.queue_of(done.agent)
        wrapup = self.config.queues[queue].wrapup
        self.state.handled[queue].append(at - done.since + wrapup)
        if self.ports.pool.try_apply(done.agent, FinishCall(call_id)) is None:
            return
        self.ports.spawn(self._end_wrapup(done.agent, call_id, wrapup))

    async def _end_wrapup(self, agent_id: str, call_id: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        if self.ports.pool.status(agent_id).wrapup_extended:
            await asyncio.sleep(seconds)  # extended once, by one more wrap-up period
        status = self.ports.pool.status(agent_id)
        if status.state == "wrapup" and status.call_id == call_id:
            if not self.config.queues[self.state.queue_of(agent_id)].auto_ready:
                return  # manual ready: the agent ends wrap-up with `ready` / `end_wrapup`
            self.end_wrapup(agent_id)

    def end_wrapup(self, agent_id: str) -> None:
        """Ready again; leaving wrap-up records how long it took on the call."""
        status = self.ports.pool.status(agent_id)
        if status.state == "wrapup" and status.call_id:
            self.ports.update(status.call_id,
                              wrapup_s=round(self.ports.clock() - status.since, 3))
        self.ports.pool.try_apply(agent_id, MakeReady())

    # --- after a restart ----------------------------------------------------------------

    async def restore_talking(self, agent_id: str, call_id: str, channel: str = "") -> None:
        """An agent found in a bridge on a call the ACD connected: busy until that call
        ends, then wrap-up as usual."""
        if agent_id not in self.directory or call_id in self.state.connections:
            return
        since = self.ports.clock()
        try:
            row = await self.ports.store.interaction(call_id)
        except Exception as exc:  # the talk time is then counted from now
            self.log.warning("acd.restore_lookup_failed", call_id=call_id, error=str(exc)[:200])
            row = None
        queue = ""
        if row is not None and row.connected_at is not None:
            since = row.connected_at.timestamp()
            if row.queue in self.config.queues:
                queue = row.queue
                self.state.last_queue[agent_id] = row.queue
        self.state.connect(call_id, agent_id, since, channel or None, queue)
        self.ports.pool.try_apply(agent_id, Restore(call_id, OWNER), why="restored")
