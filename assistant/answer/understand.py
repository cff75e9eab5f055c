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
from functools import lru_cache
from typing import Any, Literal

from ..ingest.textnorm import cn_number
from ..ingest.units import UnitRegistry
from ..records import Plan, Task
from .language import Lang, Turn, lexicon, normalise, pattern, smalltalk_kind, wrapper_kind

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

NUM = r"[0-9]+|[一二两三四五六七八九十百零]+"
# 第N向: 项 mistyped as its homophone, read as a task number only where a number is asked about
TASKNO_RE = re.compile(
    rf"第\s*({NUM})\s*[项条个号]|第\s*({NUM})\s*向(?=[的是由谁呢？?，,]|牵头|责任|配合)|(?<![共有计达了几多第0-9])([0-9]{{1,3}})\s*[条项](?!任务|措施|试点|改革|工作|内容)|({NUM})\s*号任务|任务\s*([0-9]+)|\b(?:task|item|no\.?|number|measure)\s*#?\s*([0-9]+)",
    re.I,
)


def rx(key: str) -> re.Pattern[str]:
    """A pattern of the question grammar (answer/data/lexicon.toml [understand])."""
    return _compiled(key)


@lru_cache(maxsize=64)
def _compiled(key: str) -> re.Pattern[str]:
    return re.compile(lexicon()["understand"][key], re.I)


@lru_cache(maxsize=1)
def fact_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((name, re.compile(p, re.I)) for name, p in lexicon()["understand"]["facts"])


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
    asks_deadline: bool = False  # "什么时候完成？": the task's 完成时限
    wants_count: bool = False
    smalltalk: str = ""
    politeness: str = ""  # thanks / greeting around the question (answered as such if nothing else is)
    plan_named: bool = False  # the question itself names a plan
    about: str = ""  # the words retrieval uses: this turn's, or the earlier turn a follow-up refers to
    focus: str = ""  # the topic with its words still in place, for matching against task text
    like: tuple[str, int] | None = None  # "第9项…？那另一个县呢？": the task whose counterpart is asked
    similar: bool = False  # "B县有类似措施吗？": what another plan has like the tasks just shown
    ordinal: int = 0  # "the second one": that item of the previous answer's list (-1: the last)
    their_units: str = ""  # "这个单位…": the lead/responsible units of the previous answer's task
    scope: str = ""  # "X的任务中跟Y有关的": the topic Y a unit's list is narrowed to
    asker: tuple[str, ...] = ()  # the department the asker said they work in, as typed ("我是X的")


def plan_names(plan: Plan) -> set[str]:
    """How a question can name a plan: region, short name (with its level: 某某县), title,
    English name. (Kept per plan: every question looks at every plan's names.)"""
    return _plan_names(plan)


@lru_cache(maxsize=16384)
def _plan_names(plan: Plan) -> set[str]:
    short_level = f"{plan.short_name}{plan.level}" if plan.short_name and plan.level else ""
    return {plan.short_name, short_level, plan.region, plan.title, plan.name_en} - {""}


def plans_mentioned(text: str, plans: dict[str, Plan]) -> tuple[str, ...]:
    low = text.lower()
    return tuple(
        pid for pid, p in plans.items() if any(n.lower() in low for n in plan_names(p))
    )


# "第12、13项", "第5和第6条", "tasks 12 and 13": several numbers under one 第…项
TASKLIST_RE = re.compile(
    rf"第\s*((?:{NUM})(?:\s*[、,，和及与跟]\s*第?\s*(?:{NUM}))+)\s*[项条个号]"
    rf"|\btasks\s+((?:[0-9]+)(?:\s*(?:,|and|&)\s*[0-9]+)+)",
    re.I,
)


def task_numbers_in(text: str) -> tuple[int, ...]:
    out = []
    for m in TASKLIST_RE.finditer(text):
        for part in re.findall(NUM, next(g for g in m.groups() if g)):
            if (n := cn_number(part)) is not None:
                out.append(n)
    text = TASKLIST_RE.sub(" ", text)
    for m in TASKNO_RE.finditer(text):
        n = cn_number(next(g for g in m.groups() if g))
        if n is not None:
            out.append(n)
    return tuple(dict.fromkeys(out))


