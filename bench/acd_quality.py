"""bench/acd_quality: a discrete-event simulation of the real acd/ routing code.

Virtual time, Poisson arrivals, exponential handle times, agents answer at once (no
ring time, no wrap-up), so the single-skill run must land on Erlang C: it validates the
simulation. Then four skills at the same head-count: 1 skill per agent (four separate
teams), 2 skills per agent (each agent covers its skill and the next), and a fully
pooled team. Service level is the share answered within 20 s.
"""

from __future__ import annotations

import heapq
import itertools
import random
import statistics
import sys
from dataclasses import dataclass

from acd.erlang import erlang_c
from acd.routing import QueueRules, Router

TARGET = 20.0
AHT = 240.0


@dataclass(frozen=True, slots=True)
class Result:
    calls: int
    service_level: float
    asa: float
    p_wait: float


def simulate(agent_skills: list[list[str]], skills: list[str], rate: float, calls: int,
             seed: int = 1) -> Result:
    """`rate` arrivals/s in total, spread evenly over `skills`; each call needs one skill."""
    rng = random.Random(seed)
    router = Router([QueueRules(s, skills={s: 1}) for s in skills])
    for i, own in enumerate(agent_skills):
        router.add_agent(f"a{i}", {s: 5 for s in own}, {s: 0 for s in own})
        router.set_ready(f"a{i}", 0.0)
    events: list[tuple[float, int, str, str]] = []
    seq = itertools.count()
    heapq.heappush(events, (rng.expovariate(rate), next(seq), "arrive", ""))
    arrived = 0
    waits: list[float] = []
    entered: dict[str, float] = {}
    warmup = calls // 20

    def start(call_id: str, agent_id: str, now: float) -> None:
        router.remove_call(call_id)
        if int(call_id) >= warmup:
            waits.append(now - entered.pop(call_id))
        else:
            entered.pop(call_id)
        heapq.heappush(events, (now + rng.expovariate(1 / AHT), next(seq), "done", agent_id))

    while events:
        now, _, kind, who = heapq.heappop(events)
        if kind == "arrive":
            call_id = str(arrived)
            arrived += 1
            entered[call_id] = now
            router.add_call(call_id, rng.choice(skills), entered=now)
            offer = router.next_for_call(call_id, now)
            if offer is not None:
                start(call_id, offer.agent_ids[0], now)
            if arrived < calls:
                heapq.heappush(events, (now + rng.expovariate(rate), next(seq), "arrive", ""))
        else:
            router.set_ready(who, now)
            offer = router.next_for_agent(who, now)
            if offer is not None:
                start(offer.call_id, who, now)
    n = len(waits)
    return Result(n, 100 * sum(w <= TARGET for w in waits) / n, sum(waits) / n,
                  100 * sum(w > 0 for w in waits) / n)


def replicate(runs: int, agent_skills: list[list[str]], skills: list[str], rate: float,
              calls: int, seed: int = 100) -> tuple[Result, float]:
    """Independent replications (at 91% occupancy one long run is too noisy); the mean and
    the standard error of its service level."""
    results = [simulate(agent_skills, skills, rate, calls, seed=seed + i) for i in range(runs)]
    sls = [r.service_level for r in results]
    n = sum(r.calls for r in results)
    mean = Result(n, statistics.fmean(sls), statistics.fmean(r.asa for r in results),
                  statistics.fmean(r.p_wait for r in results))
    return mean, statistics.stdev(sls) / len(sls) ** 0.5 if len(sls) > 1 else 0.0


def main(calls: int = 200_000, runs: int = 16) -> dict[str, float]:
    rate = 360 / 1800  # 360 calls per 30 min: 48 E at AHT 240 s
    agents = 53
    single, stderr = replicate(runs, [["s"]] * agents, ["s"], rate, calls)
    erl = erlang_c(agents, rate * AHT, AHT, TARGET)
    skills = ["a", "b", "c", "d"]
    team = 56  # 14 per skill at 12 E each
    few = max(2, runs // 4)
    one, _ = replicate(few, [[skills[i % 4]] for i in range(team)], skills, rate, calls)
    two, _ = replicate(few, [[skills[i % 4], skills[(i + 1) % 4]] for i in range(team)], skills,
                       rate, calls)
    pooled, _ = replicate(few, [skills] * team, skills, rate, calls)
    print(f"\nbench/acd_quality: {runs} x {calls} calls (single skill), {few} x {calls} per "
          f"4-skill team; 48 E offered, AHT {AHT:.0f} s; service level = answered within "
          f"{TARGET:.0f} s; simulated SL standard error {stderr:.2f} points")
    print(f"{'single skill, 53 agents':32}{'simulated':>12}{'Erlang C':>12}{'diff':>8}")
    print(f"{'service level %':32}{single.service_level:>12.2f}{100 * erl.service_level:>12.2f}"
          f"{single.service_level - 100 * erl.service_level:>8.2f}")
    print(f"{'ASA s':32}{single.asa:>12.2f}{erl.asa:>12.2f}{single.asa - erl.asa:>8.2f}")
    print(f"{'P(wait) %':32}{single.p_wait:>12.2f}{100 * erl.p_wait:>12.2f}"
          f"{single.p_wait - 100 * erl.p_wait:>8.2f}")
    print(f"\n{'4 skills, 56 agents':32}{'SL %':>12}{'ASA s':>12}{'vs pooled':>10}")
    for name, res in (("1 skill per agent", one), ("2 skills per agent", two),
                      ("fully pooled", pooled)):
        print(f"{name:32}{res.service_level:>12.2f}{res.asa:>12.2f}"
              f"{res.service_level / pooled.service_level:>10.3f}")
    ok_sim = abs(single.service_level - 100 * erl.service_level) <= 1.0
    ok_two = two.service_level >= 0.95 * pooled.service_level
    print(f"targets: simulation within 1 point of Erlang C -> {'met' if ok_sim else 'NOT met'}; "
          f"2 skills >= 95% of pooled -> {'met' if ok_two else 'NOT met'}")
    print(f"BENCH acd_quality sl_sim={single.service_level:.2f} "
          f"sl_erlang_c={100 * erl.service_level:.2f} asa_sim={single.asa:.2f} "
          f"asa_erlang_c={erl.asa:.2f} sl_1skill={one.service_level:.2f} "
          f"sl_2skill={two.service_level:.2f} sl_pooled={pooled.service_level:.2f}")
    sys.stdout.flush()
    return {"sl_sim": single.service_level, "sl_erlang_c": 100 * erl.service_level}


if __name__ == "__main__":
    main()
