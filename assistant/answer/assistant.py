"""The assistant: understand → gather → compose → verify → render, over a conversation.

The conversation is a list of OpenAI-style messages held by the client; the server stays
stateless. A self-contained turn is answered on its own; an elliptical one ("那另一个县呢？",
"其中哪些…") is resolved against the previous user turns, re-understood (and, where it
points back at the previous answer's tasks, re-gathered) here, never taken from assistant text.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import asdict, replace
from typing import Any

from ..records import Answer
from ..retrieval.retrieve import synonyms_version
from ..retrieval.store import IndexStore, StoreHolder
from ..settings import Settings
from . import compose as C
from .evidence import (
    Evidence,
    gather_listed,
    gather_topic,
    gather_unit_tasks,
    like_shown,
    matcher,
    nothing_like,
)
from .intents import INTENTS
from .suggest import Chip, suggest
from .understand import Query, rx, understand, with_answer_units
from .verify import MARKER_RE, LLMCheck, verify, verify_llm

log = logging.getLogger(__name__)
FALLBACK_NOTICE = "大模型服务不可用，以下为根据方案原文整理的回答。"
REPAIR_NOTICE = "大模型回答中有无法在方案原文中核实的内容，已删除。"
INTERRUPTED_NOTICE = "大模型回答中断，已核实的部分保留，后面附上根据方案原文整理的回答。"
UNRELIABLE_NOTICE = "大模型回答中多数内容无法在方案原文中核实，已删除，后面附上根据方案原文整理的回答。"
EMPTY_ANSWER = "抱歉，没能从方案中整理出这个问题的回答，请换个问法，或指明方案和任务编号。"
EMPTY_ANSWER_EN = "Sorry, I could not put together an answer from the plans; please rephrase, or name the plan and task number."


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True




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
        self._llm_lock = threading.Lock()  # one composer (and so one set of LLM slots)
        # working out an answer is CPU-bound (most of it the question's embedding): with more
        # answers at once than CPUs, each takes as long as all of them together (under 8
        # concurrent requests on 2 CPUs, p95 ~180 ms with every request at once, ~150 ms with
        # 2 slots: docs/benchmarks.md). The LLM's writing is not held in a slot.
        self._slots = threading.BoundedSemaphore(settings.answer_slots or os.cpu_count() or 1)

    # ---- public API ----
    def answer(self, messages: list[dict[str, Any]], plan_id: str | None = None) -> Answer:
        """The whole answer: the same run as stream(), its last event."""
        final: Answer | None = None
        for name, data in self._run(messages, plan_id):
            if name == "done":
                final = data
        assert final is not None
        return final

    def stream(
        self, messages: list[dict[str, Any]], plan_id: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Events: meta, delta…, citations, done. Delta texts concatenate to the answer.

        Input is validated before the first event (meta), so a caller can pull that one
        to turn bad input into an error before it starts a response. In LLM mode each
        sentence is sent once it is verified, while the model is still writing."""
        for name, data in self._run(messages, plan_id):
            if name == "citations":
                yield name, {"citations": [asdict(c) for c in data]}
            elif name == "done":
                yield name, data.to_dict()
            else:
                yield name, data

    def _run(self, messages: list[dict[str, Any]], plan_id: str | None) -> Iterator[tuple[str, Any]]:
        started = time.monotonic()
        store = self.holder.get()
        user_turns = self.validate(messages, plan_id, store)
        with self._slots:
            query, previous = self._understand_turns(user_turns, store, plan_id)
            evidence = self.gather(store, query, previous)
            answer, counts = self.compose(store, query, evidence, user_turns[-1])
        if not answer.answer.strip():  # never an empty bubble: say what could not be answered
            log.error("composer produced an empty answer for intent %s", query.intent)
            answer.answer = EMPTY_ANSWER_EN if query.lang == "en" else EMPTY_ANSWER
            answer.summary = answer.summary or answer.answer
        # the extractive text is checked, never edited: a failing line is a composer bug
        grounded = self._plan_facts_text(store) if query.intent == "plan_facts" else ""
        checked = verify(answer.answer, answer.citations, store.registry, counts, grounded + " " + " ".join(query.units))
        answer.checks = {"ok": checked.ok, "problems": checked.reasons}
        if not checked.ok:
            log.error("composer produced unverifiable lines: %s", checked.reasons)
        if (answer.intent == "unit_tasks" and answer.status == "answered" and len(query.units) == 1
                and not query.subset and not query.scope and answer.citations):  # an empty list has nothing to export
            plan = answer.plan_ids[0] if len(answer.plan_ids) == 1 else None
            answer.export = {"unit": query.units[0], "plan": plan, "role": query.role}
        yield "meta", {"intent": answer.intent, "plan_ids": answer.plan_ids}
        if self.settings.llm_enabled and answer.status == "answered" and answer.citations:
            allowed = grounded + " " + " ".join(query.units)
            deadline = started + self.settings.llm_deadline_s
            answer = yield from self._stream_llm(store, query, messages, answer, counts, allowed, deadline)
        else:
            yield from _deltas(answer.answer)
        yield "citations", answer.citations
        yield "done", answer

    def suggestions_for(self, plan_id: str | None = None) -> list[str]:
        """Starting chips: each one a question the assistant answers from the plan."""
        store = self.holder.get()
        plan = store.plans.get(plan_id or "") or next(iter(store.plans.values()))
        many = len(store.plans) > 1 and not plan_id
        where = f"{plan.short_name}方案" if many else "方案"
        tasks = store.plan_tasks(plan.id)
        out = []
        if tasks and tasks[0].lead:
            out.append(f"{tasks[0].lead[0]}在{where}中牵头哪些任务？")
        if len(tasks) >= 3:
            out.append(f"{where}第3项由谁牵头？")
        out.append(f"{where}一共有多少项任务？")
        out.append(f"{where}的目标是什么？")
        return out

    # ---- the pipeline ----
    def gather(self, store: IndexStore, q: Query, previous: tuple[Query, Evidence] | None = None) -> Evidence:
        if q.subset and previous is not None:
            if q.intent == "unit_tasks":
                return gather_unit_tasks(store, q, within=previous[1].tasks())
            if q.intent == "task_units":
                return gather_listed(previous[1].tasks(), q.ordinal)
            return gather_topic(store, q, within=previous[1].tasks())
        # pure over the generation (and the synonyms file): a repeated question, or a suggestion
        # checked by _answerable and then asked, is gathered once
        key = (q, synonyms_version(store))
        ev = store.memo("evidence", key, lambda: INTENTS[q.intent].gather(store, q))
        if q.similar and previous is not None:
            return like_shown(store, q, ev, previous[1])
        return ev

    def compose(
        self, store: IndexStore, q: Query, ev: Evidence, asked: str
    ) -> tuple[Answer, set[int]]:
        ctx = C.Context(store.plans, store.task_passage_ids())
        d = C.Draft(lang=q.lang)
        status = ev.status
        intent = q.intent
        asks = rx("asks").search(q.text)
        if (status in ("out_of_scope", "not_covered") and q.politeness in ("thanks", "greeting")
                and q.intent != "out_of_scope" and not asks):
            # "谢谢，帮了大忙了！", "Thank you! Have a nice day.": thanks or a greeting, no
            # question, and nothing the plans answer: small talk
            q = replace(q, intent="smalltalk", smalltalk=q.politeness)
            status, intent = "answered", "smalltalk"
            C.compose_smalltalk(q, ev, ctx, d)
        elif status == "out_of_scope" or q.intent == "out_of_scope":
            status, intent = "out_of_scope", "out_of_scope"
            C.compose_out_of_scope(q, ev, ctx, d)
        elif status == "not_covered":
            C.compose_not_covered(q, ev, ctx, d)
        else:
            INTENTS[q.intent].compose(q, ev, ctx, d)
        sizes = store.plan_sizes()
        offered = suggest(q, ev, store.plans, sizes, asked,
                          lambda unit, pid, role: bool(store.tasks_for_unit(unit, pid, role)))
        answer = d.answer(status, intent, list(q.plan_ids), self._answerable(store, q, ev, offered))
        return answer, d.counts

    def _answerable(self, store: IndexStore, q: Query, ev: Evidence, offered: list[Chip]) -> list[str]:
        """Keep a suggestion that depends on retrieval ("…有类似措施吗？") only when asking it
        next would be answered (in the light of this answer, as it would be asked after it);
        table lookups and plan facts are answerable by construction (the eval's suggestion
        suite asks every one offered), so they are not understood again here."""
        out = []
        for s, retrieved in offered:
            if retrieved:
                nxt = understand(s, store.plans, store.registry, None, q)
                if nxt.intent in ("applies", "topic", "compare") or (
                        nxt.intent == "task_units" and not nxt.task_numbers):
                    if nxt.similar and nothing_like(store, nxt, ev):
                        continue  # sure to find nothing like it: no search needed to know
                    if self.gather(store, nxt, (q, ev) if nxt.similar else None).status != "answered":
                        continue
            out.append(s)
        return out

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
            if not _encodable(m["content"]):
                raise InputError(
                    "invalid_unicode", "消息中含有无效的 Unicode 字符（孤立的代理项），请检查输入。"
                )
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
            shown = plan_id if _encodable(plan_id) else plan_id.encode("utf-8", "replace").decode()
            raise InputError(
                "unknown_plan", f"没有编号为“{shown}”的方案（可选：{'、'.join(store.plans)}）。"
            )
        return turns

    def _understand_turns(
        self, turns: list[str], store: IndexStore, plan_id: str | None
    ) -> tuple[Query, tuple[Query, Evidence] | None]:
        """The last turn, understood in the light of the ones before it; and, when it points
        back at the previous answer ("其中…"), that answer's query and evidence."""
        previous: Query | None = None
        chain: list[Query] = []
        fix = matcher(store).sound_corrected  # 直拨带货 → 直播带货: a plan term mistyped by sound
        for text in turns[-4:]:
            q = understand(fix(text), store.plans, store.registry, plan_id, previous)
            if q.their_units and not q.units and chain:
                # "这个单位…": the units of the task the answer before it gave, so that later
                # turns ("一共多少项？") inherit them too
                ev = self._evidence_at(store, chain, len(chain) - 1)
                if ev.status == "answered" and ev.tasks():
                    q = with_answer_units(q, ev.tasks()[0], store.registry)
            chain.append(q)
            if q.smalltalk != "every_plan":
                # "那另一个县呢？" when every plan was shown asks nothing new: the turn after it
                # follows on from the question before it ("那B县的呢？")
                previous = q
        query = chain[-1]
        before = None
        if (query.subset or query.similar) and len(chain) > 1:
            j = len(chain) - 2
            while query.ordinal and j > 0 and chain[j].ordinal:
                j -= 1  # "the first one" then "and the last one?": both of the same list
            before = (chain[j], self._evidence_at(store, chain, j))
        return query, before

    def _evidence_at(self, store: IndexStore, chain: list[Query], j: int) -> Evidence:
        """What turn j's answer held; a turn that filtered the one before it ("其中…") is
        re-gathered over that one's evidence."""
        if chain[j].subset and j > 0:
            return self.gather(store, chain[j], (chain[j - 1], self._evidence_at(store, chain, j - 1)))
        return self.gather(store, chain[j])

    @staticmethod
    def _plan_facts_text(store: IndexStore) -> str:
        return " ".join(
            f"{p.title} {p.issuer} {p.doc_number or ''} {p.issued or ''}"
            for p in store.plans.values()
        )

    # ---- optional LLM ----
    def _stream_llm(
        self,
        store: IndexStore,
        q: Query,
        messages: list[dict[str, Any]],
        extractive: Answer,
        counts: set[int],
        grounded: str = "",
        deadline: float | None = None,
    ) -> Generator[tuple[str, Any], None, Answer]:
        """Delta events of an LLM answer, one verified sentence at a time; returns the Answer.

        Each sentence is checked against the sources it cites (verify_llm: units in their
        roles, numbers, support, links, the prompt's text) and dropped when it fails (the user
        is told). Nothing is sent until a verified sentence cites a source, so when the model
        fails, is late or busy, or says nothing citable, the extractive answer is streamed
        instead; if it fails after sentences were sent, or more of what it wrote is dropped
        than kept, the sentences sent stay and the extractive answer follows them. Only the
        user's earlier turns go to the model (quoted); the client's assistant turns never do."""
        from .llm import LLMComposer, LLMError

        history = [m for m in messages[:-1] if m.get("role") == "user"]
        sent: list[str] = []
        held: list[str] = []  # verified sentences waiting for the first cited one
        dropped: list[str] = []
        try:
            with self._llm_lock:
                if self._llm is None:
                    self._llm = LLMComposer(self.settings)
            check = LLMCheck(
                extractive.citations, store.registry, counts, grounded, self._llm.prompt_texts
            )
            pieces = self._llm.pieces(q.text, history, extractive.citations, deadline)
            for sentence in sentences(pieces):
                verdict = verify_llm(sentence, check)
                if verdict.dropped:
                    log.warning("LLM sentence dropped: %s", verdict.reasons)
                    dropped.append(sentence)
                    continue
                held.append(sentence)
                if sentence.strip() and (sent or MARKER_RE.search(sentence)):
                    text = "".join(held)
                    held = []
                    text = text if sent else text.lstrip()
                    sent.append(text)
                    yield "delta", {"text": text}
        except LLMError as exc:
            log.warning("LLM answer not used: %s", exc)
            if not sent:
                extractive.notice = FALLBACK_NOTICE
                yield from _deltas(extractive.answer)
                return extractive
            return (yield from self._llm_then_extractive(sent, extractive, INTERRUPTED_NOTICE))
        if not sent:
            extractive.notice = REPAIR_NOTICE
            yield from _deltas(extractive.answer)
            return extractive
        if len(dropped) > len(sent):  # too little of it holds: the extractive answer follows
            return (yield from self._llm_then_extractive(sent, extractive, UNRELIABLE_NOTICE))
        text = "".join(sent)
        used = {int(m) for m in MARKER_RE.findall(text)}
        answer = replace(
            extractive,
            answer=text,
            citations=[c for c in extractive.citations if c.marker in used] or extractive.citations,
            mode="llm",
            notice=REPAIR_NOTICE if dropped else "",
            summary="",
            groups=[],
            blocks=[],
        )
        answer.checks = {"ok": True, "problems": [], "dropped": len(dropped)}
        return answer

    @staticmethod
    def _llm_then_extractive(
        sent: list[str], extractive: Answer, notice: str
    ) -> Generator[tuple[str, Any], None, Answer]:
        tail = "\n\n" + extractive.answer
        yield "delta", {"text": tail}
        return replace(
            extractive, answer="".join(sent) + tail, mode="llm", notice=notice,
            summary="", groups=[], blocks=[],
        )


