"""The IVR state machine, driven by hand: no loop, no AMI, time passed in."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.machine import (
    Caller,
    Capture,
    Collect,
    Finish,
    Keys,
    LookedUp,
    Lookup,
    PromptFailed,
    Record,
    SayDigits,
    SetLanguage,
    start,
    step,
)
from ivr.model import IvrConfig
from tests.conftest import shipped_ivr

OPEN = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Madrid
CLOSED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # Sunday
CONFIG = shipped_ivr()
ANON = Caller("+34911000000", "100")


def kinds(actions: list[object]) -> list[str]:
    return [a.kind for a in actions if isinstance(a, Record)]


def run(keys: list[object], caller: Caller = ANON, now: datetime = OPEN,
        config: IvrConfig = CONFIG) -> tuple[object, list[object]]:
    state, actions = start(config, caller, now)
    every = list(actions)
    for key in keys:
        state, actions = step(config, state, caller, key, now)  # type: ignore[arg-type]
        every += actions
    return state, every


def finish(actions: list[object]) -> Finish:
    done = [a for a in actions if isinstance(a, Finish)]
    assert len(done) == 1
    return done[0]


def test_open_hours_lead_to_the_language_menu() -> None:
    state, actions = start(CONFIG, ANON, OPEN)
    assert state.node == "welcome"
    assert kinds(actions) == ["ivr.started", "ivr.entered", "ivr.schedule", "ivr.entered",
                              "ivr.branch", "ivr.entered"]
    collect = actions[-1]
    assert isinstance(collect, Collect)
    assert collect.prompts == ("custom/welcome", "custom/language-choice")


def test_spanish_then_support_routes_to_the_support_queue_in_spanish() -> None:
    state, actions = run([Keys("2"), Keys("2")])
    assert SetLanguage("es") in actions
    done = finish(actions)
    assert (done.route.queue, done.route.skills, done.language) == ("support", {"support": 3}, "es")
    assert state.done


def test_closed_hours_offer_voicemail() -> None:
    _state, actions = run([Keys("1")], now=CLOSED)
    assert finish(actions).route.voicemail == "100@default"


def test_timeouts_retry_with_their_prompt_then_fall_back() -> None:
    _, actions = run([Keys("1"), Keys("", True), Keys("", True), Keys("", True)])
    assert kinds(actions).count("ivr.timeout") == 3
    retry = [a for a in actions if isinstance(a, Collect)][2]
    assert retry.prompts[0] == "please-try-again"
    assert "ivr.retries_exhausted" in kinds(actions)
    assert finish(actions).route.queue == "operator"


def test_invalid_key_plays_invalid_and_counts_as_an_attempt() -> None:
    state, actions = run([Keys("1"), Keys("9")])
    assert "ivr.invalid" in kinds(actions) and state.attempts == 1
    assert [a for a in actions if isinstance(a, Collect)][-1].prompts[0] == "invalid"
    _, actions = run([Keys("1"), Keys("9"), Keys("3")])
    assert finish(actions).route.queue == "sales"


def test_star_repeats_zero_goes_to_the_operator_hash_goes_back() -> None:
    state, actions = run([Keys("1"), Keys("*")])
    assert "ivr.repeat" in kinds(actions) and state.node == "main" and state.attempts == 0
    _, actions = run([Keys("1"), Keys("0")])
    assert finish(actions).route.queue == "operator"
    state, actions = run([Keys("1"), Keys("#")])
    assert "ivr.back" in kinds(actions) and state.node == "welcome"


def test_account_capture_validates_reads_back_and_confirms() -> None:
    state, actions = run([Keys("1"), Keys("1"), Keys("12345670")])  # bad check digit
    assert any(isinstance(a, Record) and a.kind == "ivr.invalid" and
               a.data["reason"] == "check digit wrong" for a in actions)
    state, actions = run([Keys("1"), Keys("1"), Keys("12345674")])
    assert SayDigits("12345674") in actions and state.phase == "confirm"
    _, actions = run([Keys("1"), Keys("1"), Keys("12345674"), Keys("1")])
    assert Capture("account", "12345674") in actions
    assert finish(actions).route.queue == "billing"
    state, actions = run([Keys("1"), Keys("1"), Keys("12345674"), Keys("2")])
    assert "ivr.not_confirmed" in kinds(actions) and state.phase == "collect"


def test_two_hundred_digits_are_just_an_invalid_entry() -> None:
    state, actions = run([Keys("1"), Keys("1"), Keys("9" * 200)])
    assert "ivr.invalid" in kinds(actions) and not state.done


def test_a_vip_customer_skips_the_menus() -> None:
    vip = Caller("+34911000001", "100", known=True, vip=True)
    _, actions = run([], caller=vip)
    done = finish(actions)
    assert (done.route.queue, done.route.priority) == ("support", 50)


def test_a_customer_who_speaks_spanish_hears_spanish() -> None:
    es = Caller("+34911000002", "100", known=True, language="es")
    state, actions = run([], caller=es)
    assert SetLanguage("es") in actions and state.language == "es"


def test_the_spanish_number_starts_in_spanish() -> None:
    _, actions = start(CONFIG, Caller("+34911", "900100200"), OPEN)
    assert SetLanguage("es") in actions


def test_a_failed_prompt_takes_the_failure_branch() -> None:
    _, actions = run([Keys("1"), PromptFailed("custom/main-menu")])
    assert "ivr.prompt_failed" in kinds(actions)
    assert finish(actions).route.queue == "operator"


def test_store_lookup_of_a_captured_account() -> None:
    config = CONFIG.model_copy(update={"nodes": {
        **CONFIG.nodes,
        "account": CONFIG.nodes["account"].model_copy(update={"lookup": "customer_account",
                                                               "confirm": False})}})
    state, actions = run([Keys("1"), Keys("1"), Keys("12345674")], config=config)
    assert Lookup("account", "12345674") in actions and state.phase == "lookup"
    state2, actions = step(config, state, ANON, LookedUp(False), OPEN)
    assert "ivr.not_found" in kinds(actions) and state2.attempts == 1
    _, actions = step(config, state, ANON, LookedUp(True), OPEN)
    assert finish(actions).route.queue == "billing"


def test_a_runaway_path_is_stopped_by_the_step_guard() -> None:
    config = CONFIG.model_copy(update={"max_steps": 5})
    _state, actions = run([Keys("1"), Keys("#"), Keys("1"), Keys("#")], config=config)
    assert "ivr.loop_guard" in kinds(actions) and finish(actions).route.hangup


def test_closed_hours_offer_a_callback() -> None:
    _, actions = run([Keys("2")], now=CLOSED)
    assert finish(actions).route.callback
