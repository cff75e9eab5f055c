"""Parse a plan's text into sections and tasks.

Two task layouts occur in this genre and both are read without per-file cases:
- inline: a numbered paragraph with a unit note (see `notes`): `1. 标题。正文……（牵头单位：A；
  责任单位：B）`, `（A牵头，B配合）`, `（A、B负责）` under a first-listed-leads rule, or
  牵头单位：/责任单位：/完成时限： lines after the task;
- a task table (see `table`): 序号 / 重点任务 / 牵头单位 / 责任单位 / 完成时限 ….
When a plan has a task table, its rows are the tasks; otherwise the inline ones.
Task numbers are the plan's own; where they repeat or are missing, tasks are numbered in
order and a warning says so (a number is never 0 and never stands for "none").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..records import Issue, Plan, Section, Task
from . import table as tbl
from .notes import LABEL_RE, Note, has_first_lead_rule, merge, parse_labelled, parse_note
from .textnorm import DIGIT_TEXT_MARKER, Para, marker_level, marker_number, paragraphs
from .units import split_units

UNIT_BLOCK_RE = re.compile(r"[（(]\s*" + LABEL_RE.pattern)
# a label run not in brackets: "…。牵头单位：X；责任单位：Y" or a line of its own
BARE_LABEL_RE = re.compile(r"(?:^|(?<=[。；;]))\s*" + LABEL_RE.pattern)
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


@dataclass
class Draft:
    """A task before numbering: the record plus what the parser knows about its note."""

    task: Task
    printed: int | None
    lead_expected: bool


def parse_plan(plan: Plan, text: str, canon: Canon = lambda s: s) -> ParseResult:
    lines = text.splitlines()
    first_leads = has_first_lead_rule(text)
    table = tbl.find_table(lines)
    tail_idx = None
    if table is not None:
        tail_idx = table.header_line
        for j in range(table.header_line - 1, max(-1, table.header_line - 6), -1):
            if lines[j].strip().startswith("附件"):
                tail_idx = j
                break
    body_lines = lines if tail_idx is None else lines[:tail_idx]
    result = ParseResult()
    drafts = _parse_body(plan, paragraphs(body_lines), result, canon, first_leads)
    if table is not None:
        annex = _parse_table(plan, lines, table, result.issues, canon, first_leads)
        if annex:
            if drafts:
                result.issues.append(
                    Issue(
                        plan.id,
                        table.header_line + 1,
                        f"正文中有 {len(drafts)} 项带单位的任务，附件表另有 {len(annex)} 项；以附件表为准",
                    )
                )
            drafts, result.layout = annex, "annex"
    if drafts and result.layout == "none":
        result.layout = "inline"
    result.tasks = _numbered(plan, drafts, result.issues)
    if not result.tasks:
        result.issues.append(
            Issue(plan.id, 1, "未识别出任何任务（既无牵头/责任单位标注，也无任务分工表）")
        )
    for d, t in zip(drafts, result.tasks, strict=True):
        if not t.lead and d.lead_expected:
            result.issues.append(
                Issue(plan.id, t.line_start, f"第{t.number}项任务缺少牵头单位", "error")
            )
    return result


def _numbered(plan: Plan, drafts: list[Draft], issues: list[Issue]) -> list[Task]:
    """The plan's own numbers when they identify every task; else 1…n in order, said so."""
    printed = [d.printed for d in drafts]
    if all(n is not None and n > 0 for n in printed) and len(set(printed)) == len(printed):
        return [replace(d.task, number=d.printed) for d in drafts if d.printed is not None]
    if drafts:
        missing = sum(n is None for n in printed)
        why = f"{missing} 项任务没有编号" if missing else "任务编号重复（可能分节重新编号）"
        issues.append(
            Issue(plan.id, drafts[0].task.line_start, f"{why}，已按出现顺序编为第1–{len(drafts)}项")
        )
    return [replace(d.task, number=i) for i, d in enumerate(drafts, start=1)]


