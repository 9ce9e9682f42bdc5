"""The commands as separate processes: `centralita sim` serves any AMI client, and
`centralita run` shuts down cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT, _port_open, free_port

CLI = [sys.executable, "-m", "app.cli"]


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not _port_open(port):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "process did not open its port"
        time.sleep(0.05)


def test_sim_alone_serves_ami_and_run_stops_cleanly_on_sigterm(tmp_path: Path, mqtt_url: str) -> None:
    port = free_port()
    manager = tmp_path / "manager.conf"  # the shipped one says CHANGE-ME
    manager.write_text((ROOT / "asterisk/etc/manager.conf").read_text()
                       .replace("CHANGE-ME", "centralita-secret"))
    sim = subprocess.Popen([*CLI, "sim", "--port", str(port), "--manager", str(manager)], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_port(port, sim)
        env = {**os.environ, "AMI_URL": f"ami://centralita:centralita-secret@127.0.0.1:{port}",
               "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db", "MQTT_URL": mqtt_url}
        run = subprocess.Popen([*CLI, "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        lines: list[dict[str, object]] = []
        assert run.stdout is not None
        while time.monotonic() < deadline:
            line = run.stdout.readline()
            if not line:
                break
            lines.append(json.loads(line))  # one JSON event per line
            if lines[-1]["event"] == "engine.resynced":
                break
        assert any(entry["event"] == "ami.connected" for entry in lines)
        run.send_signal(signal.SIGTERM)
        out, _ = run.communicate(timeout=20)
        assert run.returncode == 0
        events = [json.loads(line)["event"] for line in out.decode().splitlines() if line]
        assert events[-1] == "engine.stopped"
    finally:
        sim.send_signal(signal.SIGINT)
        sim.wait(10)


def test_sim_rejects_a_broken_dialplan_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "extensions.conf"
    bad.write_text("[ctx]\nsame => n,NoOp()\n")
    proc = subprocess.run([*CLI, "sim", "--port", str(free_port()), "--dialplan", str(bad)],
                          cwd=ROOT, capture_output=True, timeout=20)
    assert proc.returncode == 1
    assert f"{bad}:2:" in proc.stderr.decode()


def test_sighup_reloads_the_demo_instead_of_killing_it(center: Path, mqtt_url: str) -> None:
    engine_yaml = center / "engine.yaml"
    engine_yaml.write_text(engine_yaml.read_text().replace("files: ../var", f"files: {center}")
                           .replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0"))
    env = {**os.environ, "MQTT_URL": mqtt_url}
    demo = subprocess.Popen([*CLI, "--config", str(center), "demo", "--duration", "6"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3.0)
    demo.send_signal(signal.SIGHUP)  # nothing changed: it goes on, and says nothing
    _out, err = demo.communicate(timeout=30)
    assert demo.returncode == 0, err.decode()[-2000:]
    log = (center / "centralita.log").read_text()
    assert "config.reload" not in log  # an unchanged center is not "reloaded"
