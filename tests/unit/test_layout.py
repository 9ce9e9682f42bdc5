"""House rules that keep the layout honest: checked by walking the imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ["core", "asterisk", "acd", "ivr", "dialer", "recorder", "sim", "bench"]
PURE = ["acd/routing.py", "ivr/machine.py", "dialer/pacing.py", "recorder/policy.py",
        "asterisk/wire.py", "asterisk/events.py"]
IO = {"asyncio", "panoramisk", "aiomqtt", "sqlalchemy", "aiosqlite", "asyncpg", "socket",
      "alembic", "structlog"}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")]


def test_only_the_ami_client_imports_panoramisk() -> None:
    users = {p.relative_to(ROOT).as_posix() for p in sources()
             if any(m.split(".")[0] == "panoramisk" for m in imports(p))}
    # bench/ingest uses panoramisk's parser as the baseline it is measured against.
    assert users == {"asterisk/client.py", "bench/ingest.py"}


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_do_no_io(module: str) -> None:
    path = ROOT / module
    if not path.exists():
        pytest.skip(f"{module} does not exist yet")
    bad = {m for m in imports(path) if m.split(".")[0] in IO}
    assert not bad, f"{module} imports {bad}"


def test_production_code_never_imports_the_simulator() -> None:
    allowed = {"core/demo.py", "core/cli.py"}  # the demo and `centralita sim` run it
    users = {p.relative_to(ROOT).as_posix() for p in sources()
             if not p.relative_to(ROOT).as_posix().startswith(("sim/", "bench/"))
             and any(m.split(".")[0] == "sim" for m in imports(p))}
    assert users <= allowed


def test_no_grab_bag_modules() -> None:
    names = {p.name for p in sources()}
    assert not names & {"utils.py", "manager.py", "helpers.py", "misc.py"}
