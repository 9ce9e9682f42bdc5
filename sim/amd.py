"""Answering-machine detection as the simulated Asterisk gives it (pure): the result, its
cause and how long after the answer it comes, for what the far end sends.

Calibrated on ../shared/ami-transcripts/dialer (amd_human, amd_machine, amd_silent_line;
times from the answered leg's Newstate Up to VarSet AMDSTATUS):
- speech starts 0.5 s after the answer (Answer() waits for media);
- a human's short greeting (g s) ends the analysis after_greeting_silence later:
  HUMAN-{ags}-{ags} at 0.5 + g - 0.025 + ags (0.61 s "Hello?", defaults: 1.885 s);
- a machine's greeting says a word every 0.81 s and is voiced 74.6 % of the time: MAXWORDS
  when it reaches maximum_number_of_words + 1 words, LONGGREETING when its voice passes
  `greeting` ms, whichever first (defaults: MAXWORDS-3-2 at 2.122 s; VICIdial's
  2000/.../4: LONGGREETING-2000-2000 at 3.181 s);
- silence frames only: MACHINE INITIALSILENCE-{is}-{is} at 0.5 + is - 0.019;
- no frames at all: NOTSURE TOOLONG-{total - 100} at total + 0.009 (5.009 s).
Real lines vary far more than these file playbacks on Local channels.
"""

from __future__ import annotations

#: amd.conf as Asterisk ships it (configs/samples/amd.conf.sample), in AMD()'s argument order
DEFAULTS = (("initial_silence", 2500), ("greeting", 1500), ("after_greeting_silence", 800),
            ("total_analysis_time", 5000), ("min_word_length", 100),
            ("between_words_silence", 50), ("maximum_number_of_words", 2),
            ("silence_threshold", 256), ("maximum_word_length", 5000))
MEDIA = 0.5  # seconds from the answer to the first audio
WORD_EVERY = 0.81  # a machine's greeting: seconds per word
VOICED = 0.746  # the share of a machine's greeting that is voice


def amd_params(args: list[str]) -> dict[str, int]:
    """AMD(initialSilence,greeting,...) arguments over the defaults; empty ones keep them."""
    params = dict(DEFAULTS)
    for (name, _), value in zip(DEFAULTS, args, strict=False):
        value = value.strip()
        if value.isdigit():
            params[name] = int(value)
    return params


def amd_result(far: tuple[str, float], p: dict[str, int]) -> tuple[str, str, float]:
    """(AMDSTATUS, AMDCAUSE, seconds after the answer) for the far end's (kind, greeting)."""
    kind, greeting = far
    total = p["total_analysis_time"] / 1000
    out: tuple[str, str, float]
    if kind == "human":
        ags = p["after_greeting_silence"]
        out = ("HUMAN", f"HUMAN-{ags}-{ags}", MEDIA + greeting - 0.025 + ags / 1000)
    elif kind == "machine":
        words = p["maximum_number_of_words"]
        by_words = MEDIA + words * WORD_EVERY
        by_length = MEDIA + p["greeting"] / 1000 / VOICED
        if by_words <= by_length:
            out = ("MACHINE", f"MAXWORDS-{words + 1}-{words}", by_words)
        else:
            out = ("MACHINE", f"LONGGREETING-{p['greeting']}-{p['greeting']}", by_length)
    elif kind == "silent":
        silence = p["initial_silence"]
        out = ("MACHINE", f"INITIALSILENCE-{silence}-{silence}", MEDIA + silence / 1000 - 0.019)
    else:
        out = ("NOTSURE", f"TOOLONG-{p['total_analysis_time'] - 100}", total + 0.009)
    if out[2] > total + 0.009:
        return "NOTSURE", f"TOOLONG-{p['total_analysis_time'] - 100}", total + 0.009
    return out
