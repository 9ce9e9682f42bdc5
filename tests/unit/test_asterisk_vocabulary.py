"""The AMI actions and AGI commands the engine sends, spelled once (asterisk/actions.py,
asterisk/agi.py), as Asterisk 20.20.1 accepted them in ../shared/ami-transcripts."""

from __future__ import annotations

from asterisk import actions, agi
from asterisk import dialplan as dp
from asterisk.wire import format_action


def test_originate_names_the_leg_and_sets_the_engines_variables() -> None:
    a = actions.originate(channel="PJSIP/agent1001", context=dp.LEGS, exten="1001",
                          channel_id="acd-1", ring_timeout=15, caller_id="support <600>",
                          variables={dp.CALL_ID: "c1", dp.AGENT: "1001"})
    assert a.name == "Originate"
    assert dict(a.headers) == {
        "Channel": "PJSIP/agent1001", "Context": "centralita-legs", "Exten": "1001",
        "Priority": "1", "Timeout": "15000", "ChannelId": "acd-1", "CallerID": "support <600>",
        "Variable": ["CENTRALITA_CALL_ID=c1", "CENTRALITA_AGENT=1001"]}
    wire = format_action(a.name, a.headers).decode()
    assert "Variable: CENTRALITA_CALL_ID=c1\r\nVariable: CENTRALITA_AGENT=1001\r\n" in wire


def test_originate_variables_survive_asterisks_splitting_of_the_header() -> None:
    from sim.dialplan import separate_args

    a = actions.originate(channel="PJSIP/+12127365001@trunk", context=dp.DIALER,
                          exten=dp.AMD, channel_id="dlr-1", ring_timeout=20, caller_id="x",
                          variables={dp.AMD_ARGS: "2500,1500,800", "NOTE": 'say "hi" (now)'})
    sent = list(a.headers["Variable"])
    assert sent == ['CENTRALITA_AMD="2500,1500,800"', 'NOTE=say \\"hi\\" \\(now\\)']
    # As main/app.c reads each header (the sim copies it): one variable, its value whole.
    assert [separate_args(v) for v in sent] == [["CENTRALITA_AMD=2500,1500,800"],
                                                ['NOTE=say "hi" (now)']]
    assert separate_args("A=1,B=2") == ["A=1", "B=2"]  # unquoted: two variables


def test_the_other_actions() -> None:
    assert actions.bridge("A", "B").headers == {"Channel1": "A", "Channel2": "B", "Tone": "no"}
    pair = actions.redirect_pair("caller", (dp.LEGS, dp.HOLD), "agent", (dp.LEGS, dp.CONSULT))
    assert (pair.headers["Exten"], pair.headers["ExtraChannel"], pair.headers["ExtraExten"]) == (
        "hold", "agent", "consult")
    assert actions.hangup("X").headers == {"Channel": "X"}
    assert actions.hangup("X", 16).headers == {"Channel": "X", "Cause": "16"}
    assert actions.mixmonitor("X", "/f.wav", bridged_only=True).headers["Options"] == "b"
    assert actions.mixmonitor_mute("X", True).headers == {"Channel": "X", "Direction": "both",
                                                          "State": "1"}
    spy = actions.originate_app(channel="PJSIP/sup", application="ChanSpy", data="PJSIP/a,qEd",
                                ring_timeout=30, caller_id="listen")
    assert spy.headers["Timeout"] == "30000" and "Context" not in spy.headers


def test_agi_command_lines() -> None:
    assert agi.get_data("hello-world") == "GET DATA hello-world 1 1"
    assert agi.get_data("vm-enter-num-to-call", 6000, 16) == "GET DATA vm-enter-num-to-call 6000 16"
    assert agi.stream_file("hello-world") == 'STREAM FILE hello-world ""'
    assert agi.say_digits("123", agi.ALL_KEYS) == 'SAY DIGITS 123 "0123456789*#"'
    assert agi.say_number(3) == 'SAY NUMBER 3 ""'
    assert agi.music_on() == "SET MUSIC ON default" and agi.music_off() == "SET MUSIC OFF"
    assert agi.exec_app("Playback", "beep") == "EXEC Playback beep"
    assert agi.exec_app("Ringing") == "EXEC Ringing"
    assert agi.wait_for_digit(1000) == "WAIT FOR DIGIT 1000"
    assert agi.set_variable("CHANNEL(language)", "es") == "SET VARIABLE CHANNEL(language) es"