_SENTENCE_END = re.compile(r"[。！？!?\n]|(?<!\d)\.(?=\s)")
_TRAILING_MARKERS = re.compile(r"(?:[ \t]*\[\d+\])*")
_MAYBE_MARKER = re.compile(r"[ \t]*(?:\[\d*)?")


def _deltas(text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """An answer that exists whole, sent line by line."""
    for piece in re.findall(r"[^\n]*\n|[^\n]+$", text):
        yield "delta", {"text": piece}


def sentences(pieces: Iterable[str]) -> Iterator[str]:
    """Regroup streamed text into sentences, as soon as each is complete. A sentence ends
    at 。！？!? (or ". "), a line break, or the end; citation markers written after the
    full stop ("…牵头。[1]") stay with it. Concatenating the output gives the input back."""
    buf = ""
    for piece in pieces:
        buf += piece
        while (cut := _sentence_cut(buf)) is not None:
            yield buf[:cut]
            buf = buf[cut:]
    if buf:
        yield buf


def _sentence_cut(buf: str) -> int | None:
    m = _SENTENCE_END.search(buf)
    if m is None:
        return None
    end = m.end()
    if m.group() == "\n" or MARKER_RE.search(buf, 0, m.start()):
        return end  # a cited sentence is complete at its full stop
    end = _TRAILING_MARKERS.match(buf, end).end()  # type: ignore[union-attr]
    rest = buf[end:]
    if _MAYBE_MARKER.fullmatch(rest):
        return None  # a marker may still follow the full stop
    return end
