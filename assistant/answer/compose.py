"""Extractive composition: clear Chinese answers built only from the records.

Every statement either quotes a record or restates its fields (units, numbers),
and carries the marker of the citation it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..ingest.chunk import section_label
from ..records import Answer, Chunk, Citation, Plan, Status, Task
from ..retrieval.store import IndexStore, Role
from .understand import Query

ROLE_LABEL = {"lead": "牵头", "responsible": "参与（责任/配合）", "any": "牵头或参与"}


@dataclass
class Draft:
    """What composition hands to verification: citations plus derived facts."""

    citations: list[Citation] = field(default_factory=list)
    counts: set[int] = field(default_factory=set)  # counts computed from the tables
    lines: list[str] = field(default_factory=list)

    def cite_task(self, store: IndexStore, task: Task, via: str = "") -> int:
        for c in self.citations:
            if c.plan_id == task.plan_id and c.task_number == task.number:
                return c.marker
        chunk = store.task_chunk(task)
        plan = store.plans[task.plan_id]
        self.citations.append(
            Citation(
                marker=len(self.citations) + 1,
                plan_id=task.plan_id,
                plan_title=plan.title,
                task_number=task.number,
                section=section_label(task.section_path),
                quote=task.quote(),
                passage_id=chunk.id if chunk else "",
                lead=list(task.lead),
                responsible=list(task.responsible),
                role_word=task.role_word,
                via=via,
            )
        )
        return len(self.citations)

    def list_task(
        self,
        store: IndexStore,
        task: Task,
        width: int = 60,
        *,
        named_plan: bool = False,
        units: bool = False,
        via: str = "",
    ) -> None:
        """Add one cited list item: "- 第N项：<text> [m]", optionally with the plan's name
        before it and the units after it."""
        m = self.cite_task(store, task, via=via)
        plan = plan_name(store.plans[task.plan_id]) if named_plan else ""
        tail = f"（{units_line(task)}）" if units else ""
        self.lines.append(f"- {plan}第{task.number}项：{short(task.text, width)} [{m}]{tail}")

    def cite_chunk(self, store: IndexStore, chunk: Chunk) -> int:
        for c in self.citations:
            if c.passage_id == chunk.id:
                return c.marker
        self.citations.append(
            Citation(
                marker=len(self.citations) + 1,
                plan_id=chunk.plan_id,
                plan_title=store.plans[chunk.plan_id].title,
                task_number=None,
                section=section_label(chunk.section_path),
                quote=chunk.text,
                passage_id=chunk.id,
            )
        )
        return len(self.citations)

    def answer(
        self, status: Status, intent: str, plan_ids: list[str], suggestions: list[str]
    ) -> Answer:
        return Answer("\n".join(self.lines), status, intent, self.citations, suggestions, plan_ids)


def units_line(task: Task) -> str:
    lead = "、".join(task.lead) or "（未列明）"
    resp = "、".join(task.responsible) or "（未列明）"
    return f"牵头单位：{lead}；{task.role_word}：{resp}"


def short(text: str, n: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= n else text[:n].rstrip("，、；：") + "……"


def plan_name(plan: Plan) -> str:
    return f"《{plan.title}》"


def compose_unit_tasks(store: IndexStore, q: Query, d: Draft) -> Status:
    """Complete lists, one block per plan and role, each item cited."""
    found_any = False
    roles: list[Role] = ["lead", "responsible"] if q.role == "any" else [q.role]
    for pid in q.plan_ids:
        plan = store.plans[pid]
        units = [u for u in q.units if pid in store.registry.units[u].plans]
        if not units:
            continue
        for unit in units:
            for role in roles:
                tasks = store.tasks_for_unit(unit, pid, role)
                d.counts.add(len(tasks))
                label = "牵头" if role == "lead" else "作为责任/配合单位参与"
                if not tasks:
                    d.lines.append(f"{plan_name(plan)}中，{unit}没有{label}的任务。")
                    continue
                found_any = True
                d.lines.append(f"{plan_name(plan)}中，{unit}{label}的任务共 {len(tasks)} 项：")
                for t in tasks:
                    d.list_task(store, t)
            if "responsible" in roles:
                found_any |= _all_departments_note(store, pid, unit, d)
    if q.units and not any(
        pid in store.registry.units[u].plans for u in q.units for pid in q.plan_ids
    ):
        names = "、".join(q.unit_mentions or q.units)
        d.lines.append(f"所选方案中没有“{names}”承担的任务。")
        return "not_covered"
    return "answered" if found_any or d.lines else "not_covered"


ALL_DEPARTMENTS = "县级各部门"


def _all_departments_note(store: IndexStore, pid: str, unit: str, d: Draft) -> bool:
    """Tasks whose 责任单位 is 县级各部门 involve every county department: say so, apart
    from the named list, so a department's answer is complete without blurring it."""
    if not unit.startswith("县") or store.registry.units[unit].collective:
        return False
    tasks = [
        t
        for t in store.tasks_for_unit(ALL_DEPARTMENTS, pid, "responsible")
        if unit not in t.units()
    ]
    if not tasks:
        return False
    d.lines.append(f"此外，以下任务的责任单位写为“{ALL_DEPARTMENTS}”，也涉及{unit}：")
    for t in tasks:
        d.list_task(store, t, via=ALL_DEPARTMENTS)
    return True


