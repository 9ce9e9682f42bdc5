"""MixMonitor on the simulated Asterisk: recordings started, muted and stopped, and the
file written (silence of the call's length) where Asterisk would write it."""

from __future__ import annotations

import os
import struct

from sim.channels import Channel
from sim.switch import Switch


class Recording(Switch):
    def mixmonitor(self, ch: Channel, path: str, options: str) -> None:
        ch.mixmonitor = path
        self.recordings[path] = {"channel": ch.name, "started": self.clock.now(), "muted": [],
                                 "options": options}
        self.set_var(ch, "MIXMONITOR_FILENAME", path)
        self._chan_event("MixMonitorStart", "call,all", ch)

    def mixmonitor_mute(self, ch: Channel, direction: str, state: str) -> None:
        if ch.mixmonitor:
            rec = self.recordings[ch.mixmonitor]
            muted = rec["muted"]
            assert isinstance(muted, list)
            muted.append((self.clock.now(), state == "1"))
        self._chan_event("MixMonitorMute", "call,all", ch, ("Direction", direction), ("State", state))

    def _stop_mixmonitor(self, ch: Channel, *, event: bool = True) -> None:
        if ch.mixmonitor:
            rec = self.recordings[ch.mixmonitor]
            rec["ended"] = self.clock.now()
            if self.monitor_dir is not None:
                full = os.path.join(self.monitor_dir, ch.mixmonitor)  # absolute paths stay
                self._write_recording(full, float(rec["ended"]) - float(rec["started"]))  # type: ignore[arg-type]
            ch.mixmonitor = None
            if event:
                self._chan_event("MixMonitorStop", "call,all", ch)

    @staticmethod
    def _write_recording(path: str, seconds: float) -> None:
        """As Asterisk does: the directories are made, the file holds the call's audio (here
        silence: 8 kHz, 16-bit); a directory it cannot write leaves no file at all."""
        data = b"\0" * min(2_000_000, int(max(0.0, seconds) * 16000))
        header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack(
            "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(data))
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(header + data)
        except OSError:
            pass

    def stop_mixmonitor(self, ch: Channel) -> bool:
        if not ch.mixmonitor:
            return False
        self._stop_mixmonitor(ch)
        return True

    # --- transfer -------------------------------------------------------------------