def role_in(text: str) -> Role | None:
    text = rx("not_role").sub(" ", text)  # "（不是牵头）": the role it is not
    lead, resp = bool(rx("lead").search(text)), bool(rx("responsible").search(text))
    if lead and not resp:
        return "lead"
    if resp and not lead:
        return "responsible"
    return None


def fact_in(text: str) -> str | None:
    return next(iter(facts_in(text)), None)


def facts_in(text: str) -> list[str]:
    """Every plan fact a question asks about, in the lexicon's order."""
    return [name for name, pat in fact_patterns() if pat.search(text)]


@lru_cache(maxsize=16384)  # one pattern per plan name: hundreds of plans overflow re's own cache
def _name_re(name: str, plan: bool) -> re.Pattern[str]:
    # "…方案里文旅方面": the place words after a plan's name go with it (else 里文旅 is one word)
    after = r"(的?(方案|文件)?(里面|当中|里|中|内)(?=[\u4e00-\u9fff]))?" if plan else ""
    return re.compile(re.escape(name) + after, re.I)


def _without_slots(text: str, mentions: tuple[str, ...], plans: dict[str, Plan]) -> str:
    """The question without plan names, units, task numbers and question frames."""
    rest = text
    low = text.lower()  # a name the question does not contain changes nothing: skipped
    plan_words = {n for p in plans.values() for n in plan_names(p) if n.lower() in low}
    for s in sorted({*mentions, *plan_words}, key=len, reverse=True):
        rest = _name_re(s, s in plan_words).sub(" ", rest)
    rest = TASKNO_RE.sub(" ", rest)
    return rx("frame").sub(" ", rest)


# "…？比如合作办学、招生之类的": what follows 比如 is examples, each an alternative of the topic
FOR_INSTANCE_RE = re.compile(r"比如|例如|譬如")


def focus_text(text: str, mentions: tuple[str, ...], plans: dict[str, Plan]) -> str:
    """What is left of the question, words still in place (so everyday phrases like 不让进
    can still be mapped to the plans' terms)."""
    rest = FOR_INSTANCE_RE.sub("、", _without_slots(text, mentions, plans))
    return rx("generic_noun").sub(" ", rest).strip()


