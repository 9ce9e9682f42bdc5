from __future__ import annotations

import pytest
from panoramisk.message import Message as PanoramiskMessage

from asterisk.errors import AmiProtocolError
from asterisk.events import AsyncAGIExec, AsyncAGIStart, Hangup, UnknownEvent, decode_event
from asterisk.transcripts import load_all
from asterisk.wire import (
    FrameReader,
    encode_agi_env,
    encode_agi_result,
    format_action,
    parse_agi_env,
    parse_agi_result,
    parse_message,
)
from tests.conftest import TRANSCRIPTS

ALL = load_all(TRANSCRIPTS)


def _wire_messages() -> list[bytes]:
    return [b.wire for t in ALL for b in t.blocks if not b.sent and not b.is_banner
            and not b.is_close]


def test_every_recorded_message_parses_like_panoramisk_does() -> None:
    count = 0
    for t in ALL:
        for block in t.blocks:
            if block.sent or block.is_banner or block.is_close:
                continue
            for frame in FrameReader(expect_banner=False).feed(block.wire):
                ours = parse_message(frame)
                theirs = PanoramiskMessage.from_line(frame.decode())
                assert theirs is not None
                for key, value in ours.pairs:
                    want = theirs[key]
                    if isinstance(want, list):
                        assert value in want
                    elif key.lower() != "result":  # panoramisk unquotes Result itself
                        assert value == want, (t.name, key)
                count += 1
    assert count > 700


def test_headers_are_case_insensitive_like_commandid_and_commandid() -> None:
    msg = parse_message(b"Event: AsyncAGIExec\r\nCommandId: cmd-3\r\nResult: 200%20result%3D0%0A")
    assert msg.get("CommandID") == msg.get("commandid") == "cmd-3"
    ev = decode_event(msg)
    assert isinstance(ev, AsyncAGIExec)
    assert ev.command_id == "cmd-3" and ev.result.code == 200 and ev.result.value == 0


def test_frames_split_across_reads_and_several_per_read() -> None:
    data = b"".join(_wire_messages()[:50])
    whole = FrameReader(expect_banner=False).feed(data)
    reader = FrameReader(expect_banner=False)
    pieces: list[bytes] = []
    for i in range(0, len(data), 7):
        pieces += reader.feed(data[i : i + 7])
    assert pieces == whole and len(whole) >= 50


def test_banner_is_required_and_checked() -> None:
    reader = FrameReader()
    assert reader.feed(b"Asterisk Call Man") == []
    assert reader.feed(b"ager/9.0.0\r\nResponse: Success\r\n\r\n") == [b"Response: Success"]
    assert reader.banner == "Asterisk Call Manager/9.0.0"
    with pytest.raises(AmiProtocolError, match="not an AMI server"):
        FrameReader().feed(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    with pytest.raises(AmiProtocolError, match="no AMI banner"):
        FrameReader().feed(b"x" * 2000)


def test_an_oversized_frame_is_dropped_and_the_stream_recovers() -> None:
    reader = FrameReader(max_frame=1024, expect_banner=False)
    out = reader.feed(b"Event: Big\r\nX: " + b"a" * 4096)
    out += reader.feed(b"still big\r\n\r\nEvent: Next\r\nChannel: x\r\n\r\n")
    assert out == [b"Event: Next\r\nChannel: x"]
    assert reader.oversized == 1


def test_garbage_and_non_utf8_do_not_raise() -> None:
    msg = parse_message(b"\xff\xfe garbage\r\nEvent: Newchannel\r\nCallerIDName: Jos\xe9\r\n: \r\nX")
    assert msg.event == "Newchannel"
    assert msg.get("CallerIDName").startswith("Jos")
    assert isinstance(decode_event(parse_message(b"\x00\x01\x02")), UnknownEvent)


def test_unknown_events_pass_through_untouched() -> None:
    msg = parse_message(b"Event: SomethingNew\r\nFoo: bar\r\nFoo: baz")
    ev = decode_event(msg)
    assert isinstance(ev, UnknownEvent) and ev.message is msg
    assert msg.getall("foo") == ["bar", "baz"]


def test_a_malformed_known_event_is_still_delivered_untyped() -> None:
    ev = decode_event(parse_message(b"Event: AsyncAGIExec\r\nResult: garbage"))
    assert isinstance(ev, UnknownEvent)


def test_format_action_repeats_list_headers_and_refuses_line_breaks() -> None:
    data = format_action("Originate", {"Channel": "PJSIP/a", "Variable": ["A=1", "B=2"]})
    assert data == b"Action: Originate\r\nChannel: PJSIP/a\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"
    with pytest.raises(AmiProtocolError, match="line break"):
        format_action("Hangup", {"Channel": "x\r\nAction: Originate"})


@pytest.mark.parametrize(
    ("raw", "code", "result", "data", "endpos"),
    [
        ("200%20result%3D0%0A", 200, "0", None, None),
        ("200%20result%3D0%20endpos%3D11360%0A", 200, "0", None, 11360),
        ("200%20result%3D1%20(5551234)%0A", 200, "1", "5551234", None),
        ("200%20result%3D42%0A", 200, "42", None, None),
        ("200%20result%3D%20(timeout)%0A", 200, "", "timeout", None),
        ("200%20result%3D-1%0A", 200, "-1", None, None),
        ("510%20Invalid%20or%20unknown%20command%0A", 510, "", None, None),
        ("520-Invalid%20command%20syntax.%20%20Proper%20usage%20follows%3A%0A", 520, "", None, None),
    ],
)
def test_agi_results_decode_to_typed_values(raw: str, code: int, result: str, data: str | None,
                                            endpos: int | None) -> None:
    r = parse_agi_result(raw)
    assert (r.code, r.result, r.data, r.endpos) == (code, result, data, endpos)


def test_agi_result_roundtrip_and_garbage() -> None:
    assert parse_agi_result(encode_agi_result(200, "result=1 (hello world)")).data == "hello world"
    with pytest.raises(AmiProtocolError):
        parse_agi_result("garbage")


def test_asyncagistart_env_is_url_decoded() -> None:
    ivr = next(t for t in ALL if t.name == "ivr_asyncagi")
    start = next(m for m in ivr.received() if m.event == "AsyncAGIStart")
    ev = decode_event(start)
    assert isinstance(ev, AsyncAGIStart)
    assert ev.env["agi_channel"] == "Local/100@from-callers-0000000e;2"
    assert ev.env["agi_callerid"] == "5551234"
    assert ev.env["agi_accountcode"] == ""
    assert encode_agi_env(ev.env) == start["Env"]  # same encoding as Asterisk's
    assert parse_agi_env(encode_agi_env({"a": "b c/d"})) == {"a": "b c/d"}


def test_hangup_event_is_typed_with_its_cause() -> None:
    ev = decode_event(parse_message(b"Event: Hangup\r\nChannel: PJSIP/a-1\r\nCause: 16\r\n"
                                    b"Cause-txt: Normal Clearing\r\nChannelState: 6"))
    assert isinstance(ev, Hangup) and ev.cause == 16 and ev.state == 6
