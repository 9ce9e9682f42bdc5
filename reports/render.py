"""Reports as a terminal table, CSV, JSON or an XLSX workbook (a sheet per report)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

from reports.sql import Cell, Report

FORMATS = ("table", "csv", "json", "xlsx")


def _text(cell: Cell) -> str:
    if cell is None:
        return "-"
    if isinstance(cell, float):
        return f"{cell:,.1f}"
    return str(cell)


def table(reports: Sequence[Report]) -> str:
    """Columns aligned, numbers to the right; '-' where a figure has nothing to go on."""
    out: list[str] = []
    for report in reports:
        cells = [[_text(c) for c in row] for row in report.rows]
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(report.columns)]
        numeric = [all(isinstance(row[i], int | float) or row[i] is None for row in report.rows)
                   for i in range(len(report.columns))]

        def line(values: Sequence[str], numeric: Sequence[bool] = numeric,
                 widths: Sequence[int] = widths) -> str:
            return "  ".join(v.rjust(w) if n else v.ljust(w)
                             for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

        out += [report.title, line(report.columns), line(["-" * w for w in widths])]
        out += [line(r) for r in cells] or ["(no calls in this period)"]
        out.append("")
    return "\n".join(out)


def as_csv(reports: Sequence[Report]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for n, report in enumerate(reports):
        if len(reports) > 1:
            if n:
                buf.write("\n")
            writer.writerow([f"# {report.title}"])
        writer.writerow(report.columns)
        writer.writerows(["" if c is None else c for c in row] for row in report.rows)
    return buf.getvalue()


def as_json(reports: Sequence[Report], period: dict[str, str]) -> str:
    return json.dumps({"period": period, "reports": {r.name: r.records() for r in reports}},
                      indent=2)


def as_xlsx(reports: Sequence[Report], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for report in reports:
        sheet = book.create_sheet(report.name[:31])
        sheet.append(list(report.columns))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in report.rows:
            sheet.append(list(row))
        for i, name in enumerate(report.columns, start=1):
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, len(name) + 2)
        sheet.freeze_panes = "A2"
    book.save(path)
