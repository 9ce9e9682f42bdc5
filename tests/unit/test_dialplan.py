from __future__ import annotations

import pytest

from asterisk.patterns import compile_pattern
from sim.dialplan import parse_dialplan, parse_manager_conf, substitute
from sim.errors import ConfigError
from tests.conftest import PROJECT_ETC, TRANSCRIPTS

TEXT = """
[general]
static = yes
[in]
exten => _X.,1,NoOp(in ${EXTEN})  ; a comment
 same => n(again),Set(FOO=bar\\;baz)
 same => n,Goto(again)
exten => 100,1,Answer()
exten => _NXX,1,Hangup(17)
exten => _[1-3]Z!,1,Wait(1)
include => other
[other]
exten => s,1,Playback(hello-world)
"""


def test_extensions_conf_syntax() -> None:
    dp = parse_dialplan(TEXT, "x.conf")
    ext = dp.find("in", "5551234")
    assert ext is not None and ext.pattern == "_X."
    assert [s.app for s in ext.steps.values()] == ["NoOp", "Set", "Goto"]
    assert ext.steps[2].args == "FOO=bar;baz" and ext.labels == {"again": 2}
    assert dp.find("in", "100").pattern == "100"  # exact beats pattern
    assert dp.label("in", "5551234", "again") == 2
    assert dp.find("in", "s").pattern == "s"  # through include
    assert dp.find("nowhere", "1") is None


@pytest.mark.parametrize(("pattern", "yes", "no"), [
    ("_X.", ["12", "5551234"], ["1", "a1"]),
    ("_NXX", ["200", "999"], ["100", "20"]),
    ("_[1-3]Z!", ["11", "395"], ["41", "10"]),
    ("_*X.", ["*21", "*55"], ["21"]),
    # what follows `.` is ignored (20.20.1 ran _X.1 for 12127365002)
    ("_X.1", ["12127365002", "121"], ["1"]),
    ("_XXXXXXXXXX1", ["12127365001"], ["12127365002", "1212736500"]),
])
def test_patterns_match_like_asterisk(pattern: str, yes: list[str], no: list[str]) -> None:
    rx = compile_pattern(pattern)
    assert rx is not None
    assert all(rx.fullmatch(x) for x in yes)
    assert not any(rx.fullmatch(x) for x in no)


def test_bad_dialplan_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"bad\.conf:3: 'same =>' with no extension"):
        parse_dialplan("[ctx]\n\nsame => n,NoOp()\n", "bad.conf")
    with pytest.raises(ConfigError, match=r"bad\.conf:2: bad priority"):
        parse_dialplan("[ctx]\nexten => 1,x y,NoOp()\n", "bad.conf")


def test_substitution() -> None:
    assert substitute("in ${EXTEN} from ${CALLERID(num)}",
                      {"EXTEN": "100", "CALLERID(num)": "555"}) == "in 100 from 555"


def test_the_project_and_transcript_configs_load() -> None:
    for conf in (PROJECT_ETC, TRANSCRIPTS / "asterisk-conf"):
        dp = parse_dialplan((conf / "extensions.conf").read_text(), "extensions.conf")
        assert dp.contexts
        users = parse_manager_conf((conf / "manager.conf").read_text()).users
        assert users
    dp = parse_dialplan((PROJECT_ETC / "extensions.conf").read_text())
    for ctx in ("centralita-in", "centralita-agents", "centralita-legs"):
        ext = dp.find(ctx, "100")
        assert ext is not None and any(s.app == "AGI" and s.args == "agi:async"
                                       for s in ext.steps.values())


def test_manager_conf_errors_name_the_line() -> None:
    with pytest.raises(ConfigError, match=r"m\.conf:2: expected 'key = value'"):
        parse_manager_conf("[general]\nnonsense\n", "m.conf")
