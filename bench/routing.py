"""bench/routing: the cost of one routing decision, next to a naive linear scan.

50 queues; agents in 1-3 queues with 1-3 skills at levels 1-10; waiting calls need
their queue's skill at a level 1-6, so not every agent fits every call. Measured: an
agent becomes free and the router picks their call (set_ready + next_for_agent), the
call is answered and a new caller arrives, keeping the waiting count constant. The
baseline scans every waiting call of the agent's queues in the same run.
"""

from __future__ import annotations

import random
import statistics
import sys
import time

from acd.routing import QueueRules, Router

QUEUES = 50


def build(agents: int, waiting: int, seed: int = 7) -> tuple[Router, random.Random, list[str]]:
    rng = random.Random(seed)
    skills = [f"skill{i}" for i in range(QUEUES)]
    router = Router([QueueRules(f"q{i}", skills={skills[i]: 1}) for i in range(QUEUES)])
    ids = []
    for n in range(agents):
        mine = rng.sample(range(QUEUES), rng.randint(1, 3))
        router.add_agent(f"a{n}", {skills[i]: rng.randint(1, 10) for i in mine},
                         {f"q{i}": rng.randint(0, 2) for i in mine})
        ids.append(f"a{n}")
    for c in range(waiting):
        q = rng.randrange(QUEUES)
        router.add_call(f"c{c}", f"q{q}", needs={skills[q]: rng.randint(1, 6)},
                        priority=rng.choice((0, 0, 0, 10)), entered=float(c))
    return router, rng, ids


def naive_pick(router: Router, agent_id: str, now: float) -> str | None:
    agent = router.agents[agent_id]
    best, best_key = None, None
    for call in router.calls.values():
        if call.offered or call.queue not in agent.queues:
            continue
        if router.qualifies(agent, call, now):
            key = (-call.priority, call.entered)
            if best_key is None or key < best_key:
                best, best_key = call.id, key
    return best


def measure(agents: int, waiting: int, decisions: int = 3000) -> tuple[list[float], list[float]]:
    router, rng, ids = build(agents, waiting)
    fast: list[float] = []
    slow: list[float] = []
    seq = waiting
    now = float(waiting)
    perf = time.perf_counter
    for _ in range(decisions):
        now += 1.0
        agent = rng.choice(ids)
        t0 = perf()
        naive = naive_pick(router, agent, now)
        slow.append(perf() - t0)
        t0 = perf()
        router.set_ready(agent, now)
        offer = router.next_for_agent(agent, now)
        fast.append(perf() - t0)
        assert (offer.call_id if offer else None) == naive, "router and scan disagree"
        if offer is not None:
            router.remove_call(offer.call_id)
            q = rng.randrange(QUEUES)
            router.add_call(f"c{seq}", f"q{q}", needs={f"skill{q}": rng.randint(1, 6)},
                            entered=now)
            seq += 1
        router.set_not_ready(agent)
    return fast, slow


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1] * 1e6


def main() -> dict[str, float]:
    print("\nbench/routing: one decision (agent frees up -> their call), 50 queues")
    print(f"{'agents':>8}{'waiting':>9}{'p50 us':>10}{'p99 us':>10}{'scan p50 us':>13}"
          f"{'scan p99 us':>13}{'speed-up p50':>14}")
    last: tuple[float, float] = (0.0, 0.0)
    for agents, waiting in ((100, 200), (1000, 200), (100, 2000), (1000, 2000)):
        fast, slow = measure(agents, waiting)
        p50, p99, s50, s99 = pct(fast, 50), pct(fast, 99), pct(slow, 50), pct(slow, 99)
        print(f"{agents:>8}{waiting:>9}{p50:>10.1f}{p99:>10.1f}{s50:>13.1f}{s99:>13.1f}"
              f"{s50 / p50:>14.1f}")
        last = (p50, p99)
    print(f"target: well under 1 ms at 1,000 agents and 2,000 waiting -> "
          f"{'met' if last[1] < 1000 else 'NOT met'}")
    print(f"BENCH routing agents=1000 waiting=2000 p50_us={last[0]:.1f} p99_us={last[1]:.1f}")
    sys.stdout.flush()
    return {"p50_us": last[0], "p99_us": last[1]}


if __name__ == "__main__":
    main()
