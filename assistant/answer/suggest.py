"""Follow-up suggestions: questions the assistant can answer correctly as the next turn.

Each names its plan when more than one plan is loaded (never an ambiguous "第7项"), and none
repeats the question just answered. Most are table lookups built from the plans' own tables (a
unit's tasks, task N's units, a plan's parts and facts), answerable by construction; the one
kind whose answer depends on retrieval ("B县有类似措施吗？") is marked for the caller to check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..records import Plan
from .evidence import Evidence
from .understand import Query, Role, rx


class Chip(NamedTuple):
    text: str
    retrieved: bool = False  # answered by a search, not a table lookup: check before offering


def suggest(
    q: Query, ev: Evidence, plans: dict[str, Plan], sizes: dict[str, int], asked: str,
    has_tasks: Callable[[str, str, Role], bool] = lambda unit, pid, role: True,
) -> list[Chip]:
    """`has_tasks(unit, plan_id, role)`: whether the plan gives the unit a task in that role (the
    chip for a unit's other role is offered in a plan where it has one)."""
    en = q.lang == "en"
    many = len(plans) > 1
    out: list[str] = []
    retrieved: set[str] = set()

    def where(pid: str) -> str:
        p = plans[pid]
        return (f"the {p.name_en or p.short_name} plan" if en else f"{p.short_name}方案") if many else (
            "the plan" if en else "方案")

    tasks = [] if q.intent in ("out_of_scope", "smalltalk") or ev.status == "out_of_scope" else (
        ev.tasks() if ev.status == "answered" else list(ev.closest))
    if ev.status == "not_covered" and ev.closest and q.plan_ids:
        # the plan does not cover it: first, what the plan does cover (its parts and their tasks)
        pid = q.plan_ids[0]
        out.append(f"What parts are the tasks of {where(pid)} divided into?" if en
                   else f"{where(pid)}的任务分为哪几个部分？")
    if q.intent == "unit_tasks" and q.units and ev.elsewhere:
        # no task in the plan asked about: the plan where it has some
        p = ev.elsewhere[0]
        out.append(f"Which tasks in {where(p)} does {q.units[0]} take part in?" if en
                   else f"{q.units[0]}在{where(p)}中负责哪些任务？")
    if q.intent == "unit_tasks" and q.units and q.role in ("lead", "responsible"):
        unit = q.units[0]
        other: Role = "responsible" if q.role == "lead" else "lead"
        home = next((p for p in q.plan_ids if has_tasks(unit, p, other)), None)
        if home is not None and other == "responsible":
            out.append(f"Which tasks in {where(home)} does {unit} support?" if en
                       else f"{unit}在{where(home)}中作为责任单位参与哪些任务？")
        elif home is not None:
            out.append(f"Which tasks in {where(home)} does {unit} lead?" if en
                       else f"{unit}在{where(home)}中牵头哪些任务？")
    if tasks:
        t = tasks[0]
        if q.intent in ("applies", "topic", "compare", "task_units") and t.lead:
            out.append(f"Which tasks in {where(t.plan_id)} does {t.lead[0]} lead?" if en
                       else f"{t.lead[0]}在{where(t.plan_id)}中牵头哪些任务？")
        nxt = t.number + 1
        if q.intent == "task_units" and nxt <= sizes.get(t.plan_id, 0):
            out.append(f"Who leads task {nxt} of {where(t.plan_id)}?" if en
                       else f"{where(t.plan_id)}第{nxt}项由谁牵头？")
    # never the plan the asker came from: not after a "…有类似措施吗？" itself, nor the plan whose
    # task this answer was compared with
    if many and q.intent in ("applies", "task_units") and tasks and not q.task_numbers and not q.similar:
        asked_before = {ev.like.plan_id} if ev.like is not None else set()
        others = [p for p in plans.values() if p.id not in {t.plan_id for t in tasks} | asked_before]
        if others:
            o = others[0]
            out.append(f"Does the {o.name_en or o.short_name} plan have similar measures?" if en
                       else f"{o.short_name}有类似措施吗？")
            retrieved.add(out[-1])
    if q.smalltalk == "every_plan" and many and not q.follow_up and not q.plan_named and not rx("all_plans").search(q.about):
        # "那另一个县呢？" when every plan was shown: the question before it, in one plan each
        # (not when it named the plans: "两个县…" in one plan contradicts itself)
        before = q.about.rstrip(" ?？")
        out += [f"In {where(pid)}: {before}?" if en else f"{where(pid)}：{before}？" for pid in q.plan_ids]
    elif q.intent in ("smalltalk", "out_of_scope", "plan_facts") or ev.status == "out_of_scope" or not out:
        for pid in q.plan_ids[:2]:
            if q.fact != "task_count":
                out.append(f"How many tasks does {where(pid)} list?" if en else f"{where(pid)}一共有多少项任务？")
            if q.fact != "goal":
                out.append(f"What are the goals of {where(pid)}?" if en else f"{where(pid)}的目标是什么？")
    asked_n = asked.strip(" ？?")
    return [Chip(s, s in retrieved) for s in dict.fromkeys(out) if s.strip(" ？?") != asked_n][:3]

