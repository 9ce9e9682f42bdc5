"""What the reports need from SQL that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class epoch(FunctionElement[float]):
    """Seconds since 1970 of a stored time, with fractions (durations)."""

    type = Float()
    inherit_cache = True


class whole_seconds(FunctionElement[int]):
    """Whole seconds since 1970 (exact: interval buckets never slip across a boundary)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch, "sqlite")
def _epoch_sqlite(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (SQLAlchemy's SQLite DateTime)
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch, "postgresql")
def _epoch_pg(element: epoch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


@compiles(whole_seconds, "sqlite")
def _whole_sqlite(element: whole_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(whole_seconds, "postgresql")
def _whole_pg(element: whole_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


Cell = str | int | float | None


@dataclass(frozen=True, slots=True)
class Report:
    """One report: a title, its columns and rows, ready for any format."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]

    def records(self) -> list[dict[str, Cell]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def ratio(part: float | None, whole: float | None, scale: float = 100.0) -> float | None:
    """part / whole (one decimal), or None when there is nothing to divide by."""
    if not whole or part is None:
        return None
    return round(scale * part / whole, 1)


def mean(total: float | None, count: int | None) -> float | None:
    return round(total / count, 1) if count and total is not None else None
