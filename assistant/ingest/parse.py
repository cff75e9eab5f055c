"""Parse a plan's text into sections and tasks.

Two task layouts occur in this genre and both are read without per-file cases:
- inline: `1. 标题。正文……(牵头单位：A、B；责任单位：C)` in the body;
- an annex table (序号 / 试点任务 / 牵头单位 / 责任单位), one cell per line.
When a plan has an annex table, its rows are the tasks; otherwise the inline ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ..records import Issue, Plan, Section, Task
from .textnorm import Para, marker_level, paragraphs, split_annex
from .units import split_units

ROLE_WORDS = ("牵头单位", "责任单位", "配合单位")
_LABEL = r"(牵\s*头\s*单\s*位|责\s*任\s*单\s*位|配\s*合\s*单\s*位)\s*[：:]"
UNIT_BLOCK_RE = re.compile(r"[（(]\s*" + _LABEL)
LABEL_RE = re.compile(_LABEL)
TASK_HEADER_CELLS = ("试点任务", "任务", "主要任务", "工作任务", "具体任务", "任务内容", "改革任务")
TAIL_STARTERS = ("附件", "抄送", "附：")

Canon = Callable[[str], str]


@dataclass
class BodyPara:
    """A body paragraph with the section path it sits under."""

    para: Para
    section_path: tuple[str, ...]
    kind: str  # body | header | annex


@dataclass
class ParseResult:
    sections: list[Section] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    body: list[BodyPara] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    layout: str = "none"  # inline | annex | none


def heading_of(rest: str) -> str:
    """Run-in heading: text up to the first 。 when short, else the whole short line."""
    rest = rest.strip()
    if (i := rest.find("。")) != -1 and i <= 45:
        return rest[:i]
    return rest if len(rest) <= 45 else rest[:45]


def parse_plan(plan: Plan, text: str, canon: Canon = lambda s: s) -> ParseResult:
    lines = text.splitlines()
    header_idx, tail_idx = split_annex(lines)
    body_lines = lines if tail_idx is None else lines[:tail_idx]
    result = ParseResult()
    _parse_body(plan, paragraphs(body_lines), result, canon)
    if header_idx is not None:
        annex_tasks = _parse_annex(plan, lines, header_idx, result.issues, canon)
        if annex_tasks:
            if result.tasks:
                result.issues.append(
                    Issue(
                        plan.id,
                        header_idx + 1,
                        f"正文中有 {len(result.tasks)} 项带单位的任务，附件表另有 {len(annex_tasks)} 项；以附件表为准",
                    )
                )
            result.tasks, result.layout = annex_tasks, "annex"
    elif result.tasks:
        result.layout = "inline"
    if not result.tasks:
        result.issues.append(
            Issue(plan.id, 1, "未识别出任何任务（既无“牵头单位”标注，也无任务分工表）", "error")
        )
    for t in result.tasks:
        if not t.lead:
            result.issues.append(Issue(plan.id, t.line_start, f"第{t.number}项任务缺少牵头单位"))
    return result


def _parse_body(plan: Plan, paras: list[Para], out: ParseResult, canon: Canon) -> None:
    stack: list[tuple[int, str]] = []
    started = in_tail = False
    seen_numbers: set[int] = set()
    for p in paras:
        text = p.text
        if text.startswith(TAIL_STARTERS):
            in_tail = True
        if in_tail:
            out.body.append(BodyPara(p, ("附件及抄送",), "annex"))
            continue
        mk = marker_level(text)
        if mk and mk[0] == 1:
            started = True
        if not started:
            out.body.append(BodyPara(p, (), "header"))
            continue
        blocks = list(UNIT_BLOCK_RE.finditer(text))
        if blocks:  # the last labelled block holds the units; earlier brackets are task text
            task = _inline_task(plan, p, mk, blocks[-1].start(), stack, canon, out.issues)
            if task.number in seen_numbers:
                out.issues.append(Issue(plan.id, p.line_start, f"任务编号 {task.number} 重复"))
            seen_numbers.add(task.number)
            out.tasks.append(task)
            continue
        if mk:
            level, marker, rest = mk
            while stack and stack[-1][0] >= level:
                stack.pop()
            heading = heading_of(rest)
            stack.append((level, f"{marker}{heading}"))
            path = tuple(s for _, s in stack)
            out.sections.append(
                Section(plan.id, path, level, heading, text, p.line_start, p.line_end)
            )
            body_text = rest[len(heading) :].lstrip("。").strip()
            if body_text:
                out.body.append(BodyPara(p, path, "body"))
            continue
        out.body.append(BodyPara(p, tuple(s for _, s in stack), "body"))


def _inline_task(
    plan: Plan,
    p: Para,
    mk: tuple[int, str, str] | None,
    block_at: int,
    stack: list[tuple[int, str]],
    canon: Canon,
    issues: list[Issue],
) -> Task:
    text = p.text
    if mk and mk[0] in (3, 4):
        number = int(re.sub(r"\D", "", mk[1]))
        body = mk[2]
        block_at -= len(text) - len(body)
    else:
        number = 0
        body = text
        issues.append(Issue(plan.id, p.line_start, "带“牵头单位”标注的段落没有任务编号"))
    task_text = body[:block_at].strip()
    block = body[block_at:].strip()
    block = block[1:]  # opening bracket
    depth, end = 1, len(block)
    for i, ch in enumerate(block):
        depth += ch in "（("
        depth -= ch in ")）"
        if depth == 0:
            end = i
            break
    labels = _split_labels(block[:end])
    lead_text = labels.get("牵头单位", "")
    role_word = next((w for w in ("责任单位", "配合单位") if w in labels), "责任单位")
    resp_text = labels.get(role_word, "")
    section_path = tuple(s for lvl, s in stack if not mk or lvl < mk[0])
    return Task(
        plan_id=plan.id,
        number=number,
        heading=heading_of(task_text) if "。" in task_text[:46] else "",
        text=task_text,
        section_path=section_path,
        lead=_units(lead_text, canon),
        responsible=_units(resp_text, canon),
        role_word=role_word,
        lead_text=lead_text,
        responsible_text=resp_text,
        line_start=p.line_start,
        line_end=p.line_end,
    )


def _split_labels(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    matches = list(LABEL_RE.finditer(block))
    for i, m in enumerate(matches):
        word = re.sub(r"\s+", "", m.group(1))
        end = matches[i + 1].start() if i + 1 < len(matches) else len(block)
        out[word] = block[m.end() : end].strip().strip("；;，,。 ")
    return out


def _units(text: str, canon: Canon) -> tuple[str, ...]:
    return tuple(dict.fromkeys(canon(name) for name, _ in split_units(text)))


def _parse_annex(
    plan: Plan, lines: list[str], header_idx: int, issues: list[Issue], canon: Canon
) -> list[Task]:
    """Rows of a one-cell-per-line annex table. A tab-only line is an empty cell; blank
    lines are ignored (they separate rows, but also occur inside one)."""
    cells: list[tuple[int, str]] = []
    for i in range(header_idx, len(lines)):
        raw = lines[i]
        if raw.strip().startswith(("抄送", "印发")):
            break
        if raw.strip():
            cells.append((i + 1, raw.strip()))
        elif "\t" in raw:
            cells.append((i + 1, ""))
    header: list[str] = []
    while cells and (cells[0][1] in ("序号", *TASK_HEADER_CELLS, *ROLE_WORDS) or not header):
        header.append(cells.pop(0)[1])
    role_word = next((w for w in ("责任单位", "配合单位") if w in header), "责任单位")
    rows: list[tuple[int, list[str], tuple[str, ...]]] = []
    path: list[tuple[int, str]] = []
    expected = 1
    for lineno, cell in cells:
        mk = marker_level(cell)
        if cell.isdigit() and int(cell) == expected:
            rows.append((lineno, [], tuple(s for _, s in path)))
            expected += 1
        elif mk and mk[0] <= 2 and (not rows or len(rows[-1][1]) >= 2):
            while path and path[-1][0] >= mk[0]:
                path.pop()
            path.append((mk[0], f"{mk[1]}{mk[2].rstrip('。')}"))
        elif rows:
            rows[-1][1].append(cell)
    tasks = []
    for n, (lineno, row, spath) in enumerate(rows, start=1):
        while len(row) > 3 and row[-1] == "":  # trailing empty cells beyond the columns
            row.pop()
        if len(row) < 3:
            row = row + [""] * (3 - len(row))
        text = "".join(row[:-2]).strip()
        lead_text, resp_text = row[-2], row[-1]
        if not text:
            issues.append(Issue(plan.id, lineno, f"附件第{n}行缺少任务内容"))
        heading = re.sub(r"^[（(][一二三四五六七八九十]+[)）]", "", spath[-1]) if spath else ""
        tasks.append(
            Task(
                plan_id=plan.id,
                number=n,
                heading=heading.rstrip("。"),
                text=text,
                section_path=spath,
                lead=_units(lead_text, canon),
                responsible=_units(resp_text, canon),
                role_word=role_word,
                lead_text=lead_text,
                responsible_text=resp_text,
                line_start=lineno,
                line_end=lineno + len(row) + 1,
            )
        )
    return tasks
