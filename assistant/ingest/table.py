"""Task tables (附件 任务分工表): find the header, cut rows, and place each cell in its column.

Two shapes of table text are read:
- one cell per line (what the .docx loader and most office extractions produce): a tab-only
  line is an empty cell, blank lines separate rows, a 序号 cell opens a row;
- one row per line, cells split by tabs, `|` (markdown) or runs of spaces.

Header cells may be spaced (牵 头 单 位) or split over lines (牵头 / 单位). A row whose cell count
differs from the header's is placed by what the cells look like (unit names, a deadline, task
text); when that leaves more than one reading, or a cell is clearly in the wrong column, the row
is reported as an error naming its line rather than shifted silently.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

from .notes import clean_deadline
from .textnorm import marker_level
from .units import looks_like_unit, split_lead_marks, split_units

COLUMN_KINDS: dict[str, str] = {
    **dict.fromkeys(("序号", "编号"), "number"),
    **dict.fromkeys(
        (
            "试点任务",
            "任务",
            "主要任务",
            "工作任务",
            "具体任务",
            "任务内容",
            "改革任务",
            "重点任务",
            "具体措施",
            "工作措施",
            "主要措施",
            "政策措施",
            "工作内容",
            "重点工作",
            "工作举措",
            "任务措施",
            "措施",
            "任务名称",
            "改革事项",
            "试点事项",
            "工作事项",
            "主要内容",
            "目标任务",
            "重点领域",
            "领域",
            "类别",
            "主要工作",
            "工作重点",
        ),
        "text",
    ),
    **dict.fromkeys(("牵头单位", "牵头部门", "牵头"), "lead"),
    **dict.fromkeys(
        ("责任单位", "责任部门", "配合单位", "配合部门", "参与单位", "协办单位", "协同单位"),
        "responsible",
    ),
    **dict.fromkeys(
        ("完成时限", "时间节点", "完成时间", "时限", "完成期限", "时间安排", "进度安排"),
        "deadline",
    ),
    **dict.fromkeys(("备注", "责任领导", "分管领导", "县级领导", "联系人", "责任人"), "other"),
}
_NAMES = sorted(COLUMN_KINDS, key=len, reverse=True)
ROW_SPLIT_RE = re.compile(r"\t|\s*\|\s*|\s{2,}|\u3000+")
DATE_CELL_RE = re.compile(r"\d{4}\s*年|年底|月底|季度|半年|长期|持续|常态|每年|前$|底前|完成$")
NUMBER_CELL_RE = re.compile(r"^[（(]?\s*(\d{1,3})\s*[)）]?\s*[.．、]?$")
END_STARTERS = ("抄送", "印发")


def segment_header(text: str) -> list[str] | None:
    """'序号重点任务牵头单位配合单位' → ['序号', '重点任务', '牵头单位', '配合单位'] (None if
    the text is not made only of header names)."""
    s = re.sub(r"[\s|]+", "", text)
    out: list[str] = []
    while s:
        name = next((n for n in _NAMES if s.startswith(n)), None)
        if name is None:
            return None
        out.append(name)
        s = s[len(name) :]
    return out or None


def _is_header_prefix(text: str) -> bool:
    """The text is header names followed by the start of one (a header cell split over lines)."""
    s = re.sub(r"[\s|]+", "", text)
    while s:
        name = next((n for n in _NAMES if s.startswith(n)), None)
        if name is None:
            return any(n.startswith(s) for n in _NAMES)
        s = s[len(name) :]
    return True


def _valid_header(names: list[str]) -> bool:
    kinds = [COLUMN_KINDS[n] for n in names]
    return (
        len(names) >= 2
        and any(k in ("lead", "responsible") for k in kinds)
        and "text" in kinds
        and len(set(names)) == len(names)
    )


@dataclass
class Table:
    header_line: int  # 0-based index of the first header line
    end_line: int  # 0-based index just past the header
    columns: list[str]  # header names as normalised
    row_style: bool  # one row per line (else one cell per line)

    @property
    def kinds(self) -> list[str]:
        return [COLUMN_KINDS[c] for c in self.columns]


def find_table(lines: list[str]) -> Table | None:
    """The first task-table header in the text."""
    for i, line in enumerate(lines):
        if not line.strip() or not _is_header_prefix(line):
            continue
        names = segment_header(line)
        if names and len(names) >= 2 and _valid_header(names):
            return Table(i, i + 1, names, row_style=True)
        j, acc = i, ""
        while j < len(lines) and lines[j].strip() and _is_header_prefix(acc + lines[j]):
            acc += lines[j]
            j += 1
            names = segment_header(acc)
            if (
                names
                and _valid_header(names)
                and not (j < len(lines) and lines[j].strip() and _is_header_prefix(acc + lines[j]))
            ):
                return Table(i, j, names, row_style=False)
    return None


@dataclass
class Cell:
    line: int  # 1-based
    text: str


@dataclass
class Row:
    line: int
    number: int | None
    label: str
    cells: list[Cell] = field(default_factory=list)
    section_path: tuple[str, ...] = ()


def split_row(line: str) -> list[str]:
    """Cells of a one-row-per-line table: tabs, `|`, runs of spaces; a line with single spaces
    only (text PDF extraction) splits on those, where an empty cell leaves no trace."""
    cells = [c.strip() for c in ROW_SPLIT_RE.split(line.strip("|").strip())]
    if len(cells) == 1 and " " in line.strip():
        cells = line.split()
    return cells


def _number(text: str) -> int | None:
    m = NUMBER_CELL_RE.match(text.strip())
    return int(m.group(1)) if m else None


def cut_rows(lines: list[str], table: Table) -> list[Row]:
    """Rows with their cells (the number cell taken out) and the section rows above them."""
    has_number = "number" in table.kinds
    rows: list[Row] = []
    path: list[tuple[int, str]] = []
    expected = 1
    restart_ok = False
    boundary = True  # a blank line just ended the previous row (rows without a 序号 column)
    for i in range(table.end_line, len(lines)):
        raw = lines[i]
        stripped = raw.strip()
        if stripped.startswith(END_STARTERS) or (stripped and set(stripped) <= set("|-: ")):
            if stripped.startswith(END_STARTERS):
                break
            continue
        if not stripped:
            if "\t" in raw and rows and not table.row_style:
                rows[-1].cells.append(Cell(i + 1, ""))
            else:
                boundary = True
            continue
        cells = split_row(stripped) if table.row_style else [stripped]
        first = cells[0]
        mk = marker_level(first)
        num = _number(first) if has_number else None
        if num is not None and (num == expected or (restart_ok and num == 1)):
            expected = num + 1
            restart_ok = False
            rows.append(Row(i + 1, num, first, [], tuple(s for _, s in path)))
            rows[-1].cells += [Cell(i + 1, c) for c in cells[1:]]
        elif (
            mk
            and mk[0] <= 2
            and len(cells) == 1
            and (not rows or len(rows[-1].cells) >= 2 or boundary)
        ):
            while path and path[-1][0] >= mk[0]:
                path.pop()
            path.append((mk[0], f"{mk[1]}{mk[2].rstrip('。')}"))
            restart_ok = True
        elif not has_number and (boundary or table.row_style):
            rows.append(
                Row(i + 1, None, "", [Cell(i + 1, c) for c in cells], tuple(s for _, s in path))
            )
        elif rows:
            rows[-1].cells += [Cell(i + 1, c) for c in cells]
        boundary = False
    return rows


def _names(text: str) -> list[str]:
    lead, rest = split_lead_marks(text)
    return [n for n, _ in split_units(f"{lead}、{rest}")]


def _units_only(text: str) -> bool:
    names = _names(text)
    return bool(names) and all(looks_like_unit(n) for n in names)


def fits(kind: str, text: str) -> bool:
    """Could this (joined) cell text stand in a column of this kind?"""
    if not text:
        return True
    if kind in ("lead", "responsible"):
        return _units_only(text)
    if kind == "deadline":
        return len(text) <= 30 and bool(DATE_CELL_RE.search(text))
    if kind == "text":
        if text.rstrip().endswith(("。", "；", "，", ",", ";")):
            return True  # a sentence (or a piece of one), never a unit list
        return not _units_only(text) and not (len(text) <= 20 and fits("deadline", text))
    return True


def clearly_misplaced(kind: str, text: str) -> bool:
    """A cell that cannot be in its column: sentences under a unit column, unit names only
    under the task column."""
    if not text:
        return False
    if kind in ("lead", "responsible"):
        return "。" in text or len(text) > 80 or any(len(n) > 30 for n in _names(text))
    if kind == "text":
        return not fits("text", text) and not fits("deadline", text)
    return False


def place(cells: list[str], kinds: list[str]) -> tuple[list[list[str]] | None, str]:
    """Assign cells (in order) to columns. Returns (cells per column, problem); the problem is
    '' when the reading is certain, 'warn:…' when one reading fits by content, else an error."""
    k, m = len(kinds), len(cells)
    while m > k and cells[-1] == "":  # trailing empty cells beyond the columns
        cells = cells[:-1]
        m -= 1
    if m == k:
        bad = [kinds[i] for i in range(k) if clearly_misplaced(kinds[i], cells[i])]
        if bad:
            return [[c] for c in cells], "列内容与表头不符（疑似错列）"
        return [[c] for c in cells], ""
    options: list[list[list[str]]] = []
    if m > k:
        for cuts in itertools.combinations(range(1, m), k - 1):
            bounds = (0, *cuts, m)
            groups = [cells[bounds[i] : bounds[i + 1]] for i in range(k)]
            if all(fits(kinds[i], "".join(groups[i])) for i in range(k)):
                options.append(groups)
        if len(options) > 1:  # an empty cell is a cell of its own, never part of a joined one
            options = [o for o in options if all(len(g) == 1 or all(g) for g in o)]
        if len(options) > 1:  # a cell broken over lines breaks mid-sentence
            options = [
                o
                for o in options
                if all(not c.endswith(("。", "！", "？")) for g in o for c in g[:-1])
            ]
        if len(options) == 1:
            return options[0], ""
        if not options:
            return None, f"单元格数（{m}）多于表头列数（{k}），且无法按内容确定各列"
        return None, f"单元格数（{m}）多于表头列数（{k}），跨行的单元格有多种读法"
    for empty in itertools.combinations(range(k), k - m):
        it = iter(cells)
        groups = [[] if i in empty else [next(it)] for i in range(k)]
        if all(fits(kinds[i], "".join(groups[i])) for i in range(k)):
            options.append(groups)
    if len(options) == 1:
        missing = [i for i, g in enumerate(options[0]) if not g]
        return options[0], "warn:" + "、".join(str(i) for i in missing)
    return None, f"单元格数（{m}）少于表头列数（{k}），无法判断哪一列为空"


def column_text(groups: list[list[str]], i: int, kind: str) -> str:
    sep = "" if kind in ("text", "deadline", "other") else "、"
    parts = [g for g in groups[i] if g]
    if kind in ("lead", "responsible"):  # a unit list broken mid-name joins without 、
        joined = "".join(parts)
        return joined
    return sep.join(parts)


def deadline_of(text: str) -> str:
    return clean_deadline(text) if text else ""
