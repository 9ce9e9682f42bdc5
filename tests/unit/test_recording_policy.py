"""Recording policy, paths, retention and QA scoring (pure), and recording.yaml's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from recorder.model import load_recording
from recorder.policy import Held, decide, purge_due, recording_path, sampled_in, score

GOOD = """\
directory: /var/spool/asterisk/monitor/centralita
policies:
  standard: {mode: always}
  sample: {mode: sampled, percent: 25}
default: standard
queues: {sales: sample}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recording.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD.replace("queues: {sales: sample}", "queues: {sales: sampel}"),
     "recording.yaml:6: queues.sales: unknown policy 'sampel'"),
    (GOOD.replace("percent: 25", "percent: 140"),
     "recording.yaml:4: policies.sample.percent: Input should be less than or equal to 100"),
    (GOOD.replace("{mode: sampled, percent: 25}", "{mode: sampled}"),
     "a sampled policy needs percent"),
    (GOOD.replace("{mode: always}", "{mode: always, naming: '{date}/{caller}'}"),
     "naming uses unknown field(s) ['caller']"),
    (GOOD.replace("{mode: always}", "{mode: always, naming: '{date}/x'}"),
     "naming must contain {interaction}"),
    (GOOD.replace("{mode: always}", "{mode: always, naming: '../{interaction}'}"),
     "must stay inside the recordings directory"),
    (GOOD.replace("{mode: always}", "{mode: always, announce: [custom/recorded]}"),
     "prompt 'custom/recorded' is neither a stock sound nor listed under prompts"),
    (GOOD.replace("default: standard", "default: gold"), "recording.yaml:5: default: unknown policy"),
    (GOOD.replace("/var/spool", "var/spool"), "directory: must be an absolute path"),
    (GOOD.replace("{mode: always}", "{mode: sometimes}"), "policies.standard.mode: Input should be"),
])
def test_bad_recording_config_names_file_line_and_field(tmp_path: Path, text: str,
                                                         expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_recording(write(tmp_path, text), {"sales", "support"})
    assert any(expected in p for p in err.value.problems), err.value.problems


def test_a_policy_for_a_queue_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown queue 'sales'"):
        load_recording(write(tmp_path, GOOD), {"support"})


def test_the_shipped_recording_config_loads() -> None:
    from tests.conftest import ROOT

    config = load_recording(ROOT / "config" / "recording.yaml", {"support", "billing", "sales",
                                                                  "operator"})
    assert config.policy_for(kind="inbound", queue="sales")[0] == "sample"
    assert config.policy_for(kind="internal")[0] == "never"
    assert config.policy_for(kind="inbound", queue="support")[0] == "standard"


def test_sampling_is_stable_per_call_and_close_to_the_percentage() -> None:
    ids = [f"call{i:05d}" for i in range(20000)]
    drawn = sum(sampled_in(i, 25) for i in ids)
    assert 0.23 < drawn / len(ids) < 0.27
    assert all(sampled_in(i, 25) == sampled_in(i, 25) for i in ids[:100])
    assert not any(sampled_in(i, 0) for i in ids[:1000])
    assert all(sampled_in(i, 100) for i in ids[:1000])


def test_decisions_by_mode() -> None:
    assert decide("always", None, "x") is None
    assert decide("never", None, "x") == "policy: never"
    assert decide("on_demand", None, "x") == "policy: on demand, not asked"
    assert decide("on_demand", None, "x", on_demand=True) is None
    assert decide("sampled", 0, "x") == "policy: sampled 0%, not drawn"


def test_recording_paths_follow_the_naming_and_stay_safe() -> None:
    path = recording_path("/rec/", "{date}/{queue}/{interaction}-{segment}-{agent}", "wav49",
                          at=0.0, interaction="abc", segment=2, agent="../1001", queue="sales")
    assert path == "/rec/1970/01/01/sales/abc-2-___1001.WAV"


def test_retention_skips_legal_holds_unknown_policies_and_unfinished_rows() -> None:
    day = 86400.0
    rows = [Held(1, "std", 0.0, "complete", False), Held(2, "std", 0.0, "complete", True),
            Held(3, "gone", 0.0, "complete", False), Held(4, "std", None, "recording", False),
            Held(5, "std", 20 * day, "complete", False), Held(6, "std", 0.0, "deleted", False),
            Held(7, "forever", 0.0, "missing", False)]
    assert purge_due(rows, {"std": 30, "forever": None}, 31 * day) == [1]


CRITERIA = [("greeting", 1.0, "yes_no", False), ("verified", 2.0, "yes_no", True),
            ("resolution", 3.0, "1-5", False)]


def test_a_qa_score_weighs_answers_and_a_critical_no_fails() -> None:
    ok = score(CRITERIA, {"greeting": "yes", "verified": "yes", "resolution": "5"}, 70)
    assert (ok.percent, ok.passed) == (100.0, True)
    bad = score(CRITERIA, {"greeting": "yes", "verified": "no", "resolution": "5"}, 50)
    assert bad.percent == pytest.approx(66.7) and not bad.passed
    assert bad.failed_critical == ("verified",)


@pytest.mark.parametrize(("answers", "error"), [
    ({"greeting": "yes", "verified": "yes"}, "no answer for criterion 'resolution'"),
    ({"greeting": "sí", "verified": "yes", "resolution": "3"}, "takes yes or no"),
    ({"greeting": "yes", "verified": "yes", "resolution": "6"}, "takes 1-5"),
    ({"greeting": "yes", "verified": "yes", "resolution": "3", "smile": "yes"},
     "unknown criterion(s) ['smile']"),
])
def test_bad_qa_answers_are_refused(answers: dict[str, str], error: str) -> None:
    with pytest.raises(ValueError, match=error.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        score(CRITERIA, answers, 70)