def _find_note(text: str, first_leads: bool) -> tuple[int, Note] | None:
    """Where the task's unit note starts in a paragraph, and what it says."""
    blocks = list(UNIT_BLOCK_RE.finditer(text))
    if blocks:  # the last labelled block holds the units; earlier brackets are task text
        at = blocks[-1].start()
        inner, after = _bracket(text, at)
        note = parse_labelled(inner, first_leads)
        if note is not None:
            extra = _trailing_notes(text[after:], first_leads)
            return at, merge([note, *extra[1]]) if extra[1] else note
    end, notes = _trailing_notes(text, first_leads)
    if notes:
        return end, merge(notes)
    bare = list(BARE_LABEL_RE.finditer(text))
    if bare:
        at = bare[0].start()
        note = parse_labelled(text[at:], first_leads)
        if note is not None and (note.lead or note.responsible or note.deadline):
            return at, note
    return None


def _bracket(text: str, at: int) -> tuple[str, int]:
    """Content of the bracket opening at `at` (to its matching close) and the index after it."""
    depth = 0
    for i in range(at, len(text)):
        depth += text[i] in "（("
        depth -= text[i] in ")）"
        if depth == 0:
            return text[at + 1 : i], i + 1
    return text[at + 1 :], len(text)


def _trailing_notes(text: str, first_leads: bool) -> tuple[int, list[Note]]:
    """Unit/deadline notes in the brackets that end a paragraph, read right to left."""
    notes: list[Note] = []
    end = len(text)
    while True:
        stripped = text[:end].rstrip("。；;，, \t")
        if not stripped.endswith((")", "）")):
            break
        depth, start = 0, -1
        for i in range(len(stripped) - 1, -1, -1):
            depth += stripped[i] in ")）"
            depth -= stripped[i] in "（("
            if depth == 0:
                start = i
                break
        if start < 0:
            break
        note = parse_note(stripped[start + 1 : -1], first_leads)
        if note is None:
            break
        notes.insert(0, note)
        end = start
    return end, notes


def _parse_body(
    plan: Plan, paras: list[Para], out: ParseResult, canon: Canon, first_leads: bool
) -> list[Draft]:
    stack: list[tuple[int, str]] = []
    started = in_tail = False
    drafts: list[Draft] = []
    # label lines (牵头单位：… / 完成时限：…) belong to the paragraph before them
    groups: list[tuple[Para, list[Para]]] = []
    for p in paras:
        if groups and LABEL_RE.match(p.text) and not p.text.startswith(TAIL_STARTERS):
            groups[-1][1].append(p)
        else:
            groups.append((p, []))
    for p, label_paras in groups:
        text = p.text
        if text.startswith(TAIL_STARTERS):
            in_tail = True
        if in_tail:
            for q in (p, *label_paras):
                out.body.append(BodyPara(q, ("附件及抄送",), "annex"))
            continue
        mk = marker_level(text)
        found = _find_note(text, first_leads)
        if label_paras:
            labels = "；".join(q.text for q in label_paras)
            note = parse_labelled(labels, first_leads)
            if note is not None:
                notes = [found[1]] if found else []
                at = found[0] if found else len(text)
                found = (at, merge([*notes, note]))
        if (mk and mk[0] == 1) or (found and (found[1].lead or found[1].responsible)):
            started = True
        if not started:
            out.body.append(BodyPara(p, (), "header"))
            continue
        end = label_paras[-1].line_end if label_paras else p.line_end
        if found and (found[1].lead or found[1].responsible or found[1].lead_expected):
            drafts.append(_inline_task(plan, p, end, mk, found, stack, canon))
            continue
        for q in label_paras:  # labels that name no unit: ordinary text
            out.body.append(BodyPara(q, tuple(s for _, s in stack), "body"))
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
    return drafts


def _inline_task(
    plan: Plan,
    p: Para,
    line_end: int,
    mk: tuple[int, str, str] | None,
    found: tuple[int, Note],
    stack: list[tuple[int, str]],
    canon: Canon,
) -> Draft:
    text = p.text
    at, note = found
    if mk is None and (dm := DIGIT_TEXT_MARKER.match(text)):  # 11.121人才梯队项目…
        mk = (3, text[: dm.end()].strip(), text[dm.end() :])
    label, printed, body = "", None, text
    if mk:
        label, body = mk[1], mk[2]
        printed = marker_number(mk[1])
        at -= len(text) - len(body)
    task_text = body[:at].strip()
    units_text = "" if note.labelled else body[at:].strip().rstrip("。；;")
    section_path = tuple(s for lvl, s in stack if not mk or lvl < mk[0])
    task = Task(
        plan_id=plan.id,
        number=0,  # set by _numbered
        heading=heading_of(task_text) if "。" in task_text[:46] else "",
        text=task_text,
        section_path=section_path,
        lead=_units_of(note.lead, canon),
        responsible=_units_of(note.responsible, canon),
        role_word=note.role_word,
        lead_text=note.lead_text,
        responsible_text=note.responsible_text,
        line_start=p.line_start,
        line_end=line_end,
        deadline=note.deadline,
        label=label,
        units_text=units_text,
    )
    return Draft(task, printed, note.lead_expected)