def compose_task_units(store: IndexStore, q: Query, tasks: list[Task], d: Draft) -> Status:
    if not tasks:
        return "not_covered"
    for t in tasks:
        plan = store.plans[t.plan_id]
        m = d.cite_task(store, t)
        d.lines.append(f"{plan_name(plan)}第{t.number}项：{short(t.text, 80)} [{m}]")
        lead = "、".join(t.lead) or "（未列明）"
        resp = "、".join(t.responsible) or "（方案未列明）"
        if q.role == "responsible":
            d.lines.append(f"  {t.role_word}：{resp}（牵头单位：{lead}）")
        else:
            d.lines.append(f"  牵头单位：{lead}；{t.role_word}：{resp}")
    return "answered"


def compose_applies(store: IndexStore, q: Query, tasks: list[Task], d: Draft) -> Status:
    if not tasks:
        return "not_covered"
    d.lines.append("方案中与您的问题最相关的措施如下（可向牵头单位咨询办理）：")
    for i, t in enumerate(tasks, start=1):
        plan = store.plans[t.plan_id]
        m = d.cite_task(store, t)
        d.lines.append(f"{i}. {plan_name(plan)}第{t.number}项：{short(t.text, 90)} [{m}]")
        d.lines.append(f"   {units_line(t)}")
    return "answered"


def compose_compare(
    store: IndexStore, q: Query, per_plan: dict[str, list[Task]], d: Draft
) -> Status:
    if not any(per_plan.values()):
        return "not_covered"
    d.lines.append("两份方案的相关内容对照如下：")
    for pid, tasks in per_plan.items():
        plan = store.plans[pid]
        if not tasks:
            d.lines.append(f"【{plan.short_name or plan.title}】未找到相关任务。")
            continue
        d.lines.append(f"【{plan.short_name or plan.title}】{plan_name(plan)}")
        for t in tasks:
            d.list_task(store, t, 70)
            d.lines.append(f"  {units_line(t)}")
    return "answered"


def compose_not_covered(store: IndexStore, q: Query, closest: list[Task], d: Draft) -> None:
    # The question is not echoed: it may carry figures or claims ("按15%交") that would then
    # read as ours.
    names = "、".join(store.plans[p].short_name or store.plans[p].title for p in q.plan_ids)
    d.lines.append(f"本方案未涉及这一问题（已查阅：{names}）。")
    if closest:
        d.lines.append("与之最接近的方案内容是：")
        for t in closest:
            d.list_task(store, t, named_plan=True)
