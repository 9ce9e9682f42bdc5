"""House rules that keep the layout honest, checked by walking the imports.

- the kernel (core/) imports no domain package and no application shell;
- no import cycles among packages, nor among the modules of one package (imports made
  only for type checking count: they are a dependency all the same);
- pure decision modules import no I/O, directly or through what they import;
- only the AMI client speaks panoramisk; only the shell runs the simulator;
- modules stay short.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ["app", "core", "asterisk", "acd", "ivr", "dialer", "recorder", "sim", "bench", "reports",
            "web"]
KERNEL = "core"
DOMAIN = {"acd", "ivr", "dialer", "recorder", "sim", "app", "reports", "web"}
#: plain data in, decisions out: no I/O, time passed in
PURE = ["acd/routing.py", "acd/stats.py", "core/dispositions.py", "acd/callbacks.py", "acd/holdplan.py",
        "acd/admission.py", "acd/estimates.py", "acd/targets.py", "core/agentstate.py",
        "core/blend.py", "core/schedule.py", "ivr/machine.py", "recorder/policy.py",
        "dialer/pacing.py", "asterisk/wire.py", "asterisk/events.py", "asterisk/actions.py",
        "asterisk/agi.py", "acd/servicelevel.py", "reports/window.py", "web/auth.py", "core/safepatterns.py",
        "core/logbudget.py"]
IO = {"asyncio", "panoramisk", "aiomqtt", "sqlalchemy", "aiosqlite", "asyncpg", "socket",
      "alembic", "structlog", "subprocess", "threading"}
LONGEST = 500
SHORT_KEPT = ("acd", "sim", "recorder", "app", "dialer", "ivr", "core", "reports", "web")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
            if "migrations" not in p.parts]


def module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@cache
def project_modules() -> dict[str, Path]:
    return {module_of(p): p for p in sources()}


def project_imports(path: Path) -> set[str]:
    """The project modules `path` imports (a name imported from a module counts as that
    module, or as the submodule when it is one)."""
    known = project_modules()
    return {m for m in imports(path) if m in known}


def test_the_kernel_imports_no_domain_package() -> None:
    bad = [f"{p.relative_to(ROOT)} -> {m}" for p in (ROOT / KERNEL).rglob("*.py")
           for m in imports(p) if m.split(".")[0] in DOMAIN]
    assert not bad, bad


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycles_among_packages() -> None:
    edges: dict[str, set[str]] = {}
    for p in sources():
        pkg = p.relative_to(ROOT).parts[0]
        edges.setdefault(pkg, set()).update(
            m.split(".")[0] for m in project_imports(p) if m.split(".")[0] != pkg)
    assert _cycle(edges) is None, _cycle(edges)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles_among_the_modules_of_a_package(package: str) -> None:
    edges: dict[str, set[str]] = {}
    for p in (ROOT / package).rglob("*.py"):
        if "migrations" in p.parts:
            continue
        edges[module_of(p)] = {m for m in project_imports(p) if m.split(".")[0] == package}
    assert _cycle(edges) is None, _cycle(edges)


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io_even_through_what_they_import(module: str) -> None:
    path = ROOT / module
    if not path.exists():
        pytest.skip(f"{module} does not exist yet")
    known = project_modules()
    seen: set[str] = set()
    todo = [module_of(path)]
    bad: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for m in imports(known[name]):
            if m.split(".")[0] in IO:
                bad.add(f"{name} -> {m}")
            elif m in known:
                todo.append(m)
    assert not bad, f"{module} reaches I/O: {sorted(bad)}"


def test_only_the_ami_client_imports_panoramisk() -> None:
    users = {p.relative_to(ROOT).as_posix() for p in sources()
             if any(m.split(".")[0] == "panoramisk" for m in imports(p))}
    # bench/ingest uses panoramisk's parser as the baseline it is measured against.
    assert users == {"asterisk/client.py", "bench/ingest.py"}


def test_production_code_never_imports_the_simulator() -> None:
    allowed = {"app/demo.py", "app/cli.py"}  # the demo and `centralita sim` run it
    users = {p.relative_to(ROOT).as_posix() for p in sources()
             if not p.relative_to(ROOT).as_posix().startswith(("sim/", "bench/"))
             and any(m.split(".")[0] == "sim" for m in imports(p))}
    assert users <= allowed


def test_no_grab_bag_modules() -> None:
    names = {p.name for p in sources()}
    assert not names & {"utils.py", "manager.py", "helpers.py", "misc.py"}


def test_modules_stay_short() -> None:
    long = {p.relative_to(ROOT).as_posix(): n for p in sources()
            if p.relative_to(ROOT).parts[0] in SHORT_KEPT
            and (n := p.read_text().count("\n")) > LONGEST}
    assert not long, f"modules over {LONGEST} lines: {long}"
