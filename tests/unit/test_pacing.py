"""Pacing (dialer/pacing.py): how many customers to dial, from the agents' states, the calls
in flight and what has been measured; and the campaign simulation it drives."""

from __future__ import annotations

from dataclasses import replace

from dialer.pacing import Agent, Dial, InFlight, Measured, Pacer, Samples, Situation, Stop, Wait
from dialer.simulation import World, simulate

MEASURED = Measured(answer_rate=0.3, human_rate=0.8, ring=Samples.of([1.0, 2.0, 3.0]),
                    talk=Samples.of([60.0 * k for k in range(1, 7)]),
                    wrapup=Samples.of([30.0]), amd_time=1.9, ring_timeout=15.0,
                    humans_seen=500, abandon_pct=1.0, recent_abandon_pct=1.0,
                    recent_humans=300)


def situation(mode: str = "predictive", agents: tuple[Agent, ...] = (), **kw: object
              ) -> Situation:
    base = Situation(now=1000.0, mode=mode, agents=agents, in_flight=(), measured=MEASURED,  # type: ignore[arg-type]
                     abandon_cap=3.0)
    return replace(base, **kw)  # type: ignore[arg-type]


def ready(n: int) -> tuple[Agent, ...]:
    return tuple(Agent("ready", 990.0) for _ in range(n))


def test_nobody_logged_in_waits_and_preview_never_dials() -> None:
    pacer = Pacer()
    assert isinstance(pacer.decide(situation()), Wait)
    assert isinstance(pacer.decide(situation(agents=(Agent("logged_out", 0.0),))), Wait)
    d = pacer.decide(situation("preview", ready(3)))
    assert isinstance(d, Dial) and d.count == 0


def test_progressive_dials_one_per_free_agent_and_holds_them() -> None:
    pacer = Pacer()
    d = pacer.decide(situation("progressive", (*ready(3), Agent("on_call", 900.0)),
                               in_flight=(InFlight(995.0),)))
    assert isinstance(d, Dial) and d.count == 2 and d.holds_agents


def test_power_dials_its_ratio_within_the_line_cap_until_the_abandon_rate_nears_the_cap(
) -> None:
    pacer = Pacer()
    d = pacer.decide(situation("power", ready(4), ratio=1.5))
    assert isinstance(d, Dial) and d.count == 6 and not d.holds_agents
    d = pacer.decide(situation("power", ready(2), ratio=5.0, max_dial_level=2.0))
    assert isinstance(d, Dial) and d.count == 4  # two agents, two lines each at most
    near = replace(MEASURED, abandon_pct=2.95)
    d = pacer.decide(situation("power", ready(4), ratio=2.0, measured=near))
    assert isinstance(d, Dial) and d.count == 4 and d.holds_agents and "progressive" in d.why


def test_predictive_learns_first_falls_back_near_the_cap_and_stops_without_people() -> None:
    pacer = Pacer()
    new = replace(MEASURED, humans_seen=10)
    d = pacer.decide(situation(agents=ready(5), measured=new))
    assert isinstance(d, Dial) and d.count == 5 and "learning" in d.why
    hot = replace(MEASURED, abandon_pct=2.95)
    d = pacer.decide(situation(agents=ready(5), measured=hot))
    assert isinstance(d, Dial) and d.count == 5 and "near the cap" in d.why
    dead = replace(MEASURED, answer_rate=0.0)
    d = pacer.decide(situation(agents=ready(5), measured=dead))
    assert isinstance(d, Stop) and "answered by a person" in d.why


def test_predictive_dials_more_for_agents_about_to_be_free_and_keeps_its_abandon_target(
) -> None:
    pacer = Pacer()
    fresh = tuple(Agent("wrapup", 999.0) for _ in range(10))  # wrap-up just begun (30 s)
    ending = tuple(Agent("wrapup", 1000.0 - 29.0) for _ in range(10))  # about to end
    d_fresh = pacer.decide(situation(agents=fresh))
    d_ending = pacer.decide(situation(agents=ending))
    assert isinstance(d_fresh, Dial) and isinstance(d_ending, Dial)
    assert d_ending.count > d_fresh.count
    assert d_ending.expected_abandon_pct <= 0.75 * 3.0 + 1e-9
    d_ready = pacer.decide(situation(agents=ready(10)))
    assert isinstance(d_ready, Dial)
    # Ten free agents, three in ten dials bring a person: well over ten lines, but within
    # the line cap.
    assert 10 < d_ready.count <= 40
    busy = pacer.decide(situation(agents=ready(10), in_flight=tuple(
        InFlight(999.0) for _ in range(20))))
    assert isinstance(busy, Dial) and busy.count < d_ready.count


def test_the_controller_dials_less_while_the_recent_abandon_rate_is_over_its_aim() -> None:
    pacer = Pacer()
    hot = replace(MEASURED, recent_abandon_pct=5.0)
    first = pacer.decide(situation(agents=ready(10), measured=hot, scale_at=940.0))
    assert isinstance(first, Dial) and first.scale < 1.0
    cool = pacer.decide(situation(agents=ready(10), scale_at=940.0))
    assert isinstance(cool, Dial) and first.count <= cool.count


def test_simulated_hours_predictive_beats_progressive_within_the_cap() -> None:
    world = World(agents=20, hours=2.0, seed=3)
    predictive = simulate(world, "predictive")
    progressive = simulate(world, "progressive")
    assert predictive.abandon_pct <= 3.0
    assert progressive.abandoned == 0
    assert predictive.busy > progressive.busy
    assert predictive.connected > progressive.connected
