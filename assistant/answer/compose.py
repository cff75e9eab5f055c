"""Extractive composition: (query, evidence) → Draft. Pure: no index access.

The first line answers (who leads / how many / not covered and what is closest); a list comes
with its count; each item is a task's number, its text cut at a clause boundary, and its units
in the plan's own wording. One formatter for a task's units, one for citations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from ..records import Answer, Citation, Plan, Status, Task
from ..retrieval.topics import content_words
from .evidence import Evidence, Fact, TaskGroup
from .understand import Query, rx

CLAUSE_END = "。；;！？"
CLAUSE_SOFT = "，、：,"


@dataclass(frozen=True)
class Context:
    """What composition needs to know of the index: plans and passage ids (no store)."""

    plans: dict[str, Plan]
    passage_ids: dict[tuple[str, int], str]


@dataclass
class Item:
    marker: int
    plan_id: str
    task_number: int | None
    text: str
    lead: str = ""
    responsible: str = ""
    role_word: str = ""
    deadline: str = ""


@dataclass
class Draft:
    """What composition hands to verification: text lines, citations, derived counts, and the
    same content as structure (summary + groups of items) for the widget."""

    lang: str = "zh"
    citations: list[Citation] = field(default_factory=list)
    counts: set[int] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)
    groups: list[dict[str, object]] = field(default_factory=list)
    blocks: list[dict[str, object]] = field(default_factory=list)  # text and list blocks, in order

    def cite_task(self, ctx: Context, task: Task, via: str = "") -> int:
        for c in self.citations:
            if c.plan_id == task.plan_id and c.task_number == task.number:
                return c.marker
        self.citations.append(
            Citation(
                marker=len(self.citations) + 1,
                plan_id=task.plan_id,
                plan_title=ctx.plans[task.plan_id].title,
                task_number=task.number,
                section=" / ".join(task.section_path),
                quote=task.quote(),
                passage_id=ctx.passage_ids.get((task.plan_id, task.number), ""),
                lead=list(task.lead),
                responsible=list(task.responsible),
                role_word=task.role_word,
                via=via,
            )
        )
        return len(self.citations)

    def cite_chunk(
        self, ctx: Context, plan_id: str, chunk_id: str, section: str, quote: str,
        task_number: int | None = None,
    ) -> int:
        for c in self.citations:
            if c.passage_id == chunk_id:
                return c.marker
        self.citations.append(
            Citation(len(self.citations) + 1, plan_id, ctx.plans[plan_id].title, task_number,
                     section, quote, chunk_id)
        )
        return len(self.citations)

    def say(self, line: str) -> None:
        if self.lang == "en" and line[:1].islower():
            line = line[0].upper() + line[1:]
        self.lines.append(line)
        self.blocks.append({"kind": "text", "text": line})

    def group(self, title: str, plan_id: str | None = None) -> None:
        group: dict[str, object] = {"title": title, "plan_id": plan_id, "items": []}
        self.groups.append(group)
        self.blocks.append({"kind": "list", **group})
        self.blocks[-1]["items"] = group["items"]  # the same list object: one source of truth
        if title:
            self.lines.append(title)

    def related(self, ctx: Context, task: Task, terms: str = "") -> None:
        """A counterpart shown under the last item (a comparison's other plan)."""
        m = self.cite_task(ctx, task)
        items = self.groups[-1]["items"]
        assert isinstance(items, list) and items
        text = excerpt(task.text, terms, 60)
        items[-1].setdefault("related", []).append(
            Item(m, task.plan_id, task.number, text, task.lead_text, task.responsible_text,
                 task.role_word).__dict__
        )
        other = plan_label(ctx.plans[task.plan_id], self.lang)
        self.lines.append(
            f"   ↔ {other} task {task.number}: {text} [{m}]; {units_line(task, self.lang)}"
            if self.lang == "en"
            else f"   ↔ {other}第{task.number}项：{text} [{m}]；{units_line(task)}"
        )

    def item(self, ctx: Context, task: Task, terms: str = "", via: str = "", named: bool = False) -> None:
        """One numbered list item: the task, its text and its units as printed (`named`: the
        plan's short name before the number, in lists that mix plans)."""
        m = self.cite_task(ctx, task, via)
        if not self.groups:
            self.group("")
        items = self.groups[-1]["items"]
        assert isinstance(items, list)
        n = len(items) + 1
        text = excerpt(task.text, terms)
        items.append(Item(m, task.plan_id, task.number, text, task.lead_text,
                          task.responsible_text, task.role_word, task.deadline).__dict__)
        plan = ctx.plans[task.plan_id]
        label = f"Task {task.number}" if self.lang == "en" else f"第{task.number}项"
        if named:
            label = f"{plan.name_en or plan.short_name} {label}" if self.lang == "en" else f"{plan.short_name}{label}"
        self.lines.append(f"{n}. {label}：{text} [{m}]")
        self.lines.append(f"   {units_line(task, self.lang)}")

    def answer(self, status: Status, intent: str, plan_ids: list[str], suggestions: list[str]) -> Answer:
        a = Answer("\n".join(self.lines), status, intent, self.citations, suggestions, plan_ids)
        a.lang = self.lang
        a.summary = self.lines[0] if self.lines else ""
        a.groups = self.groups
        a.blocks = self.blocks
        return a



def _many(n: int, noun: str) -> str:
    """"1 task", "4 tasks": an English count with its noun in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

def units_line(task: Task, lang: str = "zh") -> str:
    """A task's units in the plan's own wording (县事业单位登记管理局（县委编办） stays whole)."""
    lead = task.lead_text or "（未列明）"
    resp = task.responsible_text or "（未列明）"
    if lang == "en":
        return f"Lead: {lead}; Responsible ({task.role_word}): {resp}" + (f"; deadline: {task.deadline}" if task.deadline else "")
    return f"牵头单位：{lead}；{task.role_word}：{resp}" + (f"；完成时限：{task.deadline}" if task.deadline else "")


def printed_name(unit: str, tasks: list[Task]) -> str:
    """The unit as the plan prints it, with the name in parentheses it may carry
    (县事业单位登记管理局（县委编办）), so a reader looking for either finds it."""
    for t in tasks:
        for printed in (t.lead_text, t.responsible_text):
            i = printed.find(unit + "（")
            if i >= 0 and (j := printed.find("）", i)) > 0:
                return printed[i : j + 1]
    return unit


def excerpt(text: str, terms: str = "", limit: int = 90, reach: int = 240) -> str:
    """The task text, cut after a clause ending at most `limit` characters in, but never before
    the first place a topic word occurs within `reach` characters (so the part asked about is
    always shown)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    need = 0
    for w in _reach_words(terms):
        if len(w) >= 2 and (i := text.find(w)) >= 0:
            need = max(need, i + len(w)) if i + len(w) < reach else need
    cut = _boundary(text, max(limit, need), CLAUSE_END) or _boundary(text, max(limit, need), CLAUSE_SOFT)
    if not cut or cut >= len(text):
        return text
    return text[:cut].rstrip(CLAUSE_SOFT) + "……"


@lru_cache(maxsize=1024)
def _reach_words(terms: str) -> tuple[str, ...]:
    """The words an excerpt must reach: the terms as given, then their content words ("开电子处方"
    → 处方, printed as 线上处方信息). Kept per terms: every item of a list shares them."""
    words = re.split(r"[\s、]+", terms)
    # the topic's words together too: 发展主题 is first printed later than 发展 or 主题 alone
    joined = ["".join(words)] if len(words) > 1 and len("".join(words)) <= 8 else []
    return (*words, *joined, *content_words(" ".join(words)))


def _boundary(text: str, at_least: int, marks: str) -> int:
    """The first clause end at or after `at_least`, or the last one before it (0 if none);
    never inside quotation marks (“全域康养、绿色崛起” is one name)."""
    depth, ends = 0, []
    for i, ch in enumerate(text):
        depth += (ch == "“") - (ch == "”")
        if ch in marks and depth <= 0:
            ends.append(i + 1)
    after = [i for i in ends if i >= at_least]
    if after and after[0] <= at_least + 60:
        return after[0]
    before = [i for i in ends if i <= at_least]
    return before[-1] if before and before[-1] >= 20 else 0


def plan_label(plan: Plan, lang: str = "zh") -> str:
    return f"《{plan.title}》" if lang == "zh" else f"the {plan.name_en or plan.short_name} plan (《{plan.title}》)"


def _names(ctx: Context, plan_ids: list[str] | tuple[str, ...]) -> str:
    return "、".join(f"《{ctx.plans[p].title}》" for p in plan_ids)


# ---- composers, one per intent ----
# A list spanning more plans than this is listed in full only for its first plans (and about
# this many items); every other plan gets its count, and the rest is left to the export or to a
# question that names the plan. Two or three plans are never cut.
LIST_PLANS = 3
LIST_ITEMS = 40
COUNTED_PLANS = 20  # plans named with their counts in the summary line, then "等"


def compose_unit_tasks(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    # plans where the unit has tasks first: the first line should answer, not say "none"
    pids = sorted(q.plan_ids, key=lambda p: not any(g.tasks for g in ev.groups if g.plan_id == p))
    per_plan = {
        p: len({t for g in ev.groups if g.plan_id == p for t in g.tasks}) for p in pids
    }
    shown = _shown_plans(per_plan, q.subset)
    hidden = [p for p in pids if per_plan[p] and p not in shown]
    # the tasks that name the unit itself (not through 县级各部门), per plan
    named = {p: len({t for g in ev.groups if g.plan_id == p and g.key in ("lead", "responsible") for t in g.tasks})
             for p in pids}
    having = [p for p in pids if named[p]]
    if q.wants_count and len(having) > 1 and len(q.units) == 1 and not q.subset:
        # "…一共几项？" over several plans: the total first, then each plan's list
        total = sum(named[p] for p in having)
        d.counts |= {total, len(having), *(named[p] for p in having)}
        verb = {"lead": ("leads", "牵头"), "responsible": ("supports", "参与")}.get(q.role, ("is named in", "涉及"))
        if d.lang == "en":
            split = ", ".join(f"{ctx.plans[p].name_en or ctx.plans[p].short_name} {named[p]}" for p in having)
            d.say(f"In all, {q.units[0]} {verb[0]} {_many(total, 'task')} in {len(having)} plans ({split}).")
        else:
            split = "，".join(f"{ctx.plans[p].short_name or ctx.plans[p].title} {named[p]} 项" for p in having)
            d.say(f"{q.units[0]}在 {len(having)} 个方案中共{verb[1]} {total} 项任务（{split}）。")
    _unit_task_lists(q, ev, ctx, d, [p for p in pids if p in shown])
    if hidden:
        _more_plans(ctx, d, hidden, per_plan)


def _shown_plans(per_plan: dict[str, int], subset: bool) -> list[str]:
    """The plans whose tasks a list shows in full: all of them, unless more than LIST_PLANS
    plans have tasks; then the first plans up to LIST_PLANS plans and LIST_ITEMS items."""
    if subset or sum(1 for n in per_plan.values() if n) <= LIST_PLANS:
        return list(per_plan)
    shown: list[str] = []
    for p in (p for p in per_plan if per_plan[p]):
        if not shown or (len(shown) < LIST_PLANS and sum(per_plan[x] for x in shown) + per_plan[p] <= LIST_ITEMS):
            shown.append(p)
    return shown


def _more_plans(
    ctx: Context, d: Draft, hidden: list[str], per_plan: dict[str, int], export: bool = True
) -> None:
    """The plans left out of a long list: their counts, then where the full list is."""
    en = d.lang == "en"
    rest = sum(per_plan[p] for p in hidden)
    d.counts |= {len(hidden), rest, *(per_plan[p] for p in hidden)}
    named = hidden[:COUNTED_PLANS]
    if en:
        parts = ", ".join(f"{ctx.plans[p].name_en or ctx.plans[p].short_name} ({per_plan[p]})" for p in named)
        more = f" and {len(hidden) - len(named)} more" if len(hidden) > len(named) else ""
        d.counts.add(len(hidden) - len(named))  # a count of plans, derived from the tables
        d.say(f"{_many(len(hidden), 'more plan')} {'has' if len(hidden) == 1 else 'have'} such tasks: {parts}{more}.")
        d.say(f"…the other {_many(rest, 'task')} {'is' if rest == 1 else 'are'} not listed here: name a plan" + (", or export the full list." if export else "."))
    else:
        parts = "、".join(f"{ctx.plans[p].short_name} {per_plan[p]} 项" for p in named)
        more = "等" if len(hidden) > len(named) else ""
        d.say(f"另有 {len(hidden)} 个方案也有此类任务：{parts}{more}。")
        d.say(f"……其余 {rest} 项未逐条列出，请指定方案再问" + ("，或导出完整清单。" if export else "。"))


def _unit_task_lists(q: Query, ev: Evidence, ctx: Context, d: Draft, pids: list[str]) -> None:
    en = d.lang == "en"
    compact = _counted_again(q)
    for pid in pids:
        groups = [g for g in ev.groups if g.plan_id == pid]
        for unit in dict.fromkeys(g.unit for g in groups):
            mine = [g for g in groups if g.unit == unit]
            named = [g for g in mine if g.key in ("lead", "responsible")]
            for g in named:
                d.counts.add(len(g.tasks))
            role_word = next((t.role_word for g in named for t in g.tasks), "责任单位")
            unit = printed_name(unit, [t for g in mine for t in g.tasks])
            parts = []
            for g in named:
                if not g.tasks:
                    parts.append(("leads no task" if g.role == "lead" else f"is {role_word} in no task") if en
                                 else ("没有牵头的任务" if g.role == "lead" else f"没有作为{role_word}参与的任务"))
                elif en:
                    parts.append(f"leads {_many(len(g.tasks), 'task')}" if g.role == "lead"
                                 else f"is a {role_word} ({'responsible unit' if role_word == '责任单位' else 'supporting unit'}) in {_many(len(g.tasks), 'task')}")
                else:
                    parts.append(f"牵头 {len(g.tasks)} 项任务" if g.role == "lead"
                                 else f"作为{role_word}参与 {len(g.tasks)} 项任务")
            plan = plan_label(ctx.plans[pid], d.lang)
            if len(parts) == 2 and not any(g.tasks for g in named) and not en:
                parts = [f"既{parts[0]}", f"也{parts[1]}"]  # neither role: one sentence that says so
            if q.subset:  # "其中哪些由X牵头？": within the previous answer
                d.say(f"Of those tasks in {plan}, {unit} " + " and ".join(parts) + "." if en
                      else f"其中，在{plan}中{unit}" + "，".join(parts) + "。")
            elif q.scope:  # "X的任务中跟Y有关的"
                d.say(f"In {plan}, of the tasks on “{_label(q.scope)}”, {unit} " + " and ".join(parts) + "." if en
                      else f"在{plan}中与“{_label(q.scope)}”有关的任务里，{unit}" + "，".join(parts) + "。")
            else:
                d.say(f"In {plan}, {unit} " + " and ".join(parts) + "." if en
                      else f"在{plan}中，{unit}" + "，".join(parts) + "。")
            for g in named:
                if g.tasks:
                    _task_block(ctx, d, _role_title(g, role_word, en), pid, g.tasks, compact)
            for g in (g for g in mine if g.key == "collective"):
                d.counts.add(len(g.tasks))
                _task_block(ctx, d,
                            f"In addition, {_many(len(g.tasks), 'task')} {'names' if len(g.tasks) == 1 else 'name'} "
                            f"“{g.via}” as {role_word}, which includes {unit}:"
                            if en else f"此外，以下 {len(g.tasks)} 项任务的{role_word}写为“{g.via}”，也涉及{unit}：",
                            pid, g.tasks, compact, via=g.via)


def _role_title(g: TaskGroup, role_word: str, en: bool) -> str:
    n = len(g.tasks)
    if en:
        return f"Leads ({n}):" if g.role == "lead" else f"As {role_word} ({n}):"
    return f"牵头的任务（{n} 项）：" if g.role == "lead" else f"作为{role_word}参与的任务（{n} 项）："


def _like_opening(ev: Evidence, tasks: list[Task], ctx: Context, d: Draft) -> bool:
    """"B县有类似措施吗？" answered: the first line names the task they are like (cited too)."""
    if ev.like is None or not tasks:
        return False
    m, n = ev.like, len(tasks)
    mark = d.cite_task(ctx, m)
    model = plan_label(ctx.plans[m.plan_id], d.lang)
    where = plan_label(ctx.plans[tasks[0].plan_id], d.lang)
    if n > 1:
        d.counts.add(n)
    if d.lang == "en":
        d.say(f"The task in {where} most like task {m.number} of {model} [{mark}]:" if n == 1
              else f"{n} tasks in {where} are like task {m.number} of {model} [{mark}]:")
    else:
        d.say(f"{where}中与{model}第{m.number}项 [{mark}] "
              + ("最相近的任务是：" if n == 1 else f"相近的任务有 {n} 项："))
    return True


def compose_task_units(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    en = d.lang == "en"
    tasks = ev.tasks()
    ranked = bool(ev.groups) and ev.groups[0].key == "ranked"
    firsts = [next(t for t in tasks if t.plan_id == pid) for pid in dict.fromkeys(t.plan_id for t in tasks)]
    _like_opening(ev, tasks, ctx, d)
    named: set[str] = set()
    for t in firsts if ranked else tasks:
        # the plan is named on its first task's line; its further tasks follow by number
        plan = "" if t.plan_id in named else plan_label(ctx.plans[t.plan_id], d.lang)
        if en and not plan:
            plan = "the same plan"
        named.add(t.plan_id)
        lead = t.lead_text or "（未列明）"
        resp = t.responsible_text
        if en and q.role == "responsible":
            d.say(f"The {t.role_word} of task {t.number} of {plan}: {resp} (lead: {lead})." if resp
                  else f"Task {t.number} of {plan} names no {t.role_word}; it is led by {lead}.")
        elif en:
            head = f"Task {t.number} of {plan} is led by {lead}"
            d.say(head + (f"; {t.role_word}: {resp}." if resp else f"; the plan names no {t.role_word}."))
        elif q.role == "responsible":
            d.say(f"{plan}第{t.number}项的{t.role_word}为{resp}（牵头单位：{lead}）。" if resp
                  else f"{plan}第{t.number}项未列明{t.role_word}，由{lead}牵头。")
        else:
            d.say(f"{plan}第{t.number}项由{lead}牵头" + (f"，{t.role_word}为{resp}。" if resp else f"，未列明{t.role_word}。"))
        if q.asks_deadline:  # "第12项什么时候完成？": the plan's own 完成时限, or that it sets none
            if en:
                d.say(f"Deadline: {t.deadline}." if t.deadline else "The plan sets no deadline for this task.")
            else:
                d.say(f"完成时限：{t.deadline}。" if t.deadline else "方案未写明这项任务的完成时限。")
    for n in ev.missing_numbers:
        d.say(f"No task {n} in the plans asked about." if en else f"所选方案中没有第{n}项任务。")
    _grouped_by_plan(tasks, _terms(ev), ctx, d, counts=False)


def _terms(ev: Evidence) -> str:
    """What an excerpt must reach: the question's words and the plans' terms for them."""
    return " ".join((ev.topic, *ev.terms))


def compose_applies(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    if ev.facts:  # a paragraph of a part that holds no task (组织实施's 任务清单管理)
        compose_plan_facts(q, ev, ctx, d)
        return
    tasks = ev.tasks()
    d.counts.add(len(tasks))
    if _like_opening(ev, tasks, ctx, d):
        pass
    elif d.lang == "en":
        d.say(f"{_many(len(tasks), 'measure')} in the plans {'matches' if len(tasks) == 1 else 'match'} your question; the lead unit is the one to contact:")
    else:
        first = tasks[0]
        d.say(f"方案中与您的问题相关的措施有 {len(tasks)} 项，最相关的是{plan_label(ctx.plans[first.plan_id])}"
              f"第{first.number}项（牵头单位：{first.lead_text}），可向牵头单位咨询办理：")
    _grouped_by_plan(ev.tasks(), _terms(ev), ctx, d, counts=False)


def compose_topic(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    if ev.facts:  # a paragraph of a part that holds no task
        compose_plan_facts(q, ev, ctx, d)
        return
    tasks = ev.tasks()
    d.counts.add(len(tasks))
    per_plan = {pid: [t for t in tasks if t.plan_id == pid] for pid in dict.fromkeys(t.plan_id for t in tasks)}
    for ts in per_plan.values():
        d.counts.add(len(ts))
    shown = _shown_plans({p: len(ts) for p, ts in per_plan.items()}, q.subset)
    # one plan holds them all: say which, and that the other plans asked have none
    only = next(iter(per_plan)) if len(per_plan) == 1 and len(ctx.plans) > 1 else None
    none_in = [p for p in q.plan_ids if p not in per_plan] if only else []
    if _like_opening(ev, tasks, ctx, d):
        pass
    elif not ev.topic:  # every task of the plan(s)
        _whole_plans(q, per_plan, ctx, d)
    elif d.lang == "en":
        where = f" in {plan_label(ctx.plans[only], 'en')}" if only else ""
        lacking = (" (none in " + ", ".join(plan_label(ctx.plans[p], "en") for p in none_in) + ")") if none_in else ""
        d.say(f"{_many(len(tasks), 'task')}{where} {'concerns' if len(tasks) == 1 else 'concern'} “{_label(ev.topic)}”{lacking}:")
    elif only:
        scope = "其中，" if q.subset else ""
        lacking = ("（" + "、".join(plan_label(ctx.plans[p]) for p in none_in) + "中没有）") if none_in else ""
        d.say(f"{scope}{plan_label(ctx.plans[only])}中与“{_label(ev.topic)}”有关的任务共 {len(tasks)} 项{lacking}：")
    elif len(shown) < len(per_plan):  # many plans: the counts of the rest come after the list
        scope = "其中" if q.subset else ""
        d.counts.add(len(per_plan))
        d.say(f"{scope}与“{_label(ev.topic)}”有关的任务共 {len(tasks)} 项，分布在 {len(per_plan)} 个方案中：")
    else:
        split = "，".join(f"{plan_label(ctx.plans[p])} {len(ts)} 项" for p, ts in per_plan.items())
        scope = "其中" if q.subset else ""
        d.say(f"{scope}与“{_label(ev.topic)}”有关的任务共 {len(tasks)} 项" + (f"（{split}）" if len(per_plan) > 1 else "") + "：")
    _grouped_by_plan([t for t in tasks if t.plan_id in shown], ev.topic, ctx, d, counts=True,
                     compact=_counted_again(q))
    hidden = [p for p in per_plan if p not in shown]
    if hidden:
        _more_plans(ctx, d, hidden, {p: len(ts) for p, ts in per_plan.items()}, export=False)


def _whole_plans(q: Query, per_plan: dict[str, list[Task]], ctx: Context, d: Draft) -> None:
    """The first line of a list of every task: how many each plan lists."""
    total = sum(len(ts) for ts in per_plan.values())
    if d.lang == "en":
        parts = "; ".join(f"{plan_label(ctx.plans[p], 'en')} lists {_many(len(ts), 'task')}" for p, ts in per_plan.items())
        d.say(f"{parts}:" if len(per_plan) == 1 else f"{len(per_plan)} plans list {_many(total, 'task')} ({parts}):")
    elif len(per_plan) == 1:
        p = next(iter(per_plan))
        d.say(f"{plan_label(ctx.plans[p])}共列出 {total} 项任务，全部如下：")
    else:
        d.counts.add(len(per_plan))
        split = "，".join(f"{plan_label(ctx.plans[p])} {len(ts)} 项" for p, ts in per_plan.items())
        d.say(f"{len(per_plan)} 个方案共列出 {total} 项任务（{split}），全部如下：")


def _grouped_by_plan(
    tasks: list[Task], terms: str, ctx: Context, d: Draft, counts: bool, compact: bool = False
) -> None:
    pids = list(dict.fromkeys(t.plan_id for t in tasks))
    for pid in pids:
        mine = [t for t in tasks if t.plan_id == pid]
        title = plan_label(ctx.plans[pid], d.lang) if len(pids) > 1 else ""
        if title and counts:
            title += f"（{len(mine)} 项）" if d.lang == "zh" else f" ({len(mine)})"
        if compact and title:
            title += "：" if d.lang == "zh" else ":"
        _task_block(ctx, d, title, pid, mine, compact, terms)


def _task_block(
    ctx: Context, d: Draft, title: str, pid: str, tasks: Sequence[Task], compact: bool, terms: str = "",
    via: str = "",
) -> None:
    """A titled list of tasks, each with its text and units; `compact`: their numbers on one
    line, each cited ("牵头的任务（3 项）：第1项 [1]、第7项 [2]…")."""
    if compact:
        if d.lang == "en":
            d.say((title + " " if title else "") + ", ".join(f"task {t.number} [{d.cite_task(ctx, t, via)}]" for t in tasks) + ".")
        else:
            d.say(title + "、".join(f"第{t.number}项 [{d.cite_task(ctx, t, via)}]" for t in tasks) + "。")
        return
    d.group(title, pid)
    for t in tasks:
        d.item(ctx, t, terms, via=via)


def _counted_again(q: Query) -> bool:
    """"一共几项？" after a list: the count, and the list's task numbers, not the list again
    ("那它在B县参与了哪些？" after "…牵头哪几项？" asks for a list: it names 哪些/哪几)."""
    return (q.wants_count and q.follow_up and bool(rx("count").search(q.text))
            and not re.search(r"哪些|哪几|\bwhich\b", q.text, re.I))


def _label(topic: str) -> str:
    """A topic as a reader writes it: its Chinese words joined ("绿色低碳", not "绿色 低碳")."""
    return re.sub(r"(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])", "", topic)


def _short(ctx: Context, pid: str, en: bool) -> str:
    """A plan's short name in a summary line (its English name in English)."""
    plan = ctx.plans[pid]
    return (plan.name_en or plan.short_name or plan.title) if en else (plan.short_name or plan.title)


def compose_compare(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    en = d.lang == "en"
    # no topic: the plans compared whole ("两个方案都有哪些相同的措施？")
    topic = _label(ev.topic) if ev.topic else ("all their tasks" if d.lang == "en" else "全部任务")
    # the first line answers: how many tasks each plan has on it, how many match, how many are its own
    only = {g.plan_id: len(g.tasks) for g in ev.groups if g.key == "only"}
    pairs = [pair for g in ev.groups if g.key == "both" for pair in g.pairs]
    matched = {p: len({t for pair in pairs for t in pair if t.plan_id == p}) for p in only}
    total = {p: only[p] + matched[p] for p in only}
    d.counts |= {*total.values(), *only.values(), *matched.values()}
    if len(only) > 2:
        _compare_many(ev, ctx, d, topic, total, pairs)
        return

    if en:
        parts = [", ".join(f"{_short(ctx, p, en)} {_many(n, 'task')}" for p, n in total.items())]
        if pairs:
            parts.append("matching each other: " + ", ".join(f"{_short(ctx, p, en)} {matched[p]}" for p in only if matched[p]))
        parts += [f"only in {_short(ctx, p, en)}: {only[p]}" if only[p] else f"none only in {_short(ctx, p, en)}"
                  for p in only if total[p]]  # a plan with none on it: its 0 says so
        d.say(f"On “{topic}”: " + "; ".join(parts) + ".")
    else:
        parts = ["，".join(f"{_short(ctx, p, en)} {n} 项" for p, n in total.items())]
        if pairs:
            parts.append("相互对应的：" + "、".join(f"{_short(ctx, p, en)} {matched[p]} 项" for p in only if matched[p]))
        parts += [f"仅{_short(ctx, p, en)}有 {only[p]} 项" if only[p] else f"{_short(ctx, p, en)}没有独有的任务"
                  for p in only if total[p]]
        d.say(f"关于“{topic}”：" + "；".join(parts) + "。")
    # compared whole, what both have comes first: the only-in-one lists are long
    groups = sorted(ev.groups, key=lambda g: g.key != "both") if not ev.topic else ev.groups
    for g in groups:
        plan = plan_label(ctx.plans[g.plan_id], d.lang)
        if g.key == "only":
            d.counts.add(len(g.tasks))
            if not g.tasks:
                if matched[g.plan_id]:  # each of its tasks has a counterpart below
                    d.say(f"Only in {plan}: none (each of its tasks on this has a counterpart below)." if en
                          else f"仅{plan}有的：无（它在这方面的任务在另一方案中都有对应，见下）。")
                else:
                    d.say(f"{plan} has no task on this." if en else f"{plan}没有这方面的任务。")
                continue
            d.group(f"Only in {plan} ({len(g.tasks)}):" if en else f"仅{plan}有（{len(g.tasks)} 项）：", g.plan_id)
            for t in g.tasks:
                d.item(ctx, t, topic)
        elif g.key == "both":
            d.counts.add(len(g.tasks))
            d.group(f"In both ({len(g.tasks)} of {plan}):" if en else f"两个方案都有的（{plan}的 {len(g.tasks)} 项）：", None)
            for a in g.tasks:
                d.item(ctx, a, topic, named=True)
                for b in (b for x, b in g.pairs if x is a):
                    d.related(ctx, b, topic)


def _compare_many(
    ev: Evidence, ctx: Context, d: Draft, topic: str, total: dict[str, int], pairs: list[tuple[Task, Task]]
) -> None:
    """A comparison over more than two plans: a one-line summary, each shown plan's tasks on the
    topic grouped by plan, the other plans counted (as lists do); a pairwise alignment of many
    plans does not read."""
    en = d.lang == "en"
    having = [p for p in total if total[p]]

    named = ("，" if not en else ", ").join(
        f"{_short(ctx, p, en)} {total[p]}" + ("" if en else " 项") for p in having[:LIST_PLANS])
    more = len(having) > LIST_PLANS
    d.counts |= {len(having), sum(total.values())}
    d.say(f"On “{topic}”: {len(having)} plans have tasks, {sum(total.values())} in all ({named}{', …' if more else ''})." if en
          else f"关于“{topic}”：{len(having)} 个方案有相关任务，共 {sum(total.values())} 项（{named}{'等' if more else ''}）。")
    shown = _shown_plans({p: total[p] for p in having}, False)
    for p in shown:
        mine = list(dict.fromkeys([t for t in ev.tasks() if t.plan_id == p]
                                  + [t for pair in pairs for t in pair if t.plan_id == p]))
        d.group(f"{plan_label(ctx.plans[p], d.lang)} ({len(mine)})" if en
                else f"{plan_label(ctx.plans[p])}（{len(mine)} 项）", p)
        for t in sorted(mine, key=lambda t: t.number):
            d.item(ctx, t, topic)
    hidden = [p for p in having if p not in shown]
    if hidden:
        _more_plans(ctx, d, hidden, total, export=False)


def compose_plan_facts(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    en = d.lang == "en"
    for f in ev.facts:
        if f.name == "task_count" and f.value.isdigit():
            d.counts.add(int(f.value))  # counted from the tables
        plan = ctx.plans[f.plan_id]
        name = plan_label(plan, d.lang)
        m = d.cite_chunk(ctx, f.plan_id, f.chunk.id, " / ".join(f.chunk.section_path), f.chunk.text,
                         f.chunk.task_number) if f.chunk else None
        ref = f" [{m}]" if m else ""
        if f.name == "structure":
            _outline(ctx, d, f, name)
            continue
        items = section_items(f.parts)
        if len(items) > 1:
            d.counts.add(len(items))  # counted from the section's own items
        d.say(_fact_line(f, name, ref, en, len(items)))
        for label, body, chunks in items:
            marks = "".join(
                f"[{d.cite_chunk(ctx, f.plan_id, c.id, ' / '.join(c.section_path), c.text)}]" for c in chunks
            )
            # a section is one long paragraph: the words asked about (聚焦的发展主题) may come late
            d.say(f"- {label}：{excerpt(body, q.topic, limit=110, reach=480)} {marks}")


def _outline(ctx: Context, d: Draft, f: Fact, name: str) -> None:
    """The parts a plan's tasks are grouped in, each with its task numbers."""
    en = d.lang == "en"
    parts = [o for o in f.outline if o[0] == 0]
    total = sum(len(nums) for _, _, nums, _ in parts)
    if not parts:
        d.say(f"{name} does not group its tasks under headings." if en else f"{name}的任务没有分部分列出。")
        return
    d.counts |= {len(parts), total}
    d.say(f"{name} groups its {total} tasks in {len(parts)} parts:" if en
          else f"{name}的 {total} 项任务分为 {len(parts)} 个部分：")
    for depth, heading, nums, chunks in f.outline:
        d.counts |= {nums[0], nums[-1]}
        span = (f"task {nums[0]}" if en else f"第{nums[0]}项") if len(nums) == 1 else (
            f"tasks {nums[0]}–{nums[-1]}" if en else f"第{nums[0]}–{nums[-1]}项")
        # the first and the last task of the part are cited: the range can be checked
        ref = "".join(f" [{d.cite_chunk(ctx, f.plan_id, c.id, ' / '.join(c.section_path), c.text, c.task_number)}]"
                      for c in chunks)
        d.say(f"{'   ' * depth}- {heading}：{span}{ref}" if not en
              else f"{'   ' * depth}- {heading}: {span}{ref}")


LEAD_RE = re.compile(r"([^，。；：:、,;\s“”]{2,14})。")


def section_items(parts: tuple[tuple[str, object], ...]) -> list[tuple[str, str, list]]:
    """The items of a plan section, each with the passages it is printed in. Principles and
    safeguards are often unnumbered paragraphs led by a short phrase ("强化制度创新。坚持……"),
    which the passages may split or join: such a section is itemised by its lead phrases;
    otherwise each passage is one item under its own heading."""
    text, spans = "", []
    for _, chunk in parts:
        spans.append((len(text), len(text) + len(chunk.text), chunk))  # type: ignore[attr-defined]
        text += chunk.text  # type: ignore[attr-defined]
    # a lead is a short sentence with no inner punctuation; the sentence after a lead is its
    # body, never a lead itself
    leads: list[tuple[int, int, str]] = []  # (start, end of the lead, the lead phrase)
    after_lead = False
    for m in re.finditer(r"[^。]+。?", text):
        lead = LEAD_RE.fullmatch(m.group()) if not after_lead else None
        if lead:
            leads.append((m.start(), m.end(), lead.group(1)))
        after_lead = bool(lead)
    if len(leads) >= 2 and leads[0][0] == 0:
        out = []
        for i, (start, body_start, label) in enumerate(leads):
            end = leads[i + 1][0] if i + 1 < len(leads) else len(text)
            chunks = [c for a, b, c in spans if a < end and b > start]
            out.append((label, text[body_start:end], chunks))
        return out
    items: list[tuple[str, str, list]] = []
    for heading, chunk in parts:
        label = re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）.、．]\s*", "", heading)
        # the passage may repeat its own numbered heading ("1. 坚持改革创新。……")
        body = re.sub(r"^\s*[（(]?[一二三四五六七八九十\d]*[)）.、．]?\s*" + re.escape(label) + r"[。.．]?\s*",
                      "", chunk.text)  # type: ignore[attr-defined]
        if items and items[-1][0] == label:  # one paragraph printed in two passages
            items[-1] = (label, items[-1][1] + body, [*items[-1][2], chunk])
        else:
            items.append((label, body, [chunk]))
    return items


def _fact_line(f: Fact, name: str, ref: str, en: bool, n: int | None = None) -> str:
    v = f.value
    if f.name == "doc_number":
        if en:
            return f"Document number of {name}: {v}{ref}." if v else f"{name} prints no document number{ref}."
        return f"{name}的文号为{v}{ref}。" if v else f"{name}的印发通知中未列明文号{ref}。"
    if f.name == "issued":
        v = str(v or "").strip()
        if not v:
            return f"{name} states no issue date{ref}." if en else f"{name}未写明印发日期{ref}。"
        day = _iso_date(v)
        if day is None:  # metadata that is not a date: say so, never guess one
            return (f"The metadata of {name} gives “{v}” as its issue date, which is not a valid date{ref}." if en
                    else f"{name}的元数据中印发日期为“{v}”，不是有效的年月日{ref}。")
        return f"{name} was issued on {day.isoformat()}{ref}." if en else f"{name}于{day.year}年{day.month}月{day.day}日印发{ref}。"
    if f.name == "issuer":
        return f"{name} was issued by {v}{ref}." if en else f"{name}由{v}印发{ref}。"
    if f.name == "title":
        return f"Full title: 《{v}》{ref}." if en else f"方案全称为《{v}》{ref}。"
    if f.name == "basis":
        if not v:
            return (f"{name} names no document it is based on{ref}." if en
                    else f"{name}未写明所依据的上级文件{ref}。")
        return f"{name} is based on {v}{ref}." if en else f"{name}是根据{v}制定的{ref}。"
    if f.name == "task_count":
        return f"{name} lists {v} pilot tasks{ref}." if en else f"{name}共列出 {v} 项试点任务{ref}。"
    if f.name == "period":
        if not v:
            return f"{name} states no pilot period." if en else f"{name}未写明试点期限。"
        return f"The pilot period of {name} is {v} years{ref}." if en else f"{name}的试点期限为{v}年（“经过{v}年试点”）{ref}。"
    n = len(f.parts) if n is None else n
    return (f"{name}, section “{v}” ({_many(n, 'part')}):" if en else f"{name}的“{v}”部分" + (f"共 {n} 条：" if n > 1 else "："))


def _iso_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def compose_not_covered(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    """Say the plans do not cover it (never echo the question: it may carry figures or
    claims that would then read as ours), and offer what is closest."""
    en = d.lang == "en"
    if ev.like is not None:
        m = ev.like
        mark = d.cite_task(ctx, m)
        d.say(f"{_names(ctx, q.plan_ids)} has no task like task {m.number} of {plan_label(ctx.plans[m.plan_id], 'en')} [{mark}]." if en
              else f"{_names(ctx, q.plan_ids)}中没有与{plan_label(ctx.plans[m.plan_id])}第{m.number}项 [{mark}] 相近的任务。")
    elif ev.missing_units:
        who = "、".join(ev.missing_units)
        d.say(f"The plans asked about assign no task to “{who}”." if en else f"所选方案中没有“{who}”承担的任务。")
    elif ev.missing_numbers:
        # both figures come from the complete task table
        d.counts |= set(ev.missing_numbers) | {n for _, n in ev.plan_sizes}
        nums = "、".join(str(n) for n in ev.missing_numbers)
        sizes = ("; " if en else "、").join(
            f"{plan_label(ctx.plans[p], 'en')} lists {_many(n, 'task')}" if en else f"{plan_label(ctx.plans[p])}共 {n} 项"
            for p, n in ev.plan_sizes)
        d.say(f"There is no task {nums}: {sizes}." if en
              else f"没有第{nums}项任务：{sizes}。")
    else:
        d.say(f"{_names(ctx, q.plan_ids)} {'does' if len(q.plan_ids) == 1 else 'do'} not cover this question." if en
              else f"所选方案（{_names(ctx, q.plan_ids)}）未涉及这一问题。")
    if ev.closest:
        d.group("The closest content in the plans:" if en else "与之最接近的方案内容是：")
        for t in ev.closest:
            d.item(ctx, t)


def compose_out_of_scope(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    if d.lang == "en":
        d.say(f"Sorry, I can only answer questions about the plans I hold ({_names(ctx, list(ctx.plans))}): "
              "what a measure says, which unit leads it and which units are responsible.")
    else:
        d.say(f"抱歉，我只能回答已收录方案（{_names(ctx, list(ctx.plans))}）中的内容，"
              "例如某项措施说了什么、由哪个单位牵头、哪些单位负责。")


def compose_smalltalk(q: Query, ev: Evidence, ctx: Context, d: Draft) -> None:
    en = d.lang == "en"
    if q.smalltalk == "thanks":
        d.say("You're welcome! Ask me anything else about the plans." if en else "不客气！还有关于方案的问题，欢迎继续提问。")
    elif q.smalltalk == "bye":
        d.say("Goodbye!" if en else "再见！欢迎随时再来咨询。")
    elif q.smalltalk == "every_plan":
        # "那另一个县呢？" after an answer that covered every plan loaded
        first = ctx.plans[q.plan_ids[0]]
        d.say(f"The last answer already covers every plan: {_names(ctx, list(q.plan_ids))}. To see one plan only, "
              f"name it (for example, “What about {first.name_en or first.short_name}?”)." if en else
              f"上一个回答已经包括了全部方案：{_names(ctx, list(q.plan_ids))}。如只想看其中一个方案，"
              f"请说明是哪一个，例如“{first.short_name}的呢？”。")
    else:
        hello = "Hello! " if q.smalltalk == "greeting" else ""
        d.say(f"{hello}I answer from {_names(ctx, list(ctx.plans))} only: which measures apply to you, "
              "who leads a task, and the complete list of tasks a unit leads or supports, each with its source."
              if en else
              f"{'您好！' if q.smalltalk == 'greeting' else ''}我根据已收录的方案（{_names(ctx, list(ctx.plans))}）作答："
              "哪些措施适用于您、某项任务由哪个单位牵头、某个单位牵头或参与的全部任务，每条都注明出处。")