def topic_words(text: str, mentions: tuple[str, ...], plans: dict[str, Plan]) -> str:
    """What the question is about: its content words, enumerations kept apart by 、."""
    from ..retrieval.topics import ALT_SPLIT_RE, content_words, function_word

    rest = FOR_INSTANCE_RE.sub("、", rx("modal").sub(" ", _without_slots(text, mentions, plans)))
    # pronouns, numerals and particles (几家, 这样, 一部分) name no topic: "牵头的是哪几家？"
    # has none of its own
    pieces = (" ".join(w for w in content_words(piece) if not function_word(w))
              for piece in ALT_SPLIT_RE.split(rest))
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
    asker = previous.asker if previous is not None else ()
    small = smalltalk_kind(turn)
    if small:
        return Query(text, "smalltalk", all_ids, lang=lang, smalltalk=small, asker=asker)
    if pattern("out_of_scope", "injection").search(text):
        return Query(text, "out_of_scope", all_ids, lang=lang, asker=asker)
    mentioned = plans_mentioned(text, plans)
    if not mentioned and previous is not None and rx("other_plan").search(text):
        # "那另一个县呢？": the plans the conversation was not about (a widget pinned to one plan
        # included, as when the asker names another plan)
        mentioned = tuple(p for p in plans if p not in previous.plan_ids)
        if not mentioned and previous.intent not in ("out_of_scope", "smalltalk"):
            # the last answer covered every plan: there is no other one to show
            return replace(previous, text=text, lang=lang, intent="smalltalk", smalltalk="every_plan",
                           politeness="")
    plan_ids = mentioned or all_ids
    if not mentioned and previous is not None and previous.plan_named and (
        rx("in_it").search(text) or not rx("asks").search(previous.text)
        or (asker and rx("own_unit").search(text))
    ):
        # "里面…": the plan the conversation is about; so too after a turn that only set the
        # scene ("我们是一家诊所，在A县" → "能不能开电子处方？"), and for the asker's own
        # department ("…A县方案里我们牵头哪些？" → "那我们配合的呢？")
        plan_ids = previous.plan_ids
    if lang == "en":  # department names in English → the Chinese core the registry knows
        text = text + " " + " ".join(_english_units(text))
    mentions = _unit_mentions(text, registry, plan_ids)
    if (fixed := registry.corrected(text)) != text:
        # a long unit name with one character mistyped or a word left out: taken when nothing
        # else names a unit, or when it names fewer units than its parts did (银保监 and
        # 监管组 of X银保监Y监管组 may name two)
        again, every = _unit_mentions(fixed, registry, plan_ids), tuple(registry.plans)
        if not mentions or len(_resolve(again, registry, every)) < len(_resolve(mentions, registry, every)):
            text, mentions = fixed, again
    units = _resolve(mentions, registry, plan_ids)
    if mentioned and not mentions:
        # a unit the named plan does not list ("县民政局在A县的方案里有任务吗？"): still that
        # unit, so the answer can say it has no task there
        mentions = _unit_mentions(text, registry, tuple(plans))
        units = _resolve(mentions, registry, tuple(plans))
    intro = rx("self_intro").search(turn.text)
    if intro and (introduced := _intro_units(intro.group(1) or intro.group(2), lang, registry, plan_ids)):
        asker = introduced  # "我是X的": later turns may say "我们单位…" for X
    elif not mentions and asker and rx("own_unit").search(text):
        # "我们单位牵头哪些任务？" after "我是X的": X, as if named again
        mentions, units = asker, _resolve(asker, registry, plan_ids)
    numbers = task_numbers_in(text)
    role = role_in(_without(text, mentions))
    # "它的完成时限是什么时候？" asks when, not about 完成时限: no topic of its own
    asked = rx("deadline").sub(" ", text)
    topic = topic_words(asked, mentions, plans)
    focus = focus_text(asked, mentions, plans) if topic else ""
    framed = rx("about_frame").search(text)
    if framed and (inner := topic_words(framed.group(1), mentions, plans)):
        # "我们是保险公司，想了解跟保险业务有关的措施": the topic is what the frame holds
        topic, focus = inner, focus_text(framed.group(1), mentions, plans)
    named = rx("examples_frame").search(text)
    if named and (domain := topic_words(named.group(2), mentions, plans)):
        # "看病就医、医保支付这些医疗方面的措施": the examples and the domain they belong to,
        # each an alternative (a task on any of them is on the topic)
        examples = topic_words(named.group(1), mentions, plans)
        topic = "、".join(x for x in (examples, domain) if x)
        focus = "、".join(x for x in (focus_text(named.group(1), mentions, plans),
                                      focus_text(named.group(2), mentions, plans)) if x)
    wants_count = bool(rx("count").search(text))
    asks_deadline = bool(rx("deadline").search(text))
    base = Query(
        text, "applies", plan_ids, units, mentions, numbers, role or "any", None, topic, lang,
        wants_count=wants_count, plan_named=bool(mentioned), about=text, focus=focus,
        asks_deadline=asks_deadline,
        politeness=wrapper_kind(turn) or "", asker=asker,
    )
    if previous is not None and previous.intent not in ("out_of_scope", "smalltalk"):
        anaphor = rx("unit_anaphora").search(text)
        # "它的责任单位还负责哪些任务？" names which of its units (the rest asks their tasks, in
        # any role); "它的责任单位呢？" only asks who they are
        said = role_in(anaphor.group(0)) if anaphor and re.search(r"单位|units?\b|departments?\b|agenc|bod(y|ies)\b",
                                                                   anaphor.group(0)) else None
        unit_role = said if said in ("lead", "responsible") else None
        asking = _without(text.replace(anaphor.group(0), " ") if anaphor and unit_role else text, mentions)
        asks_role = role_in(asking) if unit_role else role
        if (not units and not numbers and not previous.units and anaphor
                and ((role and not unit_role) or (unit_role and asks_role and not rx("who").search(asking))
                     or any(rx(k).search(asking) for k in ("taskword", "participate", "which")))):
            # "这个单位在B县还牵头了哪些任务？": the department of the task just answered
            which = unit_role or (previous.role if previous.role in ("lead", "responsible") else "lead")
            everywhere = all_ids if rx("all_plans").search(text) else ()  # "它在两个方案里…"
            return replace(base, intent="unit_tasks", plan_ids=mentioned or everywhere or previous.plan_ids,
                           follow_up=True, their_units=which, role=asks_role or "any")
        if (wants_count and not topic and not units and not numbers and not mentioned
                and previous.intent in ("unit_tasks", "topic", "compare")):
            # "一共多少项？" / "How many are there?" after a list: that list, counted
            return replace(previous, text=text, lang=lang, wants_count=True, follow_up=True)
        # nothing of its own but perhaps a number, a plan or a unit ("第三项呢？", "县医保局呢？"),
        # and no word saying what it asks: the rest comes from before
        rest = _without(text, mentions)
        cue = role or any(rx(k).search(rest) for k in ("taskword", "list", "who", "count"))
        # "那如果医院开在B县呢？" names only what the last question did, in another plan: that
        # question again, there
        repeated = bool(topic and mentioned and set(mentioned) - set(previous.plan_ids)
                        and all(w in previous.text for w in re.split(r"[、\s]+", topic) if w))
        elliptical = (
            (not topic or repeated) and not fact_in(text) and not (numbers and mentioned) and not (units and cue)
        )
        # an anaphor points back only when the turn has no topic of its own ("它的责任单位呢？"),
        # not in "“…”这项由谁牵头？", where it points at the quoted words
        # "其中X在B县牵头了哪些？" names a unit and another plan: a question of its own
        elsewhere = bool(units and mentioned and set(mentioned) - set(previous.plan_ids))
        if (elliptical or (rx("subset").search(text) and not elsewhere) or rx("ordinal").search(text)
                or (rx("anaphora").search(text) and not topic and not elsewhere)):
            return _follow_up(base, previous, mentioned, role, registry, text)
        if (topic and not units and not numbers and rx("swap").search(text)
                and previous.intent in ("compare", "topic", "applies")
                and _classify(base, plans, mentioned, role).get("intent") == "applies"):
            # "那养老呢？" after a comparison or a list on another topic: the same question, this
            # topic (and the same plans unless it names others); a turn that asks its own kind of
            # question (a fact, a department, a chore) is not one
            return replace(base, intent=previous.intent, plan_ids=mentioned or previous.plan_ids,
                           follow_up=True)
    q = replace(base, **_classify(base, plans, mentioned, role))
    if intro and asker and units and not _has_words(turn.text[:intro.start()] + turn.text[intro.end():]):
        # "我是X的" and nothing more: what X has to do, in every role
        q = replace(q, intent="unit_tasks", role="any", topic="", focus="")
    if q.intent == "unit_tasks" and q.units and (about := rx("about_frame").search(text)):
        # "县委网信办的任务，跟数据安全有关的": the unit's tasks on that topic (跟发改委有关的
        # names the unit itself: no topic is left of it)
        q = replace(q, scope=topic_words(about.group(1), mentions, plans))
    block = rx("block_frame").search(text)
    if (q.intent == "topic" and block and q.topic and not framed and not named and not FOR_INSTANCE_RE.search(text)
            and (inner := topic_words(block.group(1), mentions, plans))):
        # "我们公司做外贸独立站…，网站备案这块有哪些新办法？": a list's topic is the clause's
        # words before 这块/方面, not the asker's story around them
        q = replace(q, topic=inner, focus=focus_text(block.group(1), mentions, plans))
    if (q.intent == "compare" and len(q.plan_ids) == 1 and previous is not None
            and previous.intent not in ("out_of_scope", "smalltalk")
            and set(previous.plan_ids) - set(q.plan_ids)):
        # "A县…？" then "B县有没有类似的？对比一下": the plan talked about is compared too
        q = replace(q, plan_ids=tuple(dict.fromkeys(previous.plan_ids + q.plan_ids)), follow_up=True)
    if (q.intent == "plan_facts" and not mentioned and not pinned_plan and previous is not None
            and previous.plan_named and previous.intent not in ("out_of_scope", "smalltalk")):
        # "B县方案一共多少项任务？" then "那组织实施里…" / "文号呢": the plan talked about
        return replace(q, plan_ids=previous.plan_ids)
    if (q.intent == "applies" and previous is not None and previous.intent in ("applies", "topic")
            and not mentioned and rx("continues").search(text)):
        # "A县有没有支持光伏的政策？" then "我家屋顶挺大，也能装吗？": the last question's matter
        # and plan, for this asker
        return replace(q, plan_ids=previous.plan_ids, follow_up=True, about=f"{previous.text}，{q.about}",
                       focus=f"{previous.focus or previous.topic} {q.focus}".strip())
    if (q.intent == "applies" and previous is not None and previous.intent == "applies"
            and not rx("asks").search(previous.text)):
        # after a turn that set the scene ("我们是一家诊所"), the question is asked by that
        # asker: what it said is part of what the answer must fit
        q = replace(q, about=f"{previous.text}，{q.about}", focus=f"{previous.focus} {q.focus}".strip())
    return q


