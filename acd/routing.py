"""Skill-based routing decisions: which agent takes which call.

Pure (no I/O, time is a parameter), but kept as an index rather than recomputed from
plain lists: a decision at 1,000 agents and 2,000 waiting calls must cost well under a
millisecond. Each queue keeps its waiting calls in a heap ordered by (priority desc,
arrival) and its ready agents in a heap ordered by the queue's strategy; entries that
went stale (a call answered, an agent no longer ready) are dropped lazily when they
reach the top, so each change is O(log n).

Decisions are imperatives: `Offer` (ring these agents for this call; one agent, or
several for ring-all) and `Overflow` (send the call elsewhere).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Step:
    """After `after` seconds of waiting: accept agents down to `min_level` (1: anyone with
    the skill), or overflow to `overflow` (another queue, voicemail, ...)."""

    after: float
    min_level: int | None = None
    overflow: str | None = None


@dataclass(frozen=True, slots=True)
class QueueRules:
    name: str
    strategy: str = "longest_idle"
    skills: Mapping[str, int] = field(default_factory=dict)  # every call in it needs these
    priority: int = 0
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class Offer:
    call_id: str
    agent_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Overflow:
    call_id: str
    target: str


@dataclass(slots=True)
class Agent:
    id: str
    skills: dict[str, int]
    queues: dict[str, int]  # queue -> penalty (lower is preferred)
    ready: bool = False
    idle_since: float = 0.0
    calls_today: int = 0
    talk_today: float = 0.0
    last_offer: int = 0
    version: int = 0  # bumped on every change: heap entries with an older one are stale


@dataclass(slots=True)
class Call:
    id: str
    queue: str
    needs: dict[str, int]  # skill -> minimum level
    priority: int
    entered: float
    version: int = 0
    offered: bool = False  # ringing an agent now: not available to others
    agent: str | None = None  # only this agent may take it (a transfer to them, a follow-up)


class Router:
    def __init__(self, queues: Iterable[QueueRules], *, seed: int = 0) -> None:
        self.rules: dict[str, QueueRules] = {q.name: q for q in queues}
        self.agents: dict[str, Agent] = {}
        self.calls: dict[str, Call] = {}
        self._waiting: dict[str, list[tuple[int, float, int, str, int]]] = {q: [] for q in self.rules}
        self._ready: dict[str, list[tuple[tuple[float, ...], int, str, int]]] = {
            q: [] for q in self.rules}
        self._waiting_count: dict[str, int] = dict.fromkeys(self.rules, 0)  # not offered
        self._seq = itertools.count()
        self._rng = random.Random(seed)

    # --- agents ---------------------------------------------------------------------

    def add_agent(self, agent_id: str, skills: Mapping[str, int], queues: Mapping[str, int]) -> None:
        unknown = set(queues) - set(self.rules)
        if unknown:
            raise KeyError(f"agent {agent_id}: unknown queue(s) {sorted(unknown)}")
        self.agents[agent_id] = Agent(agent_id, dict(skills), dict(queues))

    def update_agent(self, agent_id: str, skills: Mapping[str, int],
                     queues: Mapping[str, int]) -> None:
        """New skills and queues for an agent (a reload), keeping their day's figures and
        idle time; a ready agent is ready in their new queues at once."""
        unknown = set(queues) - set(self.rules)
        if unknown:
            raise KeyError(f"agent {agent_id}: unknown queue(s) {sorted(unknown)}")
        a = self.agents[agent_id]
        a.skills, a.queues = dict(skills), dict(queues)
        a.version += 1  # the old entries in the ready heaps are stale now
        if a.ready:
            for queue, penalty in a.queues.items():
                heapq.heappush(self._ready[queue], (self._agent_key(queue, a, penalty),
                                                    next(self._seq), a.id, a.version))

    def set_rules(self, rules: QueueRules) -> None:
        """A queue's rules (a reload): for calls that join from now on; a new name is a
        new queue."""
        if rules.name not in self.rules:
            self._waiting[rules.name] = []
            self._ready[rules.name] = []
            self._waiting_count[rules.name] = 0
        self.rules[rules.name] = rules

    def remove_queue(self, name: str) -> bool:
        """A queue taken out of queues.yaml (a reload): only once nobody waits in it."""
        if self._waiting_count.get(name, 0) or any(c.queue == name for c in self.calls.values()):
            return False
        for table in (self.rules, self._waiting, self._ready, self._waiting_count):
            table.pop(name, None)  # type: ignore[attr-defined]
        return True

    def set_ready(self, agent_id: str, now: float) -> None:
        a = self.agents[agent_id]
        a.ready = True
        a.idle_since = now
        a.version += 1
        for queue, penalty in a.queues.items():
            heapq.heappush(self._ready[queue], (self._agent_key(queue, a, penalty),
                                                next(self._seq), a.id, a.version))

    def set_not_ready(self, agent_id: str) -> None:
        a = self.agents[agent_id]
        a.ready = False
        a.version += 1

    def record_call(self, agent_id: str, talk: float) -> None:
        """A finished call counts towards least_calls / least_talk."""
        a = self.agents[agent_id]
        a.calls_today += 1
        a.talk_today += talk

    def _agent_key(self, queue: str, a: Agent, penalty: int) -> tuple[float, ...]:
        strategy = self.rules[queue].strategy
        if strategy == "least_calls":
            return (penalty, a.calls_today, a.idle_since)
        if strategy == "least_talk":
            return (penalty, a.talk_today, a.idle_since)
        if strategy == "skill_level":
            best = max((a.skills.get(s, 0) for s in self.rules[queue].skills), default=0)
            return (penalty, -best, a.idle_since)
        if strategy == "round_robin":
            return (penalty, a.last_offer, a.idle_since)
        if strategy == "random":
            return (penalty, self._rng.random())
        return (penalty, a.idle_since)  # longest_idle, ring_all

    # --- calls ----------------------------------------------------------------------

    def add_call(self, call_id: str, queue: str, *, needs: Mapping[str, int] | None = None,
                 priority: int = 0, entered: float, agent: str | None = None) -> None:
        rules = self.rules[queue]
        merged = dict(rules.skills)
        for skill, level in (needs or {}).items():
            merged[skill] = max(level, merged.get(skill, 0))
        call = Call(call_id, queue, merged, rules.priority + priority, entered, agent=agent)
        self.calls[call_id] = call
        self._waiting_count[queue] += 1
        self._push_call(call)

    def _push_call(self, call: Call) -> None:
        call.version += 1
        heapq.heappush(self._waiting[call.queue],
                       (-call.priority, call.entered, next(self._seq), call.id, call.version))

    def reprioritise(self, call_id: str, priority: int) -> None:
        call = self.calls[call_id]
        call.priority = priority
        self._push_call(call)

    def remove_call(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is not None:
            call.version += 1
            if not call.offered:
                self._waiting_count[call.queue] -= 1

    def return_call(self, call_id: str) -> None:
        """A ring went unanswered: the call is back in its place (its arrival time kept)."""
        call = self.calls.get(call_id)
        if call is not None and call.offered:
            call.offered = False
            self._waiting_count[call.queue] += 1
            self._push_call(call)

    def move_call(self, call_id: str, queue: str) -> None:
        """Overflow to another queue, keeping the caller's original arrival time; the call
        now needs what the new queue needs (overflow is a way of widening who may answer)."""
        call = self.calls[call_id]
        call.priority += self.rules[queue].priority - self.rules[call.queue].priority
        call.needs = dict(self.rules[queue].skills)
        if not call.offered:
            self._waiting_count[call.queue] -= 1
        self._waiting_count[queue] += 1
        call.queue = queue
        call.offered = False
        self._push_call(call)

    def waiting(self, queue: str) -> int:
        """Calls in `queue` not being offered right now (O(1): checked on every arrival)."""
        return self._waiting_count[queue]

    def position(self, call_id: str) -> int:
        """1-based place among the calls of its queue not yet being offered. A scan: it is
        asked for announcements and events, not for routing decisions."""
        call = self.calls[call_id]
        key = (-call.priority, call.entered)
        return 1 + sum(1 for c in self.calls.values() if c.queue == call.queue and not c.offered
                       and c.id != call_id and (-c.priority, c.entered) < key)

    # --- decisions ------------------------------------------------------------------

    def min_levels(self, call: Call, now: float) -> dict[str, int]:
        """The call's needs after the escalation steps its wait has reached."""
        cap: int | None = None
        for step in self.rules[call.queue].steps:
            if step.min_level is not None and now - call.entered >= step.after:
                cap = step.min_level if cap is None else min(cap, step.min_level)
        if cap is None:
            return call.needs
        return {s: min(level, cap) for s, level in call.needs.items()}

    def unpin(self, call_id: str) -> None:
        """Any qualified agent may take the call from now on."""
        call = self.calls.get(call_id)
        if call is not None:
            call.agent = None

    def qualifies(self, agent: Agent, call: Call, now: float) -> bool:
        if call.agent is not None:
            return call.agent == agent.id  # pinned: that agent's skills are not questioned
        skills = agent.skills
        return all(skills.get(s, 0) >= level for s, level in self.min_levels(call, now).items())

    def next_for_call(self, call_id: str, now: float) -> Offer | None:
        """A call arrived (or its requirements relaxed): the best ready agent(s) for it."""
        call = self.calls.get(call_id)
        if call is None or call.offered:
            return None
        heap = self._ready[call.queue]
        ring_all = self.rules[call.queue].strategy == "ring_all"
        chosen: list[str] = []
        skipped: list[tuple[tuple[float, ...], int, str, int]] = []
        while heap:
            entry = heapq.heappop(heap)
            agent = self.agents.get(entry[2])
            if agent is None or not agent.ready or agent.version != entry[3]:
                continue  # stale: drop for good
            skipped.append(entry)
            if self.qualifies(agent, call, now) and self._best_call_for(agent, now) is call:
                chosen.append(agent.id)
                if not ring_all:
                    break
        for entry in skipped:
            heapq.heappush(heap, entry)
        if not chosen:
            return None
        return self._offer(call, chosen)

    def next_for_agent(self, agent_id: str, now: float) -> Offer | None:
        """An agent became ready: the call they should take, from all their queues."""
        agent = self.agents[agent_id]
        if not agent.ready:
            return None
        call = self._best_call_for(agent, now)
        if call is None:
            return None
        if self.rules[call.queue].strategy == "ring_all":
            return self.next_for_call(call.id, now)
        return self._offer(call, [agent.id])

    def _offer(self, call: Call, agent_ids: list[str]) -> Offer:
        call.offered = True
        self._waiting_count[call.queue] -= 1
        call.version += 1  # out of the waiting heaps while it rings
        seq = next(self._seq)
        for agent_id in agent_ids:
            agent = self.agents[agent_id]
            agent.ready = False
            agent.version += 1
            agent.last_offer = seq
        return Offer(call.id, tuple(agent_ids))

    def _best_call_for(self, agent: Agent, now: float) -> Call | None:
        best: Call | None = None
        best_key: tuple[int, float] | None = None
        for queue in agent.queues:
            call = self._head_for(queue, agent, now)
            if call is not None:
                key = (-call.priority, call.entered)
                if best_key is None or key < best_key:
                    best, best_key = call, key
        return best

    def _head_for(self, queue: str, agent: Agent, now: float) -> Call | None:
        """The first waiting call of `queue` (priority, then age) that `agent` can take."""
        heap = self._waiting[queue]
        skipped: list[tuple[int, float, int, str, int]] = []
        found: Call | None = None
        while heap:
            entry = heap[0]
            call = self.calls.get(entry[3])
            if call is None or call.version != entry[4] or call.queue != queue:
                heapq.heappop(heap)  # stale
                continue
            if self.qualifies(agent, call, now):
                found = call
                break
            skipped.append(heapq.heappop(heap))
        for entry in skipped:
            heapq.heappush(heap, entry)
        return found

    def overflow_due(self, call_id: str, now: float) -> Overflow | None:
        """The overflow step this waiting call's wait has reached, if any (the latest one)."""
        call = self.calls.get(call_id)
        if call is None or call.offered:
            return None
        for step in reversed(self.rules[call.queue].steps):
            if step.overflow and now - call.entered >= step.after:
                return Overflow(call.id, step.overflow)
        return None

    def due_overflows(self, now: float) -> list[Overflow]:
        """Every waiting call whose wait has reached an overflow step."""
        return [o for o in (self.overflow_due(c, now) for c in self.calls) if o is not None]
