"""`check-config` on the shipped configuration with each mistake an admin made in the
review: every one is reported with its file and line, none passes, none is a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main


def check(center: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["check-config", str(center)])
    captured = capsys.readouterr()
    assert code == 1, captured.out
    assert "Traceback" not in captured.err
    return captured.err


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_the_shipped_center_passes(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(center)]) == 0
    assert "7 file(s) OK" in capsys.readouterr().out


def test_an_ivr_route_to_a_queue_that_does_not_exist(center: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    edit(center / "ivr.yaml", "then: {queue: support, skills: {vip: 1}",
         "then: {queue: suport, skills: {vip: 1}")
    err = check(center, capsys)
    assert f"{center / 'ivr.yaml'}:58: nodes.known-caller.rules.0.then: unknown queue 'suport' " \
           f"(did you mean 'support'?)" in err


def test_an_ivr_route_with_a_skill_no_agent_has(center: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    edit(center / "ivr.yaml", "skills: {vip: 1}", "skills: {suport: 3}")
    err = check(center, capsys)
    assert "nodes.known-caller.rules.0.then.skills.suport: unknown skill 'suport' " \
           "(did you mean 'support'?)" in err


def test_engine_yaml_naming_a_missing_ivr_file(center: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (center / "ivr.yaml").unlink()
    err = check(center, capsys)
    assert f"{center / 'ivr.yaml'}: cannot read: No such file or directory" in err


def test_a_missing_recording_yaml(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (center / "recording.yaml").unlink()
    assert f"{center / 'recording.yaml'}: cannot read" in check(center, capsys)


def test_business_hours_that_disagree(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without hours.yaml, ivr.yaml and queues.yaml each say when the center is open."""
    edit(center / "engine.yaml", "hours:\n  file: hours.yaml", "hours:\n  file: null")
    ivr = center / "ivr.yaml"
    ivr.write_text(ivr.read_text().replace(
        "nodes:\n", "schedules:\n  office: {timezone: Europe/Madrid, weekly: "
                    "{mon: ['09:00-17:00']}}\nnodes:\n", 1))
    edit(center / "queues.yaml", "hours: office ",
         "hours: {timezone: Europe/Madrid, weekly: {mon: ['08:00-20:00']}} ")
    err = check(center, capsys)
    assert f"{center / 'queues.yaml'}:2: hours: business hours differ from ivr.yaml's " \
           f"schedules (office)" in err


def test_hours_defined_twice_and_an_unknown_schedule_name(
        center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ivr = center / "ivr.yaml"
    ivr.write_text(ivr.read_text().replace(
        "nodes:\n", "schedules:\n  office: {timezone: UTC, weekly: {mon: ['09:00-17:00']}}\n"
                    "nodes:\n", 1))
    edit(center / "queues.yaml", "hours: office ", "hours: offise ")
    err = check(center, capsys)
    assert "schedules.office: also defined in hours.yaml" in err
    assert "hours: unknown schedule 'offise' (did you mean 'office'?)" in err


@pytest.mark.parametrize("name", ["queues.yaml", "ivr.yaml", "agents.yaml", "recording.yaml",
                                  "campaigns.yaml", "engine.yaml", "hours.yaml"])
def test_a_byte_that_is_not_utf8_in_any_file(center: Path, capsys: pytest.CaptureFixture[str],
                                             name: str) -> None:
    path = center / name
    raw = path.read_bytes()
    at = raw.index(b"\n", 100) + 1
    path.write_bytes(raw[:at] + b"# caf\xe9\n" + raw[at:])
    line = raw[:at].count(b"\n") + 1
    assert f"{path}:{line}: byte 0xe9 at column 6 is not UTF-8" in check(center, capsys)


def test_a_utf16_file(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = center / "queues.yaml"
    path.write_bytes(path.read_text().encode("utf-16"))
    assert f"{path}: saved as UTF-16: save it as UTF-8" in check(center, capsys)


def test_an_impossible_holiday(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(center / "hours.yaml", "2026-12-25", "2026-02-30")
    err = check(center, capsys)
    assert f"{center / 'hours.yaml'}:13: schedules.office.holidays.0:" in err
    assert "day value is outside expected range" in err or "day is out of range" in err


def test_a_queue_pasted_twice(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queues = center / "queues.yaml"
    text = queues.read_text()
    block = text[text.index("  billing:"):text.index("  sales:")]
    queues.write_text(text.replace("  sales:", block + "  sales:", 1))
    err = check(center, capsys)
    assert "'billing' appears twice in the same mapping (first at line" in err


def test_a_yaml_nested_5000_deep(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (center / "queues.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    err = check(center, capsys)
    assert "nested" in err and len(err.splitlines()) < 10


def test_a_naming_with_a_format_spec(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(center / "recording.yaml", "{interaction}", "{interaction:.0}")
    assert "must be a plain field: no format spec" in check(center, capsys)


def test_recordings_in_the_root_directory(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(center / "recording.yaml", "directory: /var/spool/asterisk/monitor/centralita",
         "directory: /")
    assert "recording.yaml:3: directory: '/' is a system directory" in check(center, capsys)


def test_thousands_of_problems_are_all_reported(center: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    queues = center / "queues.yaml"
    queues.write_text(queues.read_text().replace("queues:\n", "queues:\n" + "".join(
        f"  bad{i}: {{strategy: fastest}}\n" for i in range(2000)), 1))
    err = check(center, capsys)
    assert err.count("strategy: Input should be") == 2000


def test_a_misspelled_key_gets_a_suggestion(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(center / "queues.yaml", "    sl_seconds: 20", "    sl_secnds: 20")
    assert "queues.support.sl_secnds: unknown key (did you mean 'sl_seconds'?)" in \
        check(center, capsys)
