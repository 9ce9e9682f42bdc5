"""Ringing agents for waiting callers: the router picks; this rings their phones.

The agent's leg is originated into [centralita-legs] with a `ChannelId` chosen here (the
registry knows the leg before it exists); the screen-pop goes out while it rings; on
answer the `Bridge` action joins caller and agent. A ring not answered puts the caller
back in their place and counts a miss for the agent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import structlog

from acd.figures import Figures
from acd.model import AcdConfig
from acd.routing import Offer
from acd.state import AcdState, Callback, Item, Waiting
from asterisk import actions
from asterisk import dialplan as dp
from asterisk.errors import AmiError
from asterisk.events import OriginateResponse
from core.agentstate import RingUnanswered
from core.events import CallConnected
from core.payloads import ScreenPop
from core.people import Directory
from core.ports import Ports

OWNER = "acd"
#: a callback's agent answered: dial the customer (callback, agent id, agent's channel)
CallbackAnswered = Callable[[Callback, str, str], Awaitable[None]]


class Ringer:
    def __init__(self, state: AcdState, ports: Ports, config: AcdConfig, directory: Directory,
                 figures: Figures, *, callback_answered: CallbackAnswered) -> None:
        self.state = state
        self.ports = ports
        self.config = config
        self.directory = directory
        self.figures = figures
        self.callback_answered = callback_answered
        self.log = structlog.get_logger("acd")

    # --- who rings for whom -------------------------------------------------------------

    def claim(self, agent_id: str) -> bool:
        """A free agent, offered by the pool: the waiting call they should take, if any."""
        offer = self.state.router.next_for_agent(agent_id, self.ports.clock())
        if offer is None:
            return False
        self.ring(offer)
        return True

    def dispatch(self, key: str) -> None:
        """A call arrived (or its requirements relaxed): ring the best agent(s) for it."""
        offer = self.state.router.next_for_call(key, self.ports.clock())
        if offer is not None:
            self.ring(offer)

    async def dispatch_later(self, key: str) -> None:
        self.dispatch(key)

    def unpin_later(self, key: str, seconds: float) -> None:
        """A call meant for one agent goes to anyone qualified if nobody took it in time."""
        self.ports.spawn(self._unpin_later(key, seconds))

    async def _unpin_later(self, key: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        call = self.state.router.calls.get(key)
        if call is not None and call.agent is not None and not call.offered:
            self.state.router.unpin(key)
            self.ports.step(key, "acd.unpinned", {"agent": call.agent})
            self.dispatch(key)

    # --- ringing --------------------------------------------------------------------------

    def ring(self, offer: Offer) -> None:
        """Reserve the offered agents for the call and ring their phones."""
        pool = self.ports.pool
        item = self.state.get(offer.call_id)
        if item is None:
            for agent_id in offer.agent_ids:
                pool.release(agent_id)
                self.state.router.set_ready(agent_id, self.ports.clock())
            return
        reserved = [a for a in offer.agent_ids if pool.reserve(a, item.key, OWNER)]
        if not reserved:  # the pool and the router disagreed: look again
            self.state.router.return_call(item.key)
            return
        self.ports.spawn(self._ring(item, reserved))

    async def _ring(self, item: Item, agent_ids: list[str]) -> None:
        now = self.ports.clock()
        queue = self.config.queues[item.queue]
        if isinstance(item, Waiting):
            # A blended agent whose phone a campaign keeps connected: no ring, the caller
            # is bridged to that line at once (the others of a ring-all stay free).
            for agent_id in agent_ids:
                line = self.ports.lines.take(agent_id, now)
                if line is None:
                    continue
                for other in agent_ids:
                    if other != agent_id:
                        self.ports.pool.release(other, item.key)
                self._offered(item, agent_id, now)
                await self._connect(item, agent_id, line, line=True)
                return
        outcomes: dict[str, asyncio.Future[OriginateResponse]] = {}
        for agent_id in agent_ids:
            agent = self.directory[agent_id]
            leg = f"acd-{uuid.uuid4().hex[:12]}"
            item.legs[leg] = agent_id
            self.ports.registry.expect(leg, item.key)
            self._offered(item, agent_id, now)
            try:
                outcomes[leg] = await self.ports.ami.originate(actions.originate(
                    channel=agent.device, context=dp.LEGS, exten=agent.extension or agent.id,
                    channel_id=leg, ring_timeout=queue.ring_timeout,
                    caller_id=f"{item.queue} <{item.caller_num or 'unknown'}>",
                    variables={dp.CALL_ID: item.key, dp.AGENT: agent_id}))
            except AmiError as exc:
                self.log.warning("acd.originate_failed", call_id=item.key, agent=agent_id,
                                 error=str(exc))
                item.legs.pop(leg, None)
                self.no_answer(agent_id, item)
        if outcomes:
            await self._await_answer(item, outcomes)
        elif self.state.is_waiting(item.key):
            self.state.router.return_call(item.key)
            self.dispatch(item.key)

    def _offered(self, item: Item, agent_id: str, now: float) -> None:
        self.ports.step(item.record, "acd.offered", {
            "agent": agent_id, "queue": item.queue, "callback": isinstance(item, Callback)},
            at=now)
        if isinstance(item, Waiting):
            self.ports.update(item.call_id, offered_at=now, agent=agent_id)
        self.ports.spawn(self._screenpop(item, agent_id, now))

    async def _await_answer(self, item: Item,
                            outcomes: dict[str, asyncio.Future[OriginateResponse]]) -> None:
        pool = self.ports.pool
        pending = set(outcomes.values())
        leg_of = {fut: leg for leg, fut in outcomes.items()}
        winner: tuple[str, OriginateResponse] | None = None
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
            for fut in done:
                leg = leg_of[fut]
                agent_id = item.legs.get(leg)
                try:
                    response: OriginateResponse | None = fut.result()
                except AmiError:
                    response = None
                if response is not None and response.success and winner is None:
                    winner = (leg, response)
                elif agent_id is not None:
                    if response is not None and response.success:  # lost a ring-all race
                        await self.ports.hangup(response.channel)
                        pool.release(agent_id, item.key)
                    elif not self.state.is_waiting(item.key):  # the caller left: not a miss
                        pool.release(agent_id, item.key)
                    else:
                        self.no_answer(agent_id, item)
                    item.legs.pop(leg, None)
        for fut in pending:  # ring-all: the others stop ringing
            leg = leg_of[fut]
            other = item.legs.pop(leg, None)
            await self.ports.hangup_leg(leg)
            if other is not None:
                pool.release(other, item.key)
        if winner is not None:
            agent_id = item.legs.pop(winner[0])
            await self._connect(item, agent_id, winner[1].channel)
        elif self.state.is_waiting(item.key):
            self.state.router.unpin(item.key)  # the agent it was meant for did not answer
            self.state.router.return_call(item.key)
            self.dispatch(item.key)

    def no_answer(self, agent_id: str, item: Item) -> None:
        limit = self.directory[agent_id].max_no_answer
        misses = self.ports.pool.status(agent_id).misses + 1
        self.ports.step(item.record, "acd.no_answer", {"agent": agent_id, "misses": misses})
        self.ports.pool.try_apply(agent_id, RingUnanswered(limit),
                                  why="no_answer" if misses >= limit else "")

    async def _connect(self, item: Item, agent_id: str, channel: str, *,
                       line: bool = False) -> None:
        """The agent's phone answered (or is a line kept connected): join them."""
        pool = self.ports.pool
        now = self.ports.clock()
        if not self.state.is_waiting(item.key):  # the caller left while the phone rang
            if line:
                self.ports.lines.parked(channel, now)
            else:
                await self.ports.hangup(channel)
            pool.release(agent_id, item.key)
            return
        if isinstance(item, Callback):
            await self.callback_answered(item, agent_id, channel)
            return
        try:
            await self.ports.ami.send(actions.bridge(item.channel, channel))
        except AmiError as exc:
            self.log.warning("acd.bridge_failed", call_id=item.call_id, agent=agent_id,
                             error=str(exc))
            self.ports.step(item.call_id, "acd.bridge_failed",
                            {"agent": agent_id, "error": str(exc)[:200]}, at=now)
            if line:
                self.ports.lines.parked(channel, now)
            else:
                await self.ports.hangup(channel)
            pool.release(agent_id, item.key)
            if self.state.is_waiting(item.key):
                self.state.router.return_call(item.key)
                self.dispatch(item.key)
            return
        self.state.remove(item.key)
        self.state.router.remove_call(item.key)
        if item.hold is not None:  # its AGI command is frozen by the bridge; stop holding it
            item.hold.cancel()
        self.state.connect(item.call_id, agent_id, now, channel, item.queue)
        self.state.numbers[item.call_id] = item.caller_num
        self.figures.count(item.queue, "answered", now - item.entered)
        self.state.last_queue[agent_id] = item.queue
        pool.connect(agent_id, item.call_id, OWNER)
        self.ports.bus.publish(CallConnected(item.call_id, agent_id, channel, now,
                                             queue=item.queue))
        self.ports.step(item.call_id, "acd.connected", {
            "agent": agent_id, "queue": item.queue, "wait": round(now - item.entered, 3),
            "line": line}, at=now)
        # answered from now on (a later transfer or survey may say more); the call's end
        # event then says the same as its row
        self.ports.data(item.call_id, {}, outcome="answered", at=now)
        self.ports.update(item.call_id, connected_at=now, agent=agent_id,
                          wait_s=round(now - item.entered, 3))

    async def _screenpop(self, item: Item, agent_id: str, now: float) -> None:
        """What the agent's desktop shows while their phone rings."""
        topics = self.ports.topics
        if topics is None:
            return
        history = await self.ports.store.customer_history(item.caller_num)
        pop = ScreenPop(
            call_id=item.key, agent=agent_id, queue=item.queue,
            callback=isinstance(item, Callback), wait=round(now - item.entered, 3),
            caller_num=item.caller_num, customer=item.data.get("customer"),
            ivr={k: v for k, v in item.data.items() if k != "customer"}, **history)
        self.ports.outbox(f"screenpop {item.key}", topics.agent_screenpop(agent_id), pop.encode())