def _units_of(names: tuple[str, ...], canon: Canon) -> tuple[str, ...]:
    return tuple(dict.fromkeys(canon(n) for n in names))


def _units(text: str, canon: Canon) -> tuple[str, ...]:
    return tuple(dict.fromkeys(canon(name) for name, _ in split_units(text)))


def _parse_table(
    plan: Plan,
    lines: list[str],
    table: tbl.Table,
    issues: list[Issue],
    canon: Canon,
    first_leads: bool,
) -> list[Draft]:
    """Rows of a task table as drafts; rows that cannot be placed are errors naming the line."""
    kinds = [k for k in table.kinds if k != "number"]
    names = [c for c in table.columns if tbl.COLUMN_KINDS[c] != "number"]
    text_cols = [i for i, k in enumerate(kinds) if k == "text"]
    resp_cols = [i for i, k in enumerate(kinds) if k == "responsible"]
    role_word = names[resp_cols[0]] if resp_cols else "责任单位"
    drafts: list[Draft] = []
    prev_heading = ""
    for n, row in enumerate(tbl.cut_rows(lines, table), start=1):
        where = f"表格第{row.number if row.number is not None else n}行"
        groups, problem = tbl.place([c.text for c in row.cells], kinds)
        if groups is None:
            issues.append(Issue(plan.id, row.line, f"{where}：{problem}", "error"))
            continue
        if problem.startswith("warn:"):
            empty = "、".join(f"“{names[int(i)]}”" for i in problem[5:].split("、"))
            lead_gone = any(kinds[int(i)] == "lead" for i in problem[5:].split("、"))
            issues.append(
                Issue(
                    plan.id,
                    row.line,
                    f"{where}：单元格少于表头列数，按内容判断{empty}列为空",
                    "error" if lead_gone else "warning",
                )
            )
        elif problem:
            issues.append(Issue(plan.id, row.line, f"{where}：{problem}", "error"))
        col = [tbl.column_text(groups, i, k) for i, k in enumerate(kinds)]
        lead_text = "、".join(col[i] for i, k in enumerate(kinds) if k == "lead" and col[i])
        resp_text = "、".join(col[i] for i in resp_cols if col[i])
        note = parse_labelled(
            (f"牵头单位：{lead_text}；" if lead_text else "") + f"{role_word}：{resp_text}",
            first_leads,
        )
        assert note is not None
        heading = col[text_cols[0]] if len(text_cols) > 1 else ""
        if len(text_cols) > 1 and not heading:
            heading = prev_heading  # a merged 重点任务 cell spans several rows
        prev_heading = heading
        text = col[text_cols[-1]] if text_cols else ""
        if not text:
            issues.append(Issue(plan.id, row.line, f"{where}：缺少任务内容"))
        if not heading:
            heading = (
                re.sub(r"^[（(][一二三四五六七八九十]+[)）]", "", row.section_path[-1])
                if row.section_path
                else ""
            )
        deadline = "".join(col[i] for i, k in enumerate(kinds) if k == "deadline")
        task = Task(
            plan_id=plan.id,
            number=0,
            heading=heading.rstrip("。"),
            text=text,
            section_path=row.section_path,
            lead=_units_of(note.lead, canon),
            responsible=_units_of(note.responsible, canon),
            role_word=role_word,
            lead_text=lead_text,
            responsible_text=resp_text,
            line_start=row.line,
            line_end=row.line + len(row.cells) + 1,  # as before: seed citations keep their spans
            deadline=tbl.deadline_of(deadline),
            label=row.label,
        )
        lead_expected = "lead" in kinds or bool(note.lead)
        drafts.append(Draft(task, row.number, lead_expected or first_leads))
    return drafts
