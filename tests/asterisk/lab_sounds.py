"""The lab customers' voices for tests/asterisk (extensions-lab.conf [centralita-lab-customers]),
made with espeak-ng and sox as the dialer transcripts' were (../shared/ami-transcripts/dialer):

    python -m tests.asterisk.lab_sounds /usr/share/asterisk/sounds/centralita-lab

- hello.wav: a person's "Hello?" (about 0.6 s);
- machine.wav: an answering machine's greeting (about 5 s) and a 0.5 s 1 kHz beep;
- noise.wav: 60 s of faint noise, under AMD's silence threshold, so that frames keep
  flowing as on RTP (a line that sends no frames at all never gives HUMAN or MACHINE).
All 8 kHz mono 16-bit, as Asterisk plays them without transcoding.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

#: said without pauses: a pause of `after_greeting_silence` (800 ms) after a short greeting
#: is what AMD takes for a person
GREETING = ("hello you have reached the garcia family we cannot take your call right now "
            "please leave a message after the tone")


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def make(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        _run("espeak-ng", "-w", str(t / "hello.wav"), "-s", "170", "Hello?")
        _run("sox", str(t / "hello.wav"), "-r", "8000", "-c", "1", "-b", "16",
             str(directory / "hello.wav"), "silence", "1", "0.02", "1%", "reverse", "silence",
             "1", "0.02", "1%", "reverse")
        _run("espeak-ng", "-w", str(t / "greeting.wav"), "-s", "165", GREETING)
        _run("sox", str(t / "greeting.wav"), "-r", "8000", "-c", "1", "-b", "16",
             str(t / "greeting8k.wav"))
        _run("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(t / "beep.wav"),
             "synth", "0.5", "sine", "1000", "vol", "0.5")
        _run("sox", str(t / "greeting8k.wav"), str(t / "beep.wav"),
             str(directory / "machine.wav"))
        _run("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(directory / "noise.wav"),
             "synth", "60", "whitenoise", "vol", "0.002")
    for name in ("hello", "machine", "noise"):
        out.append(directory / f"{name}.wav")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    for path in make(Path(sys.argv[1])):
        print(path)
