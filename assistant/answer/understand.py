"""Understand one user turn: slots (plans, units, task numbers, role, fact, topic) and intent.

Pure functions over the plans and the unit registry of the index; no retrieval here.
Slots come from the index (plan names and regions, unit registry, section headings), never
from lists written for particular plans. The vocabulary below is the genre's own (牵头,
责任单位, 第N项, 目标, 保障措施 …) and general question words.

A self-contained question starts fresh. Only an elliptical turn — one that names nothing of
its own ("那另一个县呢？", "第三项呢？", "它的责任单位呢？") or points back ("其中哪些…") —
inherits the slots it leaves out from the previous turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from ..ingest.units import UnitRegistry
from ..records import Plan
from .language import Lang, Turn, normalise, pattern, smalltalk_kind

Intent = Literal[
    "unit_tasks",
    "task_units",
    "applies",
    "topic",
    "compare",
    "plan_facts",
    "smalltalk",
    "out_of_scope",
]
Role = Literal["lead", "responsible", "any"]

CN_DIGITS = dict(zip("零一二两三四五六七八九", (0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
NUM = r"[0-9]+|[一二两三四五六七八九十百零]+"
TASKNO_RE = re.compile(
    rf"第\s*({NUM})\s*[项条个号]|({NUM})\s*号任务|任务\s*([0-9]+)|\b(?:task|item|no\.?|number|measure)\s*#?\s*([0-9]+)",
    re.I,
)
LEAD_RE = re.compile(r"牵头|主导|主责|带头|负总责|\blead(s|ing)?\b|\bin charge\b", re.I)
RESP_RE = re.compile(
    r"责任单位|配合|协助|协同|参与|支持单位|协办|\bresponsible\b|\bsupport(s|ing)?\b|\bassist|\bcooperat|\bparticipat",
    re.I,
)
WHO_RE = re.compile(
    r"谁|哪个(部门|单位|局|委)|哪些(部门|单位)|找哪|什么(部门|单位)|联系|对接|\bwho\b|\bwhich (department|unit|agency|office|authorit)",
    re.I,
)
TASKWORD_RE = re.compile(
    r"任务|工作|事项|职责|承担|干什么|做什么|干啥|做啥|哪些事|啥事|涉及|分工|管什么|管哪些|\btasks?\b|\bduties\b|\bresponsib",
    re.I,
)
LIST_RE = re.compile(r"哪些|什么|多少|几项|几个|清单|列出|列一下|啥|哪几|\bwhat\b|\bwhich\b|\blist\b", re.I)
COUNT_RE = re.compile(r"多少|几项|几个|几条|总共|一共|共有|总数|\bhow many\b|\bnumber of\b", re.I)
COMPARE_RE = re.compile(
    r"比较|对比|比一比|区别|不同|差异|异同|相比|两个(县|区|市|方案)|两地|各自|一样吗|有何不同|\bcompare|\bdifferen|\bversus\b|\bvs\b",
    re.I,
)
TOPIC_FRAME_RE = re.compile(
    r"(方面|领域|相关|有关|关于|涉及|围绕).{0,8}(措施|任务|政策|内容|事项|举措|开放|工作)|所有|全部|\ball\b.{0,20}\b(measures|tasks)\b"
    r"|\b(measures|tasks|policies) (on|about|concerning|related to|regarding|for|in)\b"
    r"|\b(measures|tasks)\b.{0,12}\b(concern|relate|cover|involve|touch)",
    re.I,
)
ANAPHORA_RE = re.compile(r"^(那|那么)?(其中|这些|上述|以上|它|它们|该项|这项|此项|这条|那项)|(那|这|该)(条|项|个任务)|\b(it|its|them|those|these)\b", re.I)
SUBSET_RE = re.compile(r"^(那|那么)?(其中|这些|上述|以上|它们)|\b(of them|of those|among them)\b", re.I)
FACT_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("doc_number", re.compile(r"文号|发文字号|发文号|document number", re.I)),
    (
        "organisation",
        re.compile(r"保障措施|组织实施|组织领导|怎么保障|如何保障|组织保障|推进组|safeguard|implementation arrangement", re.I),
    ),
    (
        "task_count",
        re.compile(
            r"(多少|几)\s*(项|个|条)\s*(试点|改革){0,2}(任务|措施)|(任务|措施).{0,4}(多少|几)\s*(项|个|条)|任务(总)?数"
            r"|共有.{0,6}(项|个)任务|(一共|总共|共)(有|列)?(多少|几)(项|个|条)|how many (tasks|measures)",
            re.I,
        ),
    ),
    ("period", re.compile(r"(试点|方案|实施).{0,6}(期限|几年|多少年|多长时间|多久|时间多长)|试点期|期限|how long|duration", re.I)),
    (
        "issued",
        re.compile(
            r"(什么时候|何时|哪天|哪一天|哪一年|哪年|日期|时间).{0,6}(印发|发布|出台|下发|发的|印的|公布)"
            r"|(印发|发布|出台|下发|公布).{0,6}(什么时候|何时|哪天|日期|时间)|印发日期|发文日期|落款|\bwhen\b.{0,30}\b(issued|published|released)\b",
            re.I,
        ),
    ),
    (
        "issuer",
        re.compile(
            r"谁(发布|印发|制定|出台|发的)|(哪个|什么|哪家)(单位|部门|机关).{0,3}(发布|印发|制定|出台|发的|发)|发文机关|发文单位|who issued",
            re.I,
        ),
    ),
    ("title", re.compile(r"标题|全称|(方案|文件)(的)?名称|方案叫什么|full title", re.I)),
    ("goal", re.compile(r"目标|目的是|要达到|\bgoals?\b|\bobjectives?\b|\btargets?\b", re.I)),
    ("principles", re.compile(r"原则|\bprinciples?\b", re.I)),
    ("guidance", re.compile(r"指导思想|guiding (thought|ideology)", re.I)),
)
# Question frames around a topic ("跟…有关的", "…方面有哪些"): removed before the topic words
# are read; the remaining words go through the general stop list (data/lexicon.toml).
FRAME_RE = re.compile(
    r"(跟|和|与|同)(?=[^，。？?]{1,12}(有关|相关))|有关的?|相关的?|方面的?|领域的?|哪些|什么|多少|"
    r"牵头单位|责任单位|配合单位|牵头|负责|配合|参与|不同|区别|差异|异同|比较|对比|相比|一样|各自|分别",
)


# The genre's generic nouns for "what the plan does": never what a question is about.
GENERIC_NOUN_RE = re.compile(r"措施|任务|举措|政策|事项|内容|工作|方案")


@dataclass(frozen=True)
class Query:
    text: str  # the question itself (normalised, wrappers removed)
    intent: Intent
    plan_ids: tuple[str, ...]
    units: tuple[str, ...] = ()  # canonical names
    unit_mentions: tuple[str, ...] = ()  # as typed, re-resolved when the plan changes
    task_numbers: tuple[int, ...] = ()
    role: Role = "any"
    fact: str | None = None
    topic: str = ""  # the words left once slots and question frames are removed
    lang: Lang = "zh"
    follow_up: bool = False
    subset: bool = False  # "其中哪些…": filter the previous answer's tasks
    wants_count: bool = False
    smalltalk: str = ""
    plan_named: bool = False  # the question itself names a plan
    about: str = ""  # the words retrieval uses: this turn's, or the earlier turn a follow-up refers to
    focus: str = ""  # the topic with its words still in place, for matching against task text


def cn_number(s: str) -> int | None:
    """'31' / '三十一' / '二' → int."""
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in CN_DIGITS:
            cur = CN_DIGITS[ch]
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        elif ch == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur


def plan_names(plan: Plan) -> set[str]:
    return {plan.short_name, plan.region, plan.title, plan.name_en} - {""}


def plans_mentioned(text: str, plans: dict[str, Plan]) -> tuple[str, ...]:
    low = text.lower()
    return tuple(
        pid for pid, p in plans.items() if any(n.lower() in low for n in plan_names(p))
    )


def task_numbers_in(text: str) -> tuple[int, ...]:
    out = []
    for m in TASKNO_RE.finditer(text):
        n = cn_number(next(g for g in m.groups() if g))
        if n is not None:
            out.append(n)
    return tuple(dict.fromkeys(out))


def role_in(text: str) -> Role | None:
    lead, resp = bool(LEAD_RE.search(text)), bool(RESP_RE.search(text))
    if lead and not resp:
        return "lead"
    if resp and not lead:
        return "responsible"
    return None


def fact_in(text: str) -> str | None:
    return next((name for name, rx in FACT_PATTERNS if rx.search(text)), None)


def focus_text(text: str, mentions: tuple[str, ...], plans: dict[str, Plan]) -> str:
    """The question without plan names, units, task numbers and question frames, words still
    in place (so everyday phrases like 不让进 can still be mapped to the plans' terms)."""
    rest = text
    names = [*mentions, *(n for p in plans.values() for n in plan_names(p))]
    for s in sorted(names, key=len, reverse=True):
        rest = re.sub(re.escape(s), " ", rest, flags=re.I)
    rest = TASKNO_RE.sub(" ", rest)
    rest = FRAME_RE.sub(" ", rest)
    return GENERIC_NOUN_RE.sub(" ", rest).strip()


def topic_words(text: str, mentions: tuple[str, ...], plans: dict[str, Plan]) -> str:
    """What the question is about once plan names, units, task numbers and frames are gone."""
    rest = text
    names = [*mentions, *(n for p in plans.values() for n in plan_names(p))]
    for s in sorted(names, key=len, reverse=True):
        rest = re.sub(re.escape(s), " ", rest, flags=re.I)
    rest = TASKNO_RE.sub(" ", rest)
    rest = FRAME_RE.sub(" ", rest)
    from ..retrieval.topics import ALT_SPLIT_RE, content_words

    pieces = (" ".join(content_words(piece)) for piece in ALT_SPLIT_RE.split(rest))
    return "、".join(p for p in pieces if p)


def understand(
    raw: str,
    plans: dict[str, Plan],
    registry: UnitRegistry,
    pinned_plan: str | None = None,
    previous: Query | None = None,
) -> Query:
    turn = normalise(raw)
    return understand_turn(turn, plans, registry, pinned_plan, previous)


def understand_turn(
    turn: Turn,
    plans: dict[str, Plan],
    registry: UnitRegistry,
    pinned_plan: str | None = None,
    previous: Query | None = None,
) -> Query:
    text, lang = turn.text, turn.lang
    all_ids = (pinned_plan,) if pinned_plan else tuple(plans)
    small = smalltalk_kind(turn)
    if small:
        return Query(text, "smalltalk", all_ids, lang=lang, smalltalk=small)
    if pattern("out_of_scope", "injection").search(text):
        return Query(text, "out_of_scope", all_ids, lang=lang)
    mentioned = plans_mentioned(text, plans)
    plan_ids = mentioned or all_ids
    mentions = tuple(
        a for a, _ in registry.mentions(_unquoted(text, registry), plan_ids)
        if not re.search(re.escape(a) + r"(方面|领域|相关|有关|类)", text)  # "市场监管方面" is a topic
    )
    units = _resolve(mentions, registry, plan_ids)
    numbers = task_numbers_in(text)
    role = role_in(_without(text, mentions))
    topic = topic_words(text, mentions, plans)
    focus = focus_text(text, mentions, plans) if topic else ""
    wants_count = bool(COUNT_RE.search(text))
    base = Query(
        text, "applies", plan_ids, units, mentions, numbers, role or "any", None, topic, lang,
        wants_count=wants_count, plan_named=bool(mentioned), about=text, focus=focus,
    )
    if previous is not None and previous.intent not in ("out_of_scope", "smalltalk"):
        # nothing of its own but perhaps a number ("第三项呢？"): the rest comes from before
        elliptical = not units and not topic and not fact_in(text) and not (numbers and mentioned)
        if elliptical or ANAPHORA_RE.search(text):
            return _follow_up(base, previous, mentioned, role, registry, text)
    return replace(base, **_classify(base, plans, mentioned, role))


def _classify(
    q: Query, plans: dict[str, Plan], mentioned: tuple[str, ...], role: Role | None
) -> dict[str, object]:
    text = q.text
    rest = _without(text, q.unit_mentions)
    if q.task_numbers:
        return {"intent": "task_units"}
    fact = fact_in(_unquoted(text))
    # list words ask for a unit's tasks, unless the question asks for a figure (利率是多少)
    asks_tasks = bool(
        TASKWORD_RE.search(rest) or role
        or (LIST_RE.search(rest) and not pattern("figures", "ask").search(rest))
    )
    if q.units and asks_tasks and not WHO_RE.search(rest):
        if not (fact and not TASKWORD_RE.search(rest)):
            return {"intent": "unit_tasks"}
    if fact and not q.units:
        return {"intent": "plan_facts", "fact": fact}
    if len(plans) > 1 and (COMPARE_RE.search(text) or len(mentioned) >= 2) and not q.units:
        return {"intent": "compare", "plan_ids": mentioned if len(mentioned) >= 2 else q.plan_ids}
    if pattern("out_of_scope", "chores").search(text) and not (q.units or fact):
        return {"intent": "out_of_scope"}
    if TOPIC_FRAME_RE.search(text) and q.topic:
        return {"intent": "topic"}
    if WHO_RE.search(text) or role:
        return {"intent": "task_units"}
    return {"intent": "applies"}


def _follow_up(
    q: Query,
    previous: Query,
    mentioned: tuple[str, ...],
    role: Role | None,
    registry: UnitRegistry,
    text: str,
) -> Query:
    """An elliptical turn: keep what it says, take the rest from the previous turn."""
    plan_ids = mentioned or previous.plan_ids
    mentions = q.unit_mentions or previous.unit_mentions
    units = _resolve(mentions, registry, plan_ids) if mentions else ()
    intent: Intent = previous.intent
    numbers = q.task_numbers or (previous.task_numbers if not mentioned else ())
    if SUBSET_RE.search(text) and q.topic:
        # "其中哪些和消费有关？": the previous answer's tasks, filtered by the new topic
        return replace(q, intent="topic", plan_ids=previous.plan_ids, subset=True, follow_up=True)
    if q.task_numbers:
        intent = "task_units"
    elif intent == "compare" and len(mentioned) == 1:
        intent = "task_units" if (WHO_RE.search(text) or role) else "applies"
    elif intent in ("applies", "topic") and (WHO_RE.search(text) or role):
        intent = "task_units"
    return replace(
        previous,
        text=text,
        intent=intent,
        plan_ids=plan_ids,
        units=units,
        unit_mentions=mentions,
        task_numbers=numbers,
        role=role or previous.role,
        lang=q.lang,
        follow_up=True,
        subset=False,
        wants_count=q.wants_count or previous.wants_count,
        plan_named=bool(mentioned),
    )


QUOTED_RE = re.compile(r"“([^”]*)”|\"([^\"]*)\"|「([^」]*)」")


def _unquoted(text: str, registry: UnitRegistry | None = None) -> str:
    """Quoted text names a topic (“外商投资企业投诉工作机制”), unless it is exactly a unit's
    name (“县级各部门”)."""

    def keep(m: re.Match[str]) -> str:
        inner = next(g for g in m.groups() if g is not None)
        return inner if registry is not None and inner in registry.units else " "

    return QUOTED_RE.sub(keep, text)


def _without(text: str, mentions: tuple[str, ...]) -> str:
    for m in sorted(mentions, key=len, reverse=True):
        text = text.replace(m, " ")
    return text


def _resolve(
    mentions: tuple[str, ...], registry: UnitRegistry, plan_ids: tuple[str, ...]
) -> tuple[str, ...]:
    out: list[str] = []
    for m in mentions:
        out += [u.name for u in registry.resolve(m, plan_ids) if u.name not in out]
    return tuple(out)
