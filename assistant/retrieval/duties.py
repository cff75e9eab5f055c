"""Duty lists: every task a unit leads or shares, from the task table, as rows and as files.

One lookup for the CLI (`assistant tasks`), the HTTP API (`GET /api/tasks`) and the chat
`/export`; the same rows become CSV, XLSX (openpyxl) or Markdown. A column the plan does
not print (a deadline, 完成时限) stays empty rather than being guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

from ..records import Task
from .store import IndexStore

Role = Literal["lead", "responsible", "any"]
Format = Literal["csv", "xlsx", "md"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "md")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "md": "text/markdown; charset=utf-8",
}
COLUMNS = ("方案", "序号", "任务", "角色", "牵头单位", "责任/配合单位", "完成时限", "出处（章节）")
ROLE_LABEL = {"lead": "牵头", "responsible": "责任/配合", "any": "牵头或责任/配合"}


@dataclass(frozen=True)
class Duties:
    asked: str  # the unit as typed
    units: tuple[str, ...]  # canonical names it resolved to
    plan_id: str | None
    role: Role
    tasks: tuple[Task, ...]

    def title(self) -> str:
        return f"{'、'.join(self.units)} {ROLE_LABEL[self.role]}的任务（共 {len(self.tasks)} 项）"


def find_duties(store: IndexStore, unit: str, plan_id: str | None, role: Role) -> Duties | None:
    """The unit's complete list (None when no unit matches); the caller checks plan_id."""
    units = store.resolve_unit(unit.strip(), plan_id or None)
    if not units:
        return None
    found: list[Task] = []
    for u in units:  # a unit is its own region's: only its plans' tasks
        for pid in [plan_id] if plan_id else u.plans:
            found += [t for t in store.tasks_for_unit(u.name, pid, role) if t not in found]
    found.sort(key=lambda t: (t.plan_id, t.number))
    return Duties(unit, tuple(u.name for u in units), plan_id or None, role, tuple(found))


def role_of(task: Task, units: tuple[str, ...]) -> str:
    """The asked unit's role in this task, in the plan's own words."""
    if set(units) & set(task.lead):
        return "牵头单位"
    return task.role_word or "责任单位"


def rows(store: IndexStore, duties: Duties) -> list[list[str]]:
    out = []
    for t in duties.tasks:
        out.append(
            [
                store.plans[t.plan_id].title,
                str(t.number),
                t.text,
                role_of(t, duties.units),
                "、".join(t.lead),
                "、".join(t.responsible),
                str(getattr(t, "deadline", None) or ""),
                " / ".join(t.section_path),
            ]
        )
    return out


def to_csv(table: list[list[str]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese text correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(table)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(table: list[list[str]], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = "任务清单"
    ws.append(list(COLUMNS))
    for row in table:
        ws.append([row[0], int(row[1]), *row[2:]])  # the number as a number: it sorts
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = (28, 6, 60, 10, 24, 36, 12, 36)
    for col, width in zip("ABCDEFGH", widths, strict=True):
        ws.column_dimensions[col].width = width
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    wb.properties.title = title
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_markdown(table: list[list[str]], title: str) -> bytes:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"# {title}", "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table]
    return ("\n".join(lines) + "\n").encode("utf-8")


def export(store: IndexStore, duties: Duties, fmt: str) -> bytes:
    table = rows(store, duties)
    if fmt == "csv":
        return to_csv(table)
    if fmt == "xlsx":
        return to_xlsx(table, duties.title())
    if fmt == "md":
        return to_markdown(table, duties.title())
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


def filename(duties: Duties, fmt: str) -> str:
    plan = f"-{duties.plan_id}" if duties.plan_id else ""
    return f"{duties.units[0] if len(duties.units) == 1 else duties.asked}{plan}-任务清单.{fmt}"