def _classify(
    q: Query, plans: dict[str, Plan], mentioned: tuple[str, ...], role: Role | None
) -> dict[str, Any]:
    text = q.text
    rest = _without(text, q.unit_mentions)
    if q.task_numbers:
        return {"intent": "task_units"}
    # a quoted part of the plan ("“组织实施”部分讲了哪几条") names that part, not a topic
    fact = fact_in(_unquoted(text)) or (fact_in(text) if rx("quoted_part").search(text) else None)
    if fact == "structure" and not rx("about_plan").search(text):
        fact = None  # "垃圾桶要分几类" asks how something else is divided, not the plan
    # list words ask for a unit's tasks, unless the question asks for a figure (利率是多少)
    asks_tasks = bool(
        rx("taskword").search(rest) or role
        or (rx("list").search(rest) and not pattern("figures", "ask").search(rest))
    )
    if q.units and asks_tasks and not rx("who").search(rest):
        # "商务委牵头的一共有几项？" counts the unit's tasks, not the plan's
        if not (fact and fact != "task_count" and not rx("taskword").search(rest)):
            return {"intent": "unit_tasks"}
    if (fact == "task_count" and q.topic and not q.units
            and (rx("about_frame").search(text) or rx("topic_frame").search(text))):
        return {"intent": "topic"}  # "跟金融有关的任务有哪几项？": the topic's tasks, counted
    if fact and not q.units and not (fact in SECTION_FACTS and rx("situation").search(text)):
        # ("我们跑外卖的人…权益有没有保障措施？" asks for measures for the asker, not for the
        # plan's 保障措施 section)
        return {"intent": "plan_facts", "fact": fact}
    whole = not q.topic and not q.units and rx("whole_list").search(text) and not rx("differ").search(text)
    if whole:
        return {"intent": "topic"}  # "A县方案都有哪些任务？": every task of the plan(s), in order
    # a chore, unless the asker tells a plan of their own and asks for support ("想搞个夜市，
    # 卖小吃…，方案里有这方面的支持吗")
    if (pattern("out_of_scope", "chores").search(text) and not (q.units or fact)
            and not rx("asks_support").search(text)):
        return {"intent": "out_of_scope"}
    differ = rx("differ").search(text)
    # "我们是小公司…，方案里有没有相关支持？": the asker's own case, asked yes or no, is
    # answered by what fits it best (applies), not by every task on its words
    # … and so is a case told in the third person and then pointed at ("…小公司有几个专利，
    # 想拿去抵押贷款，有这方面的政策吗")
    own_case = bool((rx("situation").search(text) or rx("this_case").search(text)) and rx("yes_no").search(text)
                    and not rx("which_or_what").search(text) and not differ)
    if rx("topic_frame").search(text) and q.topic and not differ and not own_case:
        return {"intent": "topic"}  # "两个县在X方面都有哪些举措": every task on X, in each plan
    if rx("list_of_measures").search(text) and q.topic and not differ and not rx("first_person").search(text):
        return {"intent": "topic"}  # "外国专家来工作有哪些便利政策？": the plans' list, not one case
    if len(plans) > 1 and (rx("compare").search(text) or len(mentioned) >= 2) and not q.units and not own_case:
        if q.topic and not differ and rx("list").search(rest):
            # "两个方案都有哪些X措施": what each plan has on X, not how they differ
            return {"intent": "topic", "plan_ids": mentioned if len(mentioned) >= 2 else q.plan_ids}
        return {"intent": "compare", "plan_ids": mentioned if len(mentioned) >= 2 else q.plan_ids}
    if rx("who").search(text) or role:
        return {"intent": "task_units"}
    return {"intent": "applies"}


