from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from app.cli import main
from core.settings import load_settings
from tests.conftest import ROOT, free_port


def test_shipped_config_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(ROOT / "config")]) == 0
    assert "OK" in capsys.readouterr().out


def test_check_config_names_file_line_and_field(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "engine.yaml").write_text(
        "ami:\n  url: ami://u:p@h:5038\n  action_timeout: -1\nmqtt:\n  prefix: 'a/#'\n"
        "bogus: 1\n")
    assert main(["check-config", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    engine = tmp_path / "engine.yaml"
    assert f"{engine}:3: ami.action_timeout: Input should be greater than 0" in err
    assert f"{engine}:5: mqtt.prefix:" in err
    assert f"{engine}:6: bogus: unknown key" in err


def test_broken_yaml_is_reported_with_its_line(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "queues.yaml").write_text("queues:\n  - name: sales\n    skills: [a, b\n")
    assert main(["check-config", str(tmp_path)]) == 1
    assert f"{tmp_path / 'queues.yaml'}:" in capsys.readouterr().err


def test_run_refuses_to_start_on_invalid_config(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "engine.yaml").write_text("database:\n  url: mysql://x\n")
    assert main(["--config", str(tmp_path), "run"]) == 1
    assert "engine.yaml:2: database.url" in capsys.readouterr().err


def test_environment_overrides_engine_yaml() -> None:
    s = load_settings(ROOT / "config", env={"AMI_URL": "ami://a:b@pbx.example:5039",
                                            "MQTT_PREFIX": "cc"})
    assert (s.ami.parsed.host, s.ami.parsed.port, s.mqtt.prefix) == ("pbx.example", 5039, "cc/")
    with pytest.raises(Exception, match="environment \\(AMI_URL\\)"):
        load_settings(ROOT / "config", env={"AMI_URL": "http://nope"})


def test_run_exits_with_a_clear_message_when_asterisk_never_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "engine.yaml").write_text(
        f"ami:\n  url: ami://u:p@127.0.0.1:{free_port()}\n  give_up_after: 1\n"
        "  connect_timeout: 0.5\nmqtt:\n  enabled: false\n"
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path}/c.db\n")
    monkeypatch.delenv("AMI_URL", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--config", str(tmp_path), "run"]) == 2
    assert "could not connect to Asterisk at ami://u@127.0.0.1" in capsys.readouterr().err


def test_bad_cli_arguments_are_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["sim", "--port", "99999"])
    assert info.value.code == 2
    assert "port out of range" in capsys.readouterr().err


def test_demo_serves_synthetic_callers_and_prints_live_status(
        tmp_path: Path, mqtt_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(ROOT / "config" / "engine.yaml", tmp_path / "engine.yaml")
    for name in ("ivr.yaml", "hours.yaml", "queues.yaml", "agents.yaml", "recording.yaml",
                 "campaigns.yaml"):
        shutil.copy(ROOT / "config" / name, tmp_path / name)
    text = (tmp_path / "engine.yaml").read_text().replace("speed: 1.0", "speed: 20.0")
    text = text.replace("status_every: 1.0", "status_every: 0.2")
    text = text.replace("listen: 127.0.0.1:8080", "listen: 127.0.0.1:0")  # not the user's port
    text = text.replace("files: ../var", f"files: {tmp_path / 'var'}")  # nor the user's var/
    import os
    import pwd
    account = pwd.getpwuid(os.geteuid()).pw_name  # who runs the tests is the supervisor
    agents = (tmp_path / "agents.yaml").read_text().replace("os_user: sara", f"os_user: {account}")
    (tmp_path / "agents.yaml").write_text(agents)
    (tmp_path / "engine.yaml").write_text(text)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    monkeypatch.setenv("MQTT_URL", mqtt_url)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert main(["--config", str(tmp_path), "demo", "--calls", "5", "--rate", "600",
                 "--duration", "8"]) == 0
    lines = out.getvalue().splitlines()
    status = [ln for ln in lines if "calls in progress" in ln]
    assert status and "arrived     5" in status[-1]
    assert "renewals: running" in status[-1]  # the blended campaign next to inbound
    import sqlite3

    with sqlite3.connect(tmp_path / "demo.db") as db:
        calls = db.execute("select count(*) from interactions where kind = 'inbound'"
                           ).fetchone()[0]
        dialled = db.execute("select count(*) from interactions where kind = 'outbound'"
                             ).fetchone()[0]
        leads = db.execute("select count(*) from leads where campaign = 'renewals'").fetchone()[0]
        menus = db.execute("select count(distinct call_id) from call_events "
                           "where kind = 'ivr.entered'").fetchone()[0]
    assert calls == 5 and menus == 5  # every synthetic caller went through the IVR
    assert dialled > 0 and leads == 3000  # the demo's synthetic leads, being called

    # Recordings of the demo's calls: who asks is the OS account (os_user), not --user.
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert main(["--config", str(tmp_path), "recordings", "list", "--user", "1001"]) == 1
    assert f"you are {account!r} (9001); --user 1001 is someone else" in err.getvalue()
    out.truncate(0)
    assert main(["--config", str(tmp_path), "recordings", "list"]) == 0
    assert "recording(s)" in out.getvalue()
    assert main(["--config", str(tmp_path), "recordings", "fetch", "1", "--to", "/etc/passwd"]) == 1
    assert "fetch writes only under" in err.getvalue()
    with sqlite3.connect(tmp_path / "demo.db") as db:
        audit = db.execute("select actor, action, allowed from audit_log order by id").fetchall()
    assert audit[:2] == [("9001", "list", 0), ("9001", "list", 1)]


def lead_count(directory: Path) -> int:
    import sqlite3

    with sqlite3.connect(directory / "c.db") as db:
        return int(db.execute("select count(*) from leads").fetchone()[0])


def test_leads_import_refuses_a_file_with_bad_rows_whole(
        center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = center / "spring.csv"
    csv.write_text("Phone,Name,Plan\n600 123 456,Ana,fibre\n12,Bob,mobile\n"
                   "+34 600 123 456,Ana again,fibre\n+34 911 234 567,Cy,bundle\n")
    args = ["--config", str(center), "leads", "import", "renewals", str(csv),
            "--map", "number=Phone", "--map", "name=Name", "--map", "plan=Plan"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"{csv}: line 3: '12' is not a valid number in ES" in err
    assert "1 bad row(s) of 4: nothing imported" in err
    assert lead_count(center) == 0
    assert main([*args, "--skip-bad"]) == 0
    captured = capsys.readouterr()
    assert "renewals: 2 new, 0 updated, 0 already there" in captured.out
    assert "1 duplicate row(s), 1 bad row(s) skipped" in captured.out
    assert "line 4: +34600123456 is already on an earlier line" in captured.err
    assert lead_count(center) == 2
    assert main(["--config", str(center), "leads", "import", "nosuch", str(csv)]) == 1
    assert "unknown campaign 'nosuch'" in capsys.readouterr().err
    assert main(["--config", str(center), "leads", "status", "renewals"]) == 0
    assert "renewals: 2 lead(s)" in capsys.readouterr().out


def test_do_not_call_add_check_remove(center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = ["--config", str(center), "dnc"]
    assert main([*cli, "add", "600 123 456", "--note", "asked on 2026-11-20"]) == 0
    assert "do-not-call (all campaigns): 1 added" in capsys.readouterr().out
    assert main([*cli, "check", "+34600123456", "--campaign", "renewals"]) == 3
    assert "+34600123456: do not call (all campaigns, cli" in capsys.readouterr().out
    assert main([*cli, "check", "+34600123457"]) == 0
    assert main([*cli, "add", "call me"]) == 1
    assert "number 'call me'" in capsys.readouterr().err
    listed = center / "dnc.csv"
    listed.write_text("number\n600 123 458\n600 123 459\n")
    assert main([*cli, "import", str(listed), "--campaign", "renewals"]) == 0
    assert "do-not-call (campaign renewals): 2 added" in capsys.readouterr().out
    assert main([*cli, "remove", "600 123 456"]) == 0
    assert "+34600123456: removed (all campaigns)" in capsys.readouterr().out
    assert main([*cli, "check", "600 123 456"]) == 0


def test_dialer_simulate_prints_each_mode_side_by_side(
        center: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(center), "dialer", "simulate", "renewals", "--agents", "10",
                 "--hours", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "what if: campaign renewals, 10 agents, 0.5 h; too little history" in out
    for mode in ("progressive", "power 1.5", "power 2.0", "predictive @3%"):
        assert f"  {mode}" in out
    assert "occupancy" in out and "leads used" in out
    with pytest.raises(SystemExit):
        main(["--config", str(center), "dialer", "simulate", "renewals", "--hours", "99"])


def test_run_refuses_the_shipped_ami_secret(center: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMI_URL", raising=False)
    assert main(["--config", str(center), "run"]) == 1
    assert "AMI secret is still CHANGE-ME" in capsys.readouterr().err


def test_asterisk_config_generates_every_secret_and_a_hardened_edge(
        center: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "etc"
    assert main(["--config", str(center), "asterisk-config", str(out), "--address", "10.1.1.5",
                 "--carrier", "203.0.113.0/29", "--phones", "10.20.0.0/16"]) == 0
    printed = capsys.readouterr().out
    pjsip, manager = (out / "pjsip.conf").read_text(), (out / "manager.conf").read_text()
    assert "CHANGE-ME" not in pjsip + manager
    secret = manager.split("secret = ")[1].split()[0]
    assert f"AMI_URL=ami://centralita:{secret}@127.0.0.1:5038" in printed
    for name in ("pjsip.conf", "manager.conf", "phones.csv"):
        assert (out / name).stat().st_mode & 0o077 == 0  # nobody else may read them
    trunk = pjsip.split("[trunk]\ntype = endpoint")[1].split("\n[")[0]
    assert "identify_by = ip" in trunk and "permit = 203.0.113.0/29" in trunk
    assert "deny = 0.0.0.0/0.0.0.0" in trunk
    # the global ACL, the phones' endpoints and where they may register: each names it
    assert pjsip.count("permit = 10.20.0.0/16") == 3 and "permit = 10.0.0.0" not in pjsip
    assert "bind = 10.1.1.5:5060" in pjsip and "0.0.0.0:5060" not in pjsip
    assert "permit = 203.0.113.0/29" in pjsip and "match = 203.0.113.0/29" in pjsip
    phones = (out / "phones.csv").read_text().splitlines()[1:]
    assert {p.split(",")[0] for p in phones} >= {"PJSIP/agent1001", "PJSIP/super9001", "PJSIP/qa8001"}
    assert len({p.split(",")[2] for p in phones}) == len(phones)  # a password each
    assert main(["--config", str(center), "asterisk-config", str(out), "--address", "nope"]) == 1


def test_customers_import_all_or_nothing_then_updates(
        center: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    cli = ["--config", str(center), "customers", "import"]
    assert main(["--config", str(center), "db", "upgrade"]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,name,email,tags\n600 111 222,Ana,ana@example.com,vip;gold\n"
                   "12,Bad Number,,\n+34600111222,Twice,,\n601 000 000,Eve,not-an-email,\n")
    assert main([*cli, str(bad), "--map", "number=phone"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: number: '12' is not a valid number in ES" in err
    assert f"{bad}:4: number +34600111222 is already on line 2" in err
    assert f"{bad}:5: email: 'not-an-email' is not an e-mail address" in err
    assert "3 bad row(s); nothing imported" in err
    with sqlite3.connect(center / "c.db") as db:
        assert db.execute("select count(*) from customers").fetchone()[0] == 0
    good = tmp_path / "good.csv"
    good.write_text("number,name,account,language,tags\n600 111 222,Ana,A-1,es,vip;gold\n"
                    "+44 20 7946 0958,Bob,B-2,en,\n")
    assert main([*cli, str(good)]) == 0
    assert "2 row(s): 2 new, 0 updated" in capsys.readouterr().out
    good.write_text("number,name,account\n600 111 222,Ana Ruiz,A-1\n")
    assert main([*cli, str(good)]) == 0
    assert "0 new, 0 updated, 1 already known (--update to change them)" in capsys.readouterr().out
    assert main([*cli, str(good), "--update"]) == 0
    assert "0 new, 1 updated" in capsys.readouterr().out
    with sqlite3.connect(center / "c.db") as db:
        assert db.execute("select name, tags from customers where number = '+34600111222'"
                          ).fetchone() == ("Ana Ruiz", '["vip", "gold"]')
        assert db.execute("select field, old, new from customer_changes").fetchall() == [
            ("name", "Ana", "Ana Ruiz")]
    (tmp_path / "latin1.csv").write_bytes("number,name\n600111222,Jos\xe9\n".encode("latin-1"))
    assert main([*cli, str(tmp_path / "latin1.csv")]) == 1
    assert "latin1.csv" in capsys.readouterr().err
