"""`centralita`: run, demo, check-config, sim, db upgrade, recordings, qa, schema, leads,
dnc, dialer."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from core.errors import ConfigError
from core.logs import configure_logging
from core.settings import DEFAULT_CONFIG_DIR, Settings, load_settings
from core.yamlconf import parse_yaml

ROOT = Path(__file__).resolve().parent.parent


def _positive(value: str) -> float:
    try:
        f = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if f <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return f


def _port(value: str) -> int:
    try:
        p = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 <= p <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {p}")
    return p


ENVIRONMENT = """environment (overrides engine.yaml):
  AMI_URL             ami://user:secret@host:5038
  DATABASE_URL        sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db
  MQTT_URL            mqtt://host:1883 or mqtts://host:8883
  MQTT_USERNAME, MQTT_PASSWORD_FILE, MQTT_PASSWORD, MQTT_PREFIX
  HTTP_LISTEN         host:port of the wallboard, reports and /metrics
  LOG_LEVEL           debug, info, warning, error (debug adds AMI actions and AGI commands)
"""


#: command -> (module, function(settings, args) -> exit code)
LAZY: dict[str, tuple[str, str]] = {
    "leads": ("app.outbound", "run"), "dnc": ("app.outbound", "run"),
    "dialer": ("app.outbound", "run"), "report": ("app.reporting", "run"),
    "customers": ("app.customers", "run"), "status": ("app.status", "run"),
    "asterisk-config": ("app.asteriskfiles", "run"), "mqtt-acl": ("app.brokerfiles", "run"),
    "passwd": ("app.reporting", "passwd"),
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="centralita", description="Contact-center engine for Asterisk",
                                epilog=ENVIRONMENT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG_DIR,
                   help="config directory (engine.yaml and the files it names; also accepted "
                        "after the command)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser(
        "run", help="run the engine against Asterisk (AMI_URL or engine.yaml)",
        description="Runs the engine against a real Asterisk: exits 1 on a broken center "
                    "(every problem named) or a CHANGE-ME AMI secret, 2 when Asterisk is not "
                    "reachable within ami.give_up_after. SIGTERM/SIGINT stop it cleanly, SIGHUP "
                    "reloads the configuration.", epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    demo = sub.add_parser("demo", help="engine + simulated PBX + synthetic callers",
                          epilog=ENVIRONMENT, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--duration", type=_positive, help="stop after this many seconds")
    demo.add_argument("--calls", type=int, help="stop after this many callers have been served")
    demo.add_argument("--rate", type=_positive, help="callers per minute")
    check = sub.add_parser("check-config", help="validate the whole center (every file, every "
                                                "cross-reference) as run would load it")
    check.add_argument("dir", type=Path, nargs="?", default=None,
                       help="the config directory (default: --config)")
    sim = sub.add_parser("sim", help="run the simulated PBX alone")
    sim.add_argument("--port", type=_port, default=5038, help="AMI port to listen on")
    sim.add_argument("--dialplan", type=Path, default=ROOT / "asterisk/etc/extensions.conf",
                     help="extensions.conf to run")
    sim.add_argument("--manager", type=Path, default=ROOT / "asterisk/etc/manager.conf",
                     help="manager.conf with the AMI users")
    sim.add_argument("--speed", type=_positive, default=1.0, help="simulated time per real second")
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="upgrade: run the Alembic migrations")
    rec = sub.add_parser("recordings", help="find, show, fetch, verify, hold and purge recordings")
    rec.add_argument("action", choices=["list", "show", "fetch", "verify", "hold", "release",
                                        "purge"],
                     help="list/show them, fetch a copy, verify files against their checksums, "
                          "hold/release for legal hold, purge what retention allows")
    rec.add_argument("id", type=_positive_int, nargs="?", help="recording id (show, fetch, hold)")
    rec.add_argument("--user", help="your agent id, if you want it checked (who you are comes "
                                    "from your OS account: os_user in agents.yaml)")
    rec.add_argument("--date", type=_day, help="YYYY-MM-DD (UTC)")
    rec.add_argument("--agent", help="only this agent's recordings")
    rec.add_argument("--queue", help="only this queue's recordings")
    rec.add_argument("--number", help="the customer's number")
    rec.add_argument("--disposition", help="only calls closed with this disposition code")
    rec.add_argument("--status", choices=["recording", "complete", "missing", "failed", "deleted"],
                     help="only recordings in this state")
    rec.add_argument("--limit", type=_positive_int, default=100, help="at most this many rows")
    rec.add_argument("--to", type=Path, help="fetch: a file name under recording.yaml's "
                                            "export_directory (nowhere else)")
    rec.add_argument("--dry-run", action="store_true", help="purge: only say what would go")
    qa = sub.add_parser("qa", help="score recordings with a QA form; per-agent report")
    qa.add_argument("action", choices=["score", "report"],
                    help="score: one recording with a form; report: averages per agent")
    qa.add_argument("id", type=_positive_int, nargs="?", help="recording id (score)")
    qa.add_argument("--user", help="your agent id, if you want it checked (who you are comes "
                                   "from your OS account: os_user in agents.yaml)")
    qa.add_argument("--form", help="form name in recording.yaml")
    qa.add_argument("--answer", action="append", default=[], metavar="CRITERION=VALUE",
                    help="yes/no or 1-5, once per criterion")
    schema = sub.add_parser("schema", help="print a published contract as JSON Schema")
    schema.add_argument("what", choices=["mqtt"], help="mqtt: topics, payloads and commands")
    from app.asteriskfiles import add_parsers as add_asterisk
    from app.brokerfiles import add_parsers as add_acl
    from app.customers import add_parsers as add_customers
    from app.outbound import add_parsers
    from app.reporting import add_parsers as add_report
    from app.reporting import add_passwd
    from app.status import add_parsers as add_status

    add_parsers(sub)
    add_report(sub)
    add_passwd(sub)
    add_acl(sub)
    add_asterisk(sub)
    add_status(sub)
    add_customers(sub)
    for command in sub.choices.values():  # `centralita report --config DIR ...` works too
        command.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                             help="config directory (default: the project's config/)")
    return p


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {value!r}")
    return int(value)


def _day(value: str) -> str:
    from datetime import datetime

    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return check_config(args.dir or args.config)
        settings = load_settings(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "demo":
            return _demo(settings, args)
        if args.command == "sim":
            return _sim(args)
        if args.command == "db":
            return _db(settings)
        if args.command in ("recordings", "qa"):
            return _recordings(settings, args)
        if args.command in LAZY:  # their modules load only when asked for
            module, function = LAZY[args.command]
            run: Callable[[Settings, argparse.Namespace], int] = getattr(
                importlib.import_module(module), function)
            return run(settings, args)
        if args.command == "schema":
            from app.contract import mqtt_contract

            print(json.dumps(mqtt_contract(settings.mqtt.prefix), indent=2))
            return 0
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:  # e.g. ivr.yaml, read when the engine is built
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    return 2


def check_config(directory: Path) -> int:
    """The whole center as `run` would load it (every file engine.yaml names, and their
    cross-references), plus a syntax check of any other YAML in the directory."""
    from app.center import read_center
    from core.settings import AcdSettings, DialerSettings, HoursSettings, IvrSettings, RecordingSettings
    from core.yamlconf import read_text

    if not directory.is_dir():
        print(f"{directory}: not a directory", file=sys.stderr)
        return 1
    problems: list[str] = []
    settings: Settings | None = None
    if (directory / "engine.yaml").exists():
        try:
            settings = load_settings(directory, env={})
        except ConfigError as exc:
            problems += exc.problems
    else:  # a directory of YAML without engine.yaml: the usual names, where they exist
        def named(name: str) -> str | None:
            return name if (directory / name).exists() else None
        settings = Settings(
            config_dir=str(directory), ivr=IvrSettings(file=named("ivr.yaml")),
            hours=HoursSettings(file=named("hours.yaml")),
            # queues.yaml and agents.yaml refer to each other: one names the other
            acd=AcdSettings(queues="queues.yaml", agents="agents.yaml")
            if named("queues.yaml") or named("agents.yaml") else AcdSettings(),
            recording=RecordingSettings(file=named("recording.yaml")),
            dialer=DialerSettings(campaigns=named("campaigns.yaml")))
    used: set[Path] = {directory / "engine.yaml"}
    if settings is not None:
        _center, found = read_center(settings)
        problems += found
        for name in (settings.ivr.file, settings.hours.file, settings.acd.queues,
                     settings.acd.agents, settings.recording.file, settings.dialer.campaigns):
            path = settings.path(name)
            if path is not None:
                used.add(path.resolve() if path.exists() else path)
    others = [p for p in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
              if p.resolve() not in {u.resolve() for u in used if u.exists()}]
    for path in others:  # not part of the center: still, it should at least be YAML
        try:
            parse_yaml(read_text(path), str(path))
        except ConfigError as exc:
            problems += exc.problems
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        checked = len([u for u in used if u.exists()])
        note = f"; not named by engine.yaml: {', '.join(p.name for p in others)}" if others else ""
        print(f"{directory}: {checked} file(s) OK{note}")
    return 1 if problems else 0


def _run(settings: Settings) -> int:
    from app.center import load_center
    from app.engine import Engine, NeverConnected

    configure_logging(settings.log.level)
    load_center(settings)  # a broken center is reported whole before anything else
    if "change-me" in settings.ami.parsed.secret.lower():
        print("centralita: the AMI secret is still CHANGE-ME: set a real one in Asterisk's "
              "manager.conf and in AMI_URL (centralita asterisk-config DIR writes both)",
              file=sys.stderr)
        return 1
    try:
        asyncio.run(Engine(settings).run(give_up_after=settings.ami.give_up_after))
    except NeverConnected as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.demo import run_demo

    files = settings.path(settings.demo.files)
    assert files is not None
    files.mkdir(parents=True, exist_ok=True)
    log = open(files / "centralita.log", "a", encoding="utf-8")  # noqa: SIM115
    configure_logging(settings.log.level, log)
    if args.rate:
        settings = settings.model_copy(update={
            "demo": settings.demo.model_copy(update={"callers_per_minute": args.rate})})
    print(f"JSON logs: {(files / 'centralita.log').resolve()}")
    try:
        asyncio.run(run_demo(settings, duration=args.duration, calls=args.calls))
    finally:
        import structlog

        structlog.reset_defaults()  # the file is closing: nothing may log into it after
        log.close()
    return 0


def _sim(args: argparse.Namespace) -> int:
    from sim.dialplan import load_dialplan, load_manager_conf
    from sim.errors import ConfigError as SimConfigError
    from sim.pbx import Clock, Pbx
    from sim.server import AmiServer

    configure_logging("info")
    try:
        dialplan = load_dialplan(args.dialplan)
        users = load_manager_conf(args.manager).users
    except SimConfigError as exc:
        print(exc, file=sys.stderr)
        return 1

    async def serve() -> None:
        pbx = Pbx(dialplan, clock=Clock(args.speed))
        server = AmiServer(pbx, users, port=args.port)
        port = await server.start()
        print(f"simulated Asterisk: AMI on 127.0.0.1:{port}, users {', '.join(users)}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.close()

    asyncio.run(serve())
    return 0


def _recordings(settings: Settings, args: argparse.Namespace) -> int:
    from recorder import commands as c
    from recorder.index import Filters
    from recorder.model import load_recording

    path = settings.path(settings.recording.file)
    if path is None:
        print("centralita: recording is not configured (engine.yaml recording.file)",
              file=sys.stderr)
        return 1
    from app.center import load_center

    people = list(load_center(settings).directory)
    roles: dict[str, str] = {a.id: a.role for a in people}
    accounts = {a.os_user: a.id for a in people if a.os_user}
    config = load_recording(path, None)
    if settings.recording.directory:
        config = config.model_copy(update={"directory": settings.recording.directory,
                                           "visible_directory": None})
    if config.export_directory:
        config = config.model_copy(update={
            "export_directory": str(settings.path(config.export_directory))})
    needs_id = {"show", "fetch", "hold", "release", "score"}
    if args.action in needs_id and args.id is None:
        print(f"centralita: {args.command} {args.action} needs a recording id", file=sys.stderr)
        return 2
    f = Filters(day=getattr(args, "date", None), agent=getattr(args, "agent", None),
                queue=getattr(args, "queue", None), number=getattr(args, "number", None),
                disposition=getattr(args, "disposition", None),
                status=getattr(args, "status", None), limit=getattr(args, "limit", 100))

    async def work(desk: c.Desk) -> int:
        action = args.action
        if args.command == "qa":
            if action == "score":
                if not args.form:
                    raise c.Refused("qa score needs --form")
                return await c.score_(desk, args.id, args.form, args.answer)
            return await c.report(desk)
        if action == "list":
            return await c.list_(desk, f)
        if action == "show":
            return await c.show(desk, args.id)
        if action == "fetch":
            return await c.fetch(desk, args.id, args.to)
        if action == "verify":
            return await c.verify(desk, f)
        if action in ("hold", "release"):
            return await c.hold(desk, args.id, release=action == "release")
        return await c.purge(desk, args.dry_run)

    try:
        user = asyncio.run(_identity(settings, accounts, args))
        return asyncio.run(c.with_desk(settings.database.url, config, roles, user,
                                       sys.stdout, work))
    except c.Refused as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 1


async def _identity(settings: Settings, accounts: dict[str, str], args: argparse.Namespace) -> str:
    """Who is asking: the operating-system account running this command, mapped to a
    person by `os_user` in agents.yaml. `--user` may only repeat it; a claim to be someone
    else is refused and written to the audit log under the real account."""
    import os
    import pwd
    import time

    from core.store import Store
    from recorder.commands import Refused
    from recorder.index import RecordingIndex

    account = pwd.getpwuid(os.geteuid()).pw_name
    person = accounts.get(account)
    if person is not None and args.user in (None, person):
        return person
    actor = person or f"os:{account}"
    why = (f"you are {account!r} ({person}); --user {args.user} is someone else"
           if person is not None else
           f"the account {account!r} is not anyone's os_user in agents.yaml")
    store = Store(settings.database.url)
    try:
        await store.migrate()
        await RecordingIndex(store).audit(time.time(), actor, args.action, str(args.id or ""),
                                          allowed=False,
                                          detail={"claimed": args.user, "why": why})
    finally:
        await store.close()
    raise Refused(why)


def _db(settings: Settings) -> int:
    from core.store import Store

    async def upgrade() -> None:
        store = Store(settings.database.url)
        try:
            await store.migrate()
        finally:
            await store.close()

    asyncio.run(upgrade())
    print("database is at the latest revision")
    return 0


if __name__ == "__main__":
    sys.exit(main())