def with_answer_units(q: Query, task: Task, registry: UnitRegistry) -> Query:
    """"这个单位还牵头哪些任务？": the question about the department(s) of the task the
    previous answer gave, in the role that answer named (its lead units unless it was asked
    about the responsible ones)."""
    if q.their_units == "responsible" and not task.responsible:
        # the task lists no responsible unit: say so about that task, never answer with its
        # lead units in their place
        return replace(q, intent="task_units", plan_ids=(task.plan_id,), task_numbers=(task.number,),
                       role="responsible", their_units="", topic="", subset=False)
    names = task.responsible if q.their_units == "responsible" else task.lead
    units = _resolve(names, registry, q.plan_ids) or _resolve(names, registry, tuple(registry.plans))
    return replace(q, units=units, unit_mentions=names) if units else q


def _unit_mentions(text: str, registry: UnitRegistry, plan_ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(
        a for a, _ in registry.mentions(_unquoted(text, registry), plan_ids)
        # "市场监管方面" names a topic; "跟发改委有关的任务" still names a department
        if not (rx("topic_after").search(text[text.find(a) + len(a):][:4]) and not rx("org_suffix").search(a))
    )


def _intro_units(
    clause: str, lang: str, registry: UnitRegistry, plan_ids: tuple[str, ...]
) -> tuple[str, ...]:
    """The departments named where the asker says they work ("我是X的", "I work at X")."""
    if lang == "en":
        clause = clause + " " + " ".join(_english_units(clause))
    return _unit_mentions(clause, registry, plan_ids)


def _has_words(text: str) -> bool:
    """Whether any word is left (not only punctuation, spaces and particles)."""
    return bool(re.search(r"[\u4e00-\u9fff]{2,}|[A-Za-z]{3,}", text))


def _english_units(text: str) -> list[str]:
    """Chinese cores of the departments an English question names. A phrase that names a
    domain as well ("culture and tourism") is a topic when it follows "concerning", "about" …
    and no department word ("commission", "bureau") follows it."""
    low = text.lower()
    before, after = rx("english_topic_before"), rx("english_unit_after")
    out = []
    for en, zh in lexicon()["english_units"].items():
        for m in re.finditer(re.escape(en), low):
            prefix = low[: m.start()]
            # "the sub-branch of the People's Bank of China" names the department, not a topic
            part_of = re.search(r"\b(branch|sub-branch|office|bureau|department|commission|team) of (the )?$", prefix)
            if before.search(prefix) and not after.search(low[m.end():]) and not part_of:
                continue
            out.append(zh)
            break
    return out


# plan facts that are sections of the plan (not figures like its number or date)
SECTION_FACTS = frozenset({"organisation", "goal", "principles", "guidance", "basis"})

ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1,
            "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "最后": -1}


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
    if role is None and previous.role == "lead" and rx("participate").search(text):
        role = "responsible"  # "它参与的呢？" after what it leads: the other role
    mentions = q.unit_mentions or previous.unit_mentions
    units = _resolve(mentions, registry, plan_ids) if mentions else ()
    if mentions and not units:
        # "那另一个县呢？" about a unit that plan does not list: still that unit (it has no task there)
        units = _resolve(mentions, registry, tuple(registry.plans))
    intent: Intent = previous.intent
    numbers = q.task_numbers or (previous.task_numbers if not mentioned else ())
    like = previous.like
    if mentioned and previous.task_numbers and len(previous.plan_ids) == 1 and previous.plan_ids[0] not in mentioned:
        like = (previous.plan_ids[0], previous.task_numbers[0])  # that task's counterpart in the plan named now
    # after a plan fact ("一共有几项任务？") "其中" means the plan's tasks, not an answer's list
    listed = previous.intent != "plan_facts"
    # (你列的第一个 also reads as task No. 1: the place in the list is what it means)
    if (m := rx("ordinal").search(text)) and listed and (not q.task_numbers or not m.group(0).isascii()):
        # "Who supports the first one?": that item of the list just given
        return replace(q, intent="task_units", plan_ids=previous.plan_ids, subset=True, follow_up=True,
                       role=role or "any", topic="", task_numbers=(),
                       ordinal=ORDINALS.get(next(g for g in m.groups() if g).lower(), 0))
    elsewhere = bool(set(mentioned) - set(previous.plan_ids))  # names a plan the last answer was not about
    if (rx("this_item").search(text) and listed and not q.task_numbers and not q.units and not elsewhere
            and (rx("who").search(text) or role) and previous.intent in ("applies", "topic")):
        # "这项谁负责落实？" after a list of measures: the first (best) of them
        return replace(q, intent="task_units", plan_ids=previous.plan_ids, subset=True, follow_up=True,
                       role=role or "any", topic="", ordinal=1)
    if (rx("subset").search(text) and not q.units and not q.topic and listed and role and units
            and previous.intent == "unit_tasks" and not rx("who").search(text)):
        # "其中哪些是它牵头的？" after a unit's list: which of them that unit has in that role
        return replace(q, intent="unit_tasks", units=units, unit_mentions=mentions, plan_ids=previous.plan_ids,
                       subset=True, follow_up=True, role=role)
    if (rx("subset").search(text) and not q.units and not q.topic and listed
            and (rx("who").search(text) or role) and previous.intent != "task_units"):
        # "它们的责任单位分别是谁？" after a list: the units of each task listed
        return replace(q, intent="task_units", plan_ids=previous.plan_ids, subset=True,
                       follow_up=True, role=role or "any")
    if rx("subset").search(text) and q.units:
        # "其中哪些由X牵头？": the previous answer's tasks, filtered by unit and role; after the
        # units of one task ("第11项的牵头单位有哪些" → "其中X还牵头了哪些任务？") 其中 picks one of
        # those units, and its tasks are the plan's
        one_task = previous.intent == "task_units" and len(previous.task_numbers) <= 1
        return replace(q, intent="unit_tasks", plan_ids=previous.plan_ids, subset=listed and not one_task,
                       follow_up=True)
    if rx("subset").search(text) and q.topic:
        # "其中哪些和消费有关？": the previous answer's tasks, filtered by the new topic
        return replace(q, intent="topic", plan_ids=previous.plan_ids, subset=listed, follow_up=True)
    # "两边比比看" names no plan: every plan, when it asks for no list of its own
    compared = mentioned or (q.plan_ids if len(q.plan_ids) > 1 and not rx("list").search(text) else ())
    if (compared and (rx("compare").search(text) or rx("differ").search(text))
            and len(set(compared) | set(previous.plan_ids)) > 1
            and (previous.topic or previous.task_numbers)):
        # "A县对X怎么说？" then "B县那边呢？对比一下" / "两边比比看": X compared across the plans
        both = tuple(dict.fromkeys(previous.plan_ids + compared))
        return replace(previous, text=text, intent="compare", plan_ids=both, lang=q.lang,
                       follow_up=True, subset=False, task_numbers=(), plan_named=True, like=None)
    if q.task_numbers:
        intent = "task_units"
    elif intent == "compare" and len(mentioned) == 1:
        intent = "task_units" if (rx("who").search(text) or role) else "applies"
    elif intent in ("applies", "topic") and (rx("who").search(text) or role):
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
        asks_deadline=q.asks_deadline,
        plan_named=bool(mentioned),
        like=like if not q.task_numbers and intent == "task_units" else None,
        # "B县有类似措施吗？" (no topic of its own) after an answer about A县: B县's tasks like
        # the ones that answer showed, not whatever B县 says of the question's words
        similar=bool(mentioned) and set(mentioned) != set(previous.plan_ids) and not q.topic
        and not q.task_numbers and not previous.units and previous.intent in ("applies", "task_units", "topic", "compare")
        and bool(rx("similar").search(text)),
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
