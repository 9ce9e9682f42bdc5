"""`centralita`: run, demo, check-config, sim, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import sys
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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="centralita", description="Contact-center engine for Asterisk")
    p.add_argument("--config", type=Path, default=DEFAULT_CONFIG_DIR, help="config directory")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="run the engine against Asterisk (AMI_URL or engine.yaml)")
    demo = sub.add_parser("demo", help="engine + simulated PBX + synthetic callers")
    demo.add_argument("--duration", type=_positive, help="stop after this many seconds")
    demo.add_argument("--calls", type=int, help="stop after this many callers have been served")
    demo.add_argument("--rate", type=_positive, help="callers per minute")
    check = sub.add_parser("check-config", help="validate every YAML file in a directory")
    check.add_argument("dir", type=Path, nargs="?", default=None)
    sim = sub.add_parser("sim", help="run the simulated PBX alone")
    sim.add_argument("--port", type=_port, default=5038)
    sim.add_argument("--dialplan", type=Path, default=ROOT / "asterisk/etc/extensions.conf")
    sim.add_argument("--manager", type=Path, default=ROOT / "asterisk/etc/manager.conf")
    sim.add_argument("--speed", type=_positive, default=1.0)
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    return p


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
    except KeyboardInterrupt:
        return 130
    except ConfigError as exc:  # e.g. ivr.yaml, read when the engine is built
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    return 2


def check_config(directory: Path) -> int:
    if not directory.is_dir():
        print(f"{directory}: not a directory", file=sys.stderr)
        return 1
    problems: list[str] = []
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    for path in files:
        try:
            if path.name == "engine.yaml":
                load_settings(directory, env={})
            elif path.name == "ivr.yaml":
                from ivr.model import load_ivr

                load_ivr(path)
            elif path.name == "queues.yaml":  # checked with agents.yaml: they refer to each other
                from acd.model import load_acd

                load_acd(path, directory / "agents.yaml")
            elif path.name == "agents.yaml" and (directory / "queues.yaml").exists():
                continue
            else:
                # Validated by their own models as the capabilities that use them land.
                parse_yaml(path.read_text(encoding="utf-8"), str(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
        except OSError as exc:
            problems.append(f"{path}: cannot read: {exc.strerror}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{directory}: {len(files)} file(s) OK")
    return 1 if problems else 0


def _run(settings: Settings) -> int:
    from core.app import Engine, NeverConnected

    configure_logging(settings.log.level)
    try:
        asyncio.run(Engine(settings).run(give_up_after=settings.ami.give_up_after))
    except NeverConnected as exc:
        print(f"centralita: {exc}", file=sys.stderr)
        return 2
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from core.demo import run_demo

    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / "centralita.log", "a", encoding="utf-8")  # noqa: SIM115
    configure_logging(settings.log.level, log)
    if args.rate:
        settings = settings.model_copy(update={
            "demo": settings.demo.model_copy(update={"callers_per_minute": args.rate})})
    print(f"JSON logs: {ROOT / 'var' / 'centralita.log'}")
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
