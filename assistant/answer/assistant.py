"""The assistant: understand → retrieve → compose → verify, over a conversation.

The conversation is a list of OpenAI-style messages held by the client; the
server stays stateless. Follow-ups are resolved by re-understanding the earlier
user turns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..records import Answer, Status, Task
from ..retrieval.retrieve import hybrid, is_covered, support, tasks_from_hits
from ..retrieval.store import IndexStore, StoreHolder
from ..settings import Settings
from . import compose as C
from .understand import Query, understand
from .verify import verify

GENERIC_WORDS = frozenset(
    "我们 你们 他们 可以 能不能 能否 是否 怎么 怎样 如何 什么 哪些 哪个 部门 单位 找谁 一下 请问 想要 想在 打算 准备 "
    "政策 方案 规定 支持 相关 有关 需要 问题 情况 办理 申请 这个 那个 现在 目前 没有 有没有 吗 呢 县里 本地 当地 "
    "负责 牵头 责任 配合 联系 咨询 我想 我是 一个 开个 开一家 一家 公司 企业 老板 具体 内容 措施 要求 允许 鼓励 "
    "哪里 这里 那里 可不可以 行不行 多少 时候 规定 最新 今年 明年 标准".split()
)
FALLBACK_NOTICE = "大模型服务不可用，以下为根据方案原文整理的回答。"
REPAIR_NOTICE = "大模型回答中有无法在方案原文中核实的内容，已删除。"


class InputError(ValueError):
    """Bad input from a user; str() is a Chinese message safe to show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Assistant:
    def __init__(self, settings: Settings, holder: StoreHolder | None = None):
        self.settings = settings
        self.holder = holder or StoreHolder(settings)
        self._llm: Any = None

    # ---- public API ----
    def answer(self, messages: list[dict[str, Any]], plan_id: str | None = None) -> Answer:
        store = self.holder.get()
        user_turns = self.validate(messages, plan_id, store)
        query = self._understand_turns(user_turns, store, plan_id)
        answer, counts = self._extractive(store, query)
        # the unit asked about is grounded in the tables even when it has no tasks to cite
        facts = self._plan_facts_text(store) if query.intent == "plan_facts" else ""
        grounded = facts + " " + " ".join(query.units)
        checked = verify(answer.answer, answer.citations, store.registry, counts, grounded)
        if checked.dropped:  # a composer bug: never let an unsupported line out
            answer.answer = checked.text
        if self.settings.llm_enabled and answer.status == "answered":
            answer = self._with_llm(store, query, messages, answer, counts)
        return answer

    def stream(
        self, messages: list[dict[str, Any]], plan_id: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events: meta, delta…, citations, done. Delta texts concatenate to the answer."""
        answer = self.answer(messages, plan_id)
        yield "meta", {"intent": answer.intent, "plan_ids": answer.plan_ids}
        for piece in re.findall(r"[^\n]*\n|[^\n]+$", answer.answer):
            yield "delta", {"text": piece}
        yield "citations", {"citations": [c.__dict__ for c in answer.citations]}
        yield "done", answer.to_dict()

    def suggestions_for(self, plan_id: str | None = None) -> list[str]:
        store = self.holder.get()
        plan = store.plans.get(plan_id or "") or next(iter(store.plans.values()))
        name = plan.short_name or plan.region
        tasks = store.plan_tasks(plan.id)
        first_lead = tasks[0].lead[0] if tasks and tasks[0].lead else "县商务委"
        return [
            f"{name}有哪些对外资开放的措施？",
            f"{first_lead}牵头哪些任务？",
            f"{name}方案第{min(3, len(tasks))}项由谁牵头？",
            f"{name}方案的试点期限是多久？",
        ]

    # ---- steps ----
    def validate(
        self, messages: list[dict[str, Any]], plan_id: str | None, store: IndexStore | None = None
    ) -> list[str]:
        """Check a conversation; returns the user turns or raises InputError (Chinese message).

        The one validation every entry point uses (CLI, HTTP, /v1)."""
        store = store or self.holder.get()
        s = self.settings
        if not isinstance(messages, list) or not messages:
            raise InputError("empty_messages", "消息列表为空，请输入问题。")
        if len(messages) > s.max_history_messages:
            raise InputError(
                "too_many_messages", f"对话过长（超过 {s.max_history_messages} 条），请开始新对话。"
            )
        turns = []
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ("user", "assistant", "system"):
                raise InputError(
                    "bad_role", "消息格式错误：role 必须是 user、assistant 或 system。"
                )
            if not isinstance(m.get("content"), str):
                raise InputError("bad_content", "消息格式错误：content 必须是文字。")
            if m["role"] != "assistant" and len(m["content"]) > s.max_message_chars:
                raise InputError(
                    "message_too_long", f"单条消息不能超过 {s.max_message_chars} 个字符。"
                )
            if m["role"] == "user":
                turns.append(m["content"])
        if messages[-1].get("role") != "user":
            raise InputError("last_not_user", "最后一条消息应当是用户的问题。")
        if not messages[-1]["content"].strip():
            raise InputError("empty_message", "问题不能为空。")
        if plan_id is not None and plan_id not in store.plans:
            raise InputError(
                "unknown_plan", f"没有编号为“{plan_id}”的方案（可选：{'、'.join(store.plans)}）。"
            )
        return turns

    def _understand_turns(self, turns: list[str], store: IndexStore, plan_id: str | None) -> Query:
        previous: Query | None = None
        for text in turns[-4:]:
            previous = understand(text, store.plans, store.registry, plan_id, previous)
        assert previous is not None
        return previous

    def _extractive(self, store: IndexStore, q: Query) -> tuple[Answer, set[int]]:
        d = C.Draft()
        status: Status = "answered"
        intent: str = q.intent
        if q.intent == "out_of_scope":
            status = "out_of_scope"
            d.lines.append(
                "抱歉，我只能回答与已收录的服务业扩大开放综合试点方案（"
                + "、".join(p.short_name or p.title for p in store.plans.values())
                + "）有关的问题，例如某项措施的内容、牵头单位和责任单位。"
            )
        elif q.intent == "unit_tasks" and q.units:
            status = C.compose_unit_tasks(store, q, d)
        elif q.intent == "plan_facts":
            status = self._plan_facts(store, q, d)
        elif q.intent == "task_units" and q.task_numbers:
            tasks = [t for pid in q.plan_ids for n in q.task_numbers if (t := store.task(pid, n))]
            status = C.compose_task_units(store, q, tasks, d)
            if not tasks:
                nums = "、".join(str(n) for n in q.task_numbers)
                d.lines.append(f"所选方案中没有第{nums}项任务。")
        elif q.intent == "compare":
            per_plan = {pid: self._search(store, q.topic or q.text, [pid], 3) for pid in q.plan_ids}
            if not any(
                is_covered(store, q.topic or q.text, ts, GENERIC_WORDS) for ts in per_plan.values()
            ):
                status = "not_covered"
                C.compose_not_covered(store, q, [t for ts in per_plan.values() for t in ts[:1]], d)
            else:
                status = C.compose_compare(store, q, per_plan, d)
        else:
            tasks = self._search(store, q.topic or q.text, list(q.plan_ids), 4)
            if not is_covered(store, q.topic or q.text, tasks, GENERIC_WORDS):
                status = "not_covered"
                C.compose_not_covered(store, q, tasks[:2], d)
            elif q.intent == "task_units":
                status = C.compose_task_units(store, q, tasks[:1], d)
                # alternates only when the match is uncertain: they say as much of the question
                topic = q.topic or q.text
                best = support(store, topic, tasks[0], GENERIC_WORDS)
                close = [t for t in tasks[1:3] if support(store, topic, t, GENERIC_WORDS) >= best]
                if close:
                    d.lines.append("其他可能相关的任务：")
                    for t in close:
                        d.list_task(store, t, units=True)
            else:
                intent = "applies"
                status = C.compose_applies(store, q, tasks, d)
        if status == "not_covered" and not d.lines:
            C.compose_not_covered(store, q, [], d)
        answer = d.answer(status, intent, list(q.plan_ids), self._suggest(store, q, d))
        return answer, d.counts

    @staticmethod
    def _plan_facts_text(store: IndexStore) -> str:
        return " ".join(
            f"{p.title} {p.issuer} {p.doc_number or ''} {p.issued or ''}"
            for p in store.plans.values()
        )

    def _search(self, store: IndexStore, text: str, plan_ids: list[str], limit: int) -> list[Task]:
        hits = hybrid(store, text, plan_ids, k=8)
        return tasks_from_hits(store, hits, text, limit)

    def _plan_facts(self, store: IndexStore, q: Query, d: C.Draft) -> Status:
        for pid in q.plan_ids:
            plan = store.plans[pid]
            header = next(
                (c for c in store.chunks.values() if c.plan_id == pid and c.kind == "header"), None
            )
            name = C.plan_name(plan)
            if q.fact in ("doc_number", "issued", "issuer", "title") and header:
                m = d.cite_chunk(store, header)
                if q.fact == "doc_number":
                    d.lines.append(
                        f"{name}的文号为{plan.doc_number} [{m}]。"
                        if plan.doc_number
                        else f"{name}的印发通知中未列明文号 [{m}]。"
                    )
                elif q.fact == "issued":
                    y, mo, da = (plan.issued or "--").split("-")
                    d.lines.append(
                        f"{name}由{plan.issuer}于{y}年{int(mo)}月{int(da)}日印发 [{m}]。"
                    )
                elif q.fact == "issuer":
                    d.lines.append(f"{name}由{plan.issuer}印发 [{m}]。")
                else:
                    d.lines.append(f"方案全称为{name} [{m}]。")
            elif q.fact == "task_count":
                tasks = store.plan_tasks(pid)
                d.counts.add(len(tasks))
                stated = next(
                    (
                        c
                        for c in store.chunks.values()
                        if c.plan_id == pid
                        and re.search(rf"{len(tasks)}\s*项", c.text)
                        and c.kind == "body"
                    ),
                    None,
                )
                ref = d.cite_chunk(store, stated) if stated else d.cite_task(store, tasks[-1])
                d.lines.append(f"{name}共列出 {len(tasks)} 项试点任务 [{ref}]。")
            elif q.fact == "period":
                chunk = next(
                    (
                        c
                        for c in store.chunks.values()
                        if c.plan_id == pid and re.search(r"经过\s*\S{1,3}\s*年", c.text)
                    ),
                    None,
                )
                if chunk:
                    m = d.cite_chunk(store, chunk)
                    period = re.search(r"经过\s*(\S{1,3})\s*年试点", chunk.text)
                    d.lines.append(
                        f"{name}：{C.short(chunk.text, 70)} [{m}]"
                        if not period
                        else f"{name}的试点期限为{period.group(1).strip()}年（“{C.short(chunk.text, 40)}”）[{m}]。"
                    )
            elif q.fact == "organisation":
                secs = [
                    s
                    for s in store.sections
                    if s.plan_id == pid and s.level == 2 and re.search(r"保障|组织|实施", s.path[0])
                ]
                if secs:
                    d.lines.append(f"{name}的“{secs[0].path[0]}”部分共 {len(secs)} 条：")
                    d.counts.add(len(secs))
                    for sec in secs:
                        chunk = next(
                            (
                                c
                                for c in store.chunks.values()
                                if c.plan_id == pid and c.section_path == sec.path
                            ),
                            None,
                        )
                        if chunk:
                            m = d.cite_chunk(store, chunk)
                            body = chunk.text.removeprefix(sec.path[-1]).lstrip("。")
                            d.lines.append(f"- {sec.path[-1]}：{C.short(body, 110)} [{m}]")
        return "answered" if d.lines else "not_covered"

    def _suggest(self, store: IndexStore, q: Query, d: C.Draft) -> list[str]:
        out: list[str] = []
        cited = [c for c in d.citations if c.task_number is not None]
        if q.intent == "unit_tasks" and q.units:
            other = "作为责任单位参与" if q.role == "lead" else "牵头"
            out.append(f"{q.unit_mentions[0] if q.unit_mentions else q.units[0]}{other}哪些任务？")
        if cited:
            c = cited[0]
            if c.lead:
                out.append(f"{c.lead[0]}还牵头哪些任务？")
            out.append(f"第{c.task_number + 1}项由谁牵头？" if c.task_number else "")
        if len(store.plans) > 1 and q.intent in ("applies", "task_units"):
            others = [p for p in store.plans.values() if p.id not in q.plan_ids]
            if others:
                out.append(f"{others[0].short_name}有类似措施吗？")
        if not out:
            out = self.suggestions_for(q.plan_ids[0] if len(q.plan_ids) == 1 else None)[:3]
        return [s for s in dict.fromkeys(out) if s][:3]

    # ---- optional LLM ----
    def _with_llm(
        self,
        store: IndexStore,
        q: Query,
        messages: list[dict[str, Any]],
        extractive: Answer,
        counts: set[int],
    ) -> Answer:
        from .llm import LLMComposer, LLMError

        history = [m for m in messages[:-1] if m.get("role") in ("user", "assistant")]
        try:
            if self._llm is None:
                self._llm = LLMComposer(self.settings)
            text = self._llm.compose(q.text, history, extractive.citations)
        except LLMError:
            extractive.notice = FALLBACK_NOTICE
            return extractive
        verdict = verify(text, extractive.citations, store.registry, counts)
        if not verdict.text or not re.search(r"\[\d+\]", verdict.text):
            extractive.notice = REPAIR_NOTICE
            return extractive
        used = {int(m) for m in re.findall(r"\[(\d+)\]", verdict.text)}
        return Answer(
            verdict.text,
            extractive.status,
            extractive.intent,
            [c for c in extractive.citations if c.marker in used] or extractive.citations,
            extractive.suggestions,
            extractive.plan_ids,
            "llm",
            REPAIR_NOTICE if verdict.dropped else "",
        )
