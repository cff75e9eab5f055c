"""Evidence: everything an answer may say, gathered before a word is written.

``gather_*`` functions read the index (tables, unit registry, retrievers) and return an
``Evidence``; composition (``compose.py``) is pure over it. A list question gets the complete
task set from the tables, a topical question every task whose text or headings match, a free
question the tasks retrieval ranks first, and the coverage verdict says why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ..records import Chunk, Section, Status, Task
from ..retrieval.retrieve import PHRASE_SKIP_RE, hybrid, longest_shared, runs_of, tasks_from_hits
from ..retrieval.store import IndexStore, Role
from ..retrieval.topics import TopicMatcher, bigrams, similarity
from .language import lexicon, pattern
from .understand import Query, rx


@dataclass(frozen=True)
class TaskGroup:
    """A complete set of tasks under one heading (a plan and role, a section, a comparison side)."""

    key: str  # what the group is: "lead", "responsible", "collective", "topic", "only", "both" …
    plan_id: str
    tasks: tuple[Task, ...]
    unit: str = ""
    role: Role = "any"
    via: str = ""  # a collective unit (县级各部门) through which the asked unit is involved
    pairs: tuple[tuple[Task, Task], ...] = ()  # for "both": (this plan's task, the other's)


@dataclass(frozen=True)
class Fact:
    plan_id: str
    name: str  # doc_number, issued, issuer, title, task_count, period, goal, principles …
    value: str  # the value as the plan prints it ('' when the plan does not state it)
    chunk: Chunk | None = None
    section: Section | None = None
    parts: tuple[tuple[str, Chunk], ...] = ()  # sub-headings and their paragraphs
    # structure: (depth, heading as printed, its task numbers, its first and last tasks' passages)
    outline: tuple[tuple[int, str, tuple[int, ...], tuple[Chunk, ...]], ...] = ()


@dataclass(frozen=True)
class Evidence:
    status: Status
    groups: tuple[TaskGroup, ...] = ()
    facts: tuple[Fact, ...] = ()
    closest: tuple[Task, ...] = ()
    missing_numbers: tuple[int, ...] = ()
    missing_units: tuple[str, ...] = ()
    topic: str = ""  # the topic words the tasks were matched on
    plan_sizes: tuple[tuple[str, int], ...] = ()  # (plan, task count) when a number is missing
    elsewhere: tuple[str, ...] = ()  # plans not asked about where the asked unit does have tasks
    like: Task | None = None  # the task whose counterpart this evidence holds
    terms: tuple[str, ...] = ()  # the plans' own words for the question's (工资 → 薪酬), for excerpts
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def tasks(self) -> list[Task]:
        """Every task the evidence holds, in order, once."""
        out: list[Task] = []
        for g in self.groups:
            for t in g.tasks:
                if t not in out:
                    out.append(t)
        return out


NONE = Evidence("answered")


def matcher(store: IndexStore) -> TopicMatcher:
    return TopicMatcher.for_store(store)


# ---- per intent ----
def gather_unit_tasks(store: IndexStore, q: Query, within: list[Task] | None = None) -> Evidence:
    """Every task where each asked unit has the role (or, `within` a previous answer's tasks,
    those of them)."""
    groups: list[TaskGroup] = []
    roles: list[Role] = ["lead", "responsible"] if q.role == "any" else [q.role]
    m = matcher(store) if q.scope else None

    def kept(tasks: Iterable[Task]) -> tuple[Task, ...]:
        # of the previous answer's tasks (`within`), those on the topic asked ("…跟Y有关的")
        return tuple(t for t in tasks if (within is None or t in within) and (m is None or m.matches(q.scope, t)))

    for pid in q.plan_ids:
        # a plan the question names is answered for every unit asked, even one it gives no task
        # ("县民政局在A县有任务吗？" → none there); otherwise only the plans that list the unit
        for unit in (u for u in q.units if pid in store.registry.units[u].plans or q.plan_named):
            for role in roles:
                groups.append(TaskGroup(role, pid, kept(store.tasks_for_unit(unit, pid, role)), unit, role))
            if "responsible" in roles and within is None:
                groups += [replace(g, tasks=k) for g in _collective_groups(store, pid, unit) if (k := kept(g.tasks))]
    if not groups:
        return Evidence("not_covered", missing_units=q.unit_mentions or q.units,
                        reasons=("所问单位不在所选方案的任务分工中",))
    if not any(g.tasks for g in groups):  # none here: where the unit does have tasks
        elsewhere = tuple(p for p in store.plans if p not in q.plan_ids
                          and any(p in store.registry.units[u].plans for u in q.units))
        return Evidence("answered", tuple(groups), elsewhere=elsewhere, topic=q.scope)
    return Evidence("answered", tuple(groups), topic=q.scope)


def _collective_groups(store: IndexStore, pid: str, unit: str) -> list[TaskGroup]:
    """Tasks whose 责任单位 is a collective of the plan's own level (县级各部门, 区级各部门) involve
    every department of that government: listed apart, so the named list stays exact."""
    plan = store.plans[pid]
    u = store.registry.units.get(unit)
    if u is None or u.collective or not plan.level or not unit.startswith(plan.level):
        return []
    out = []
    for name, cu in store.registry.units.items():
        if not cu.collective or pid not in cu.plans:
            continue
        if not re.match(rf"^{plan.level}(级|政府)?各(部门|单位)", name):
            continue
        tasks = tuple(
            t for t in store.tasks_for_unit(name, pid, "responsible") if unit not in t.units()
        )
        if tasks:
            out.append(TaskGroup("collective", pid, tasks, unit, "responsible", via=name))
    return out


def gather_listed(tasks: list[Task], ordinal: int = 0) -> Evidence:
    """The tasks an earlier answer listed, each on its own ("它们的责任单位分别是谁？"), or the
    one at that place in the list ("the second one"; -1 the last)."""
    if ordinal:
        i = ordinal - 1 if ordinal > 0 else len(tasks) + ordinal
        tasks = tasks[i:i + 1] if 0 <= i < len(tasks) else []
    if not tasks:
        return Evidence("not_covered", reasons=("上一个回答没有列出这一项",))
    return Evidence("answered", tuple(TaskGroup("task", t.plan_id, (t,)) for t in tasks))


def gather_task_units(store: IndexStore, q: Query) -> Evidence:
    if q.task_numbers:
        found: list[Task] = []
        missing: list[int] = []
        for n in q.task_numbers:
            hits = [t for pid in q.plan_ids if (t := store.task(pid, n))]
            found += hits
            if not hits:
                missing.append(n)
        if not found:
            sizes = tuple((pid, len(store.plan_tasks(pid))) for pid in q.plan_ids)
            return Evidence("not_covered", missing_numbers=tuple(missing), plan_sizes=sizes,
                            reasons=("所选方案没有这一编号的任务",))
        groups = tuple(TaskGroup("task", t.plan_id, (t,)) for t in found)
        return Evidence("answered", groups, missing_numbers=tuple(missing))
    if q.like and (model := store.task(*q.like)) is not None:
        # the task most like the one talked about, in the plan named now: the compare alignment's
        # measure (shared character bigrams), else what retrieval finds for its text
        pool = [t for pid in q.plan_ids for t in store.plan_tasks(pid)]
        ranked = sorted(((similarity(model.text, t.text), i, t) for i, t in enumerate(pool)),
                        key=lambda x: (-x[0], x[1]))
        if ranked and ranked[0][0] >= 0.5:
            best = ranked[0][2]
            return Evidence("answered", (TaskGroup("ranked", best.plan_id, (best,)),), like=model)
        # no task there says the same: say so, and show the nearest
        return Evidence("not_covered", closest=tuple(t for _, _, t in ranked[:2]), like=model,
                        reasons=("所问方案中没有与该任务相近的任务",))
    return _free_text(store, q, limit=3, single=True)


def gather_applies(store: IndexStore, q: Query) -> Evidence:
    return _heading_passage(store, q) or _free_text(store, q, limit=4, single=False)


NUMBERING_RE = re.compile(r"^\s*[（(]?[一二三四五六七八九十\d]+[)）.、．]\s*")


def _heading_runs(store: IndexStore, text: str, plan_ids: set[str]) -> list[tuple[int, Chunk]]:
    """Paragraphs of parts without tasks whose sub-heading repeats 4+ characters of the text,
    with the length of that run."""
    probe = runs_of(PHRASE_SKIP_RE.sub("", text), 4)  # a heading sharing no 4-character run: none
    if probe is None:
        return []
    return [(run, c) for c, heading in _sub_headed_paragraphs(store) if c.plan_id in plan_ids
            and next(probe.iter(heading), None) is not None and (run := longest_shared(text, heading))]


def _sub_headed_paragraphs(store: IndexStore) -> tuple[tuple[Chunk, str], ...]:
    """The paragraphs of parts without tasks that sit under a sub-heading, with that heading
    unnumbered (found once per index generation, not per question)."""
    return store.memo("sub_headed", (), lambda: tuple(
        (c, NUMBERING_RE.sub("", c.section_path[-1])) for c in store.chunks.values()
        if c.kind == "body" and c.task_number is None and not c.task_numbers and len(c.section_path) >= 2
    ))


def _heading_passage(store: IndexStore, q: Query) -> Evidence | None:
    """A question that names a sub-heading of a part of the plan that holds no task
    ("任务清单管理要求怎么做？" of 组织实施's “加强任务清单管理”): that paragraph, when its
    heading repeats a longer run of the question (four characters at least) than any task
    does."""
    text = q.about or q.text
    found = _heading_runs(store, text, set(q.plan_ids))
    if not found:
        if q.follow_up and (other := _heading_runs(store, text, set(store.plans) - set(q.plan_ids))):
            # "A县…任务清单管理有什么要求？" then "B县对应的那部分呢？": B县's part of the same kind
            # (组织实施 ~ 保障措施), when B县 has no such sub-heading
            top = max(other, key=lambda x: x[0])[1].section_path[0]
            kind = next((k for k, pat in SECTION_FACTS.items() if re.search(pat, top)), None)
            facts = tuple(f for pid in q.plan_ids if kind and (f := _section_fact(store, pid, kind)))
            return Evidence("answered", facts=facts) if facts else None
        return None
    run = max(n for n, _ in found)
    best = [c for n, c in found if n == run]
    if any(longest_shared(text, t.text) >= run for pid in q.plan_ids for t in store.plan_tasks(pid)):
        return None  # a task says as much of it: the tasks answer
    pid, path = best[0].plan_id, best[0].section_path
    chunks = sorted((c for c in best if c.plan_id == pid and c.section_path == path), key=lambda c: c.line_start)
    parts = tuple((path[-1], c) for c in chunks)
    return Evidence("answered", facts=(Fact(pid, "section", NUMBERING_RE.sub("", path[0]), chunks[0], None, parts),))


def _candidates(store: IndexStore, q: Query, text: str, dense: bool) -> list[tuple[float, Task]]:
    """The tasks retrieval proposes for a free-text question, each with how much of the
    question it says (`TopicMatcher.support`), in retrieval order."""
    m = matcher(store)
    ranked = tasks_from_hits(store, hybrid(store, q.about or q.text, list(q.plan_ids), k=8, dense=dense), text, 8)
    # a task that prints the plans' own rare term for a word of the question (征信 → 资信调查)
    # is a candidate whatever retrieval ranked (a long task buries one phrase)
    scope = set(q.plan_ids)
    found = [t for term in m.synonym_terms(text) if m.term_weight(term) > RARE_WEIGHT
             for pid, n in m.docs_saying(term)[:4] if pid in scope and (t := store.task(pid, n)) is not None]
    return [(m.support(text, t), t) for t in dict.fromkeys(found + ranked)]


def _free_text(store: IndexStore, q: Query, limit: int, single: bool) -> Evidence:
    m = matcher(store)
    text = q.focus or q.topic or q.about or q.text
    scored: list[tuple[float, Task]] = []
    if single:
        # one task is asked for ("…那项由谁牵头？"), and the task that says most of the question
        # is it: when the plans' words alone (no embedding) rank first a task that says two of
        # its words and more of it than any other, that is the answer; ties and weaker finds
        # are left to the full search, whose order breaks ties and decides the verdict
        scored = _candidates(store, q, text, dense=False)
        first = m.said(text, scored[0][1]) if scored else (0.0, 0.0)
        if first[0] < DECISIVE or any(s >= first[0] and m.said(text, t) >= first for s, t in scored[1:]):
            scored = []
    verdict = coverage_verdict(store, q, scored) if scored else None
    if verdict != "answered" and _beyond_plans(store, q, text):
        # what the full search would conclude whatever it found: no embedding for it (the
        # nearest by the plans' words, which "B县有类似措施吗？" offers: `like_shown`)
        near = tuple(_by_support(_candidates(store, q, text, dense=False))[:2])
        return Evidence("out_of_scope", closest=near, topic=text, reasons=("方案中没有同时说到问题要点的任务",))
    if verdict != "answered":
        scored = _candidates(store, q, text, dense=True)
        verdict = coverage_verdict(store, q, scored)
    if verdict != "answered":
        return Evidence(verdict, closest=tuple(t for _, t in scored[:2]), topic=text,
                        reasons=("方案中没有同时说到问题要点的任务",))
    # what the task says of the question decides the order; retrieval order breaks ties
    ranked_by_support = _by_support(scored)
    support = {t: s for s, t in scored}
    best = support[ranked_by_support[0]]
    home = _own_heading(store, ranked_by_support[0])
    if single:
        # the best task, and others only while they say as much of the question: as many of
        # its words and as much of their weight (经济 and 发展 are two words, as 夜间 and 经济
        # are, but say less of 夜间经济)
        weight = {t: m.said(text, t)[1] for t in ranked_by_support if support[t] >= best}
        top = max(weight.values())
        keep = [t for t in weight if weight[t] >= top - 1e-9][:limit]
    else:
        # tasks that say half as much as the best, and the best task's siblings under its own
        # heading that say some of it (the data-security task beside the sensitive-data one)
        keep = [
            t for t in ranked_by_support
            if support[t] >= max(1.0, best * 0.5) or (support[t] >= 0.5 and _own_heading(store, t) == home)
        ][:limit]
    return Evidence("answered", (TaskGroup("ranked", keep[0].plan_id, tuple(keep)),), topic=text,
                    terms=m.plan_terms(text))


def _by_support(scored: list[tuple[float, Task]]) -> list[Task]:
    """The tasks by how much of the question they say; retrieval order breaks ties."""
    return [t for _, _, t in sorted((-s, i, t) for i, (s, t) in enumerate(scored))]


LIKE_SIMILARITY = 0.5  # what the comparison pairs tasks on (`closest_elsewhere`)


def _like_model(
    store: IndexStore, q: Query, shown: Evidence
) -> tuple[list[Task], Callable[[Task], bool]] | None:
    """The shown tasks B县's are to be like (those that said most of the question: a list's
    weaker items are not what B县's tasks should be like), and the test of a task being like
    them; None when the answer before showed no task of another plan."""
    shown_there = [t for t in shown.tasks() if t.plan_id not in q.plan_ids]
    if shown.status != "answered" or not shown_there:
        return None
    m = matcher(store)
    text = q.focus or q.topic or q.about or q.text
    said = {t: m.said(text, t) for t in shown_there}
    bar = max(said.values())
    before = [t for t in shown_there if said[t] == bar]

    def is_like(t: Task) -> bool:
        return (any(similarity(t.text, s.text) >= LIKE_SIMILARITY for s in before)
                or ((says := m.said(text, t))[0] >= DECISIVE and says >= bar))

    return before, is_like


def nothing_like(store: IndexStore, q: Query, shown: Evidence) -> bool:
    """"B县有类似措施吗？" is sure to find nothing: no task of B县 at all is like the one shown
    (`like_shown` keeps only such tasks of those B县's search finds), so the search is not
    needed to know it (a follow-up chip is checked this way first)."""
    model = _like_model(store, q, shown)
    if model is None:
        return False
    tasks = _scannable(store, q)
    return tasks is not None and not any(model[1](t) for t in tasks)


def like_shown(store: IndexStore, q: Query, ev: Evidence, shown: Evidence) -> Evidence:
    """"B县有类似措施吗？" after an answer that showed tasks of A县: of what B县's search found,
    the tasks like the one shown that said most of the question (most of the shorter text's
    character pairs shared, as the comparison pairs them) or saying as much of the question as
    it did, by words and their weight (and two of its words at least); when none is, B县 has no
    such task (the nearest found are offered)."""
    model = _like_model(store, q, shown)
    if model is None:
        return ev
    before, is_like = model
    if ev.status != "answered":  # B县 says nothing of it: nothing like the task shown either
        # (the question is about the plans' measures even when B县's words are far from it)
        return replace(ev, status="not_covered", like=before[0])
    found = ev.tasks()
    keep = {t for t in found if is_like(t)}
    if not keep:
        return Evidence("not_covered", closest=tuple(found[:2]), like=before[0],
                        reasons=("所问方案中没有与已答任务相近的任务",))
    groups = tuple(replace(g, tasks=kept) for g in ev.groups if (kept := tuple(t for t in g.tasks if t in keep)))
    return replace(ev, groups=groups, like=before[0])


def _own_heading(store: IndexStore, t: Task) -> tuple[str, str]:
    """The most specific heading a task is printed under, without its numbering."""
    headings = store.task_topics(t).split()
    last = headings[-1] if headings else ""
    return t.plan_id, re.sub(r"^[（(]?[一二三四五六七八九十\d]+[)）.、．]\s*", "", last)


# a task that says this many of the question's words answers it (`coverage_verdict`)
DECISIVE = 2.0
# IDF weight (log((n+1)/(df+1)) + 1) of a word a quarter of the tasks say
COMMON_WEIGHT = math.log(4) + 1
# … and of a word one task in twenty says
RARE_WEIGHT = math.log(20) + 1


def coverage_verdict(store: IndexStore, q: Query, scored: list[tuple[float, Task]]) -> Status:
    """answered when a top task says the question's point; otherwise not_covered when the
    question is about things the plans speak of at all, else out_of_scope."""
    if not scored:
        return "not_covered"
    best = max(s for s, _ in scored[:3])
    if pattern("figures", "ask").search(q.text) and not any(
        re.search(r"\d+(\.\d+)?\s*(%|％|元|万|亿|个|项|人|套|倍|天|日)", t.text) for _, t in scored[:2]
    ):
        return "not_covered"
    m = matcher(store)
    share = m.corpus_share(q.focus or q.topic or q.text)
    # the best task says two of the question's words, or one while most of its words are the
    # plans' own (rule carried over from the first round, calibrated on the dev sets) and that
    # one is not a word a quarter of the tasks say (外资 alone does not answer 外资办幼儿园)
    if best >= DECISIVE:
        return "answered"
    if best >= 1.0 and share >= 0.45:
        text = q.focus or q.topic or q.text
        top = next(t for s, t in scored[:3] if s == best)
        # ... unless a question that tells no story of the asker's names a thing the plans
        # never speak of ("A县的垃圾分类…": 分类 of 数据分级分类 is not it); in a story
        # ("我是工程师，孩子…") such nouns are the asker's circumstances
        plain = not rx("situation").search(q.text)
        if m.said_weight(text, top) > COMMON_WEIGHT and not (plain and m.unseen_nouns(text)):
            return "answered"
    said_something = best >= 1.0 and share >= STRAY_SHARE  # a task says a word of it, and it is not one stray word
    if not said_something and share < 0.5 and not _public_affairs(q):
        return "out_of_scope"  # the plans hardly speak of it, and it is no public-affairs question
    return "not_covered"


STRAY_SHARE = 0.3  # below it, the words of a question the plans say are stray ones (`coverage_verdict`)
SCAN_TASKS = 400  # plans with at most this many tasks in all are read task by task (`_scannable`)


def _beyond_plans(store: IndexStore, q: Query, text: str) -> bool:
    """`coverage_verdict` says out_of_scope whatever the search finds: the plans say few of the
    question's words, it is no public-affairs or figures question, and no task of the plans
    asked about says two of its words (checked task by task, where there are not too many)."""
    if pattern("figures", "ask").search(q.text) or _public_affairs(q):
        return False
    m = matcher(store)
    if m.corpus_share(q.focus or q.topic or q.text) >= STRAY_SHARE:
        return False
    tasks = _scannable(store, q)
    if not tasks:
        return False
    return all(m.support(text, t) < DECISIVE for t in tasks)


def _scannable(store: IndexStore, q: Query) -> list[Task] | None:
    """Every task of the plans asked about, where they are few enough to read one by one
    (SCAN_TASKS) instead of searching them; None where they are not."""
    tasks = [t for pid in q.plan_ids for t in store.plan_tasks(pid)]
    return tasks if len(tasks) <= SCAN_TASKS else None


def _public_affairs(q: Query) -> bool:
    """The question is a policy question whatever its topic: it names a public-affairs word,
    asks for support, what a rule requires or forbids, what the plans say, or whether
    something may be done in a plan's region ("A县城里可以…吗？")."""
    text = q.text
    return (any(w in text.lower() for w in lexicon()["public"]["words"])
            or any(rx(k).search(text) for k in ("asks_support", "asks_rule", "asks_plan"))
            or (q.plan_named and bool(rx("asks_leave").search(text))))


def gather_topic(store: IndexStore, q: Query, within: list[Task] | None = None) -> Evidence:
    if q.topic and within is None and (passage := _heading_passage(store, q)):
        return passage  # "任务清单管理有什么要求？": a paragraph of a part without tasks
    m = matcher(store)
    topic, focus = q.topic, q.focus or q.topic
    groups = []
    for pid in q.plan_ids:
        pool = [t for t in (within or store.plan_tasks(pid)) if t.plan_id == pid]
        # no topic ("A县方案都有哪些任务？"): every task, in the plan's order
        tasks = tuple(t for t in pool if not topic or m.matches(focus, t))
        if tasks:
            groups.append(TaskGroup("topic", pid, tasks))
    if groups:
        return Evidence("answered", tuple(groups), topic=topic)
    # nothing on that topic: say so, and show what ranks closest
    fallback = _free_text(store, q, limit=3, single=False)
    if fallback.status == "answered":
        return Evidence("not_covered", closest=tuple(fallback.tasks()[:2]), topic=topic,
                        reasons=("没有任务的文字或标题说到这一主题",))
    return fallback


WHOLE_PLANS = 3  # plans a comparison without a topic compares whole


def gather_compare(store: IndexStore, q: Query) -> Evidence:
    """Per plan, the tasks on the topic; then aligned: only in one plan, in both."""
    m = matcher(store)
    per_plan: dict[str, list[Task]] = {}
    topical = False
    scored: list[tuple[float, Task]] = []  # the ranked fallback, for the coverage verdict
    focus = q.focus or q.topic
    # no topic ("两个方案都有哪些相同的措施？"): a few plans are compared task by task, whole
    # (many plans compared whole would be every task of every plan: they need a topic)
    whole = not q.topic and len(q.plan_ids) <= WHOLE_PLANS
    matched = {pid: [t for t in store.plan_tasks(pid) if whole or (q.topic and m.matches(focus, t))]
               for pid in q.plan_ids}
    # over many plans, a plan with no task on the topic has none: no retrieval per plan for it
    many = len(q.plan_ids) > 2 and any(matched.values())
    # when another plan has tasks on it, a retrieved task must say two of its words: one alone
    # is often a stray one (服务 of 养老服务, said by every 服务业 task)
    floor = 2.0 if any(matched.values()) else 1.0
    for pid in q.plan_ids:
        tasks = matched[pid]
        topical = topical or bool(tasks)
        if not tasks and q.topic and not many:
            ranked = tasks_from_hits(store, hybrid(store, q.text, [pid], k=8), focus, 3)
            scored += [(m.support(focus, t), t) for t in ranked]
            tasks = [t for t in ranked if m.support(focus, t) >= floor][:3]
        per_plan[pid] = tasks
    if not any(per_plan.values()):
        return Evidence("not_covered", topic=q.topic, reasons=("各方案都没有这一主题的任务",))
    if not topical:
        # no plan has a task on it: the closest tasks answer only if they say its point
        scored.sort(key=lambda st: -st[0])
        verdict = coverage_verdict(store, q, scored)
        if verdict != "answered":
            return Evidence(verdict, closest=tuple(t for _, t in scored[:2]), topic=q.topic,
                            reasons=("方案中没有同时说到问题要点的任务",))
    groups: list[TaskGroup] = []
    pids = list(per_plan)
    pairs: list[tuple[Task, Task]] = []
    closest = closest_elsewhere([per_plan[pid] for pid in pids])
    for i, pid in enumerate(pids):
        only = []
        for t, (match, sim) in zip(per_plan[pid], closest[i], strict=True):
            if match is not None and sim >= 0.5:
                if i == 0:
                    pairs.append((t, match))  # the first plan's task and its closest counterpart
                elif all(b is not t for _, b in pairs):
                    pairs.append((match, t))  # every later plan's task that the first plan shares
            else:
                only.append(t)
        groups.append(TaskGroup("only", pid, tuple(only)))
    if pairs:
        pairs.sort(key=lambda ab: (ab[0].number, ab[1].number))
        groups.append(TaskGroup("both", pids[0], tuple(dict.fromkeys(a for a, _ in pairs)), pairs=tuple(pairs)))
    return Evidence("answered", tuple(groups), topic=q.topic)


def closest_elsewhere(
    lists: list[list[Task]], brute_force_below: int = 64
) -> list[list[tuple[Task | None, float]]]:
    """For each task of each list, the most similar task of the other lists and its similarity:
    `max(others, key=similarity)` (the first in list order among equals; (None, 0.0) when the
    other lists are empty). Small inputs are compared pairwise; large ones (a comparison over
    many plans) through an index of shared character bigrams, with the same result."""
    flat = [(i, t) for i, ts in enumerate(lists) for t in ts]
    if len(flat) < brute_force_below:
        out: list[list[tuple[Task | None, float]]] = []
        for i, ts in enumerate(lists):
            others = [o for j, os_ in enumerate(lists) if j != i for o in os_]
            row: list[tuple[Task | None, float]] = []
            for t in ts:
                text = t.text
                match = max(others, key=lambda o: similarity(text, o.text), default=None)
                row.append((match, similarity(text, match.text) if match is not None else 0.0))
            out.append(row)
        return out
    import numpy as np

    grams = [bigrams(t.text) for _, t in flat]
    sizes = np.array([len(g) for g in grams], dtype=np.int64)
    owner = np.array([i for i, _ in flat], dtype=np.int64)
    postings: dict[str, list[int]] = {}
    for k, g in enumerate(grams):
        for b in g:
            postings.setdefault(b, []).append(k)
    post = {b: np.asarray(v, dtype=np.int64) for b, v in postings.items()}
    result: list[list[tuple[Task | None, float]]] = [[] for _ in lists]
    for k, (i, _) in enumerate(flat):
        mine = owner == i
        if mine.all():
            result[i].append((None, 0.0))
            continue
        if grams[k]:
            shared = np.bincount(np.concatenate([post[b] for b in grams[k]]), minlength=len(flat))
        else:
            shared = np.zeros(len(flat), dtype=np.int64)
        denom = np.minimum(sizes[k], sizes)
        sim = np.where(denom > 0, shared / np.maximum(denom, 1), 0.0)
        sim[mine] = -1.0
        best = int(np.argmax(sim))  # the first maximum, as max() over the others gives
        result[i].append((flat[best][1], float(sim[best])))
    return result


SECTION_FACTS = {
    "goal": r"目标",
    "principles": r"原则",
    "guidance": r"指导思想",
    "organisation": r"保障|组织实施|组织领导|工作机制",
}


def gather_plan_facts(store: IndexStore, q: Query) -> Evidence:
    from .understand import facts_in

    # "哪个单位发的？哪天印发的？": every short fact the question asks, in the order asked
    # "打算用多长时间，要达到什么目标？": every fact the question asks, in the order asked (the
    # outline only when it is what is asked)
    names = [q.fact or ""] + [n for n in facts_in(q.text) if n != q.fact and n != "structure"]
    if q.fact == "structure":  # the outline states the total too
        names = [n for n in names if n != "task_count"]
    facts: list[Fact] = []
    for pid in q.plan_ids:
        for name in names:
            facts += _plan_fact(store, pid, name)
    if not facts:
        return Evidence("not_covered", reasons=("方案中没有这一部分",))
    return Evidence("answered", facts=tuple(facts))


SHORT_FACTS = ("doc_number", "issued", "issuer", "title", "task_count", "period", "basis")

# "根据《…》（…〔2021〕19号）": the document a plan says it follows, and its number
BASIS_RE = re.compile(
    r"(?:根据|依据|按照|贯彻落实)\s*《([^》]{4,80})》\s*[(（]\s*([^()（）]{2,30}?号)\s*[)）]"
)


def _plan_fact(store: IndexStore, pid: str, name: str) -> list[Fact]:
    facts: list[Fact] = []
    plan = store.plans[pid]
    header = next(
        (c for c in store.chunks.values() if c.plan_id == pid and c.kind == "header"), None
    )
    if name in ("doc_number", "issued", "issuer", "title"):
        value = {
            "doc_number": plan.doc_number or "",
            "issued": plan.issued or "",
            "issuer": plan.issuer,
            "title": plan.title,
        }[name]
        facts.append(Fact(pid, name, value, header))
    elif name == "task_count":
        n = len(store.plan_tasks(pid))
        stated = next(
            (c for c in store.chunks.values()
             if c.plan_id == pid and c.kind == "body" and re.search(rf"{n}\s*项", c.text)),
            None,
        )
        last = store.plan_tasks(pid)[-1] if n else None
        # cite the sentence that states the total, else the last numbered task itself
        facts.append(Fact(pid, name, str(n), stated or (store.task_chunk(last) if last else None)))
    elif name == "period":
        chunk = next(
            (c for c in store.chunks.values()
             if c.plan_id == pid and re.search(r"经过\s*\S{1,3}\s*年", c.text)),
            None,
        )
        period = re.search(r"经过\s*(\S{1,3}?)\s*年", chunk.text) if chunk else None
        facts.append(Fact(pid, name, period.group(1) if period else "", chunk))
    elif name == "basis":
        found = next(
            ((c, m) for c in sorted(
                (c for c in store.chunks.values() if c.plan_id == pid and c.kind in ("header", "body")),
                key=lambda c: c.id)
             if (m := BASIS_RE.search(c.text))),
            None,
        )
        if found:
            chunk, m = found
            title = re.sub(r"\s+", "", m.group(1))
            number = re.sub(r"\s+", "", m.group(2))
            facts.append(Fact(pid, name, f"《{title}》（{number}）", chunk))
        else:
            facts.append(Fact(pid, name, "", header))
    elif name == "structure":
        facts.append(_structure_fact(store, pid))
    elif name in SECTION_FACTS:
        fact = _section_fact(store, pid, name)
        if fact:
            facts.append(fact)
    return facts


def _structure_fact(store: IndexStore, pid: str) -> Fact:
    """How the plan groups its tasks: the headings they are printed under, from the first level
    that tells them apart (a level every task shares, 主要任务和措施, says nothing), with the
    numbers of the tasks under each, and one level below where that splits them further."""
    tasks = store.plan_tasks(pid)
    depth = max((len(t.section_path) for t in tasks), default=0)
    top = next((i for i in range(depth) if len({t.section_path[i:i + 1] for t in tasks}) > 1), None)
    outline: list[tuple[int, str, tuple[int, ...], tuple[Chunk, ...]]] = []
    if top is not None:
        for heading in _headings(tasks, top):
            under = [t for t in tasks if t.section_path[top:top + 1] == (heading,)]
            outline.append((0, heading, tuple(t.number for t in under), _ends(store, under)))
            subs = _headings(under, top + 1)
            if len(subs) > 1:
                for sub in subs:
                    below = [t for t in under if t.section_path[top + 1:top + 2] == (sub,)]
                    outline.append((1, sub, tuple(t.number for t in below), _ends(store, below)))
    return Fact(pid, "structure", str(len([o for o in outline if o[0] == 0])), outline=tuple(outline))


def _ends(store: IndexStore, tasks: list[Task]) -> tuple[Chunk, ...]:
    """The passages of the first and the last task of a part: the range the outline states."""
    ends = [tasks[0], tasks[-1]] if len(tasks) > 1 else tasks[:1]
    return tuple(c for t in ends if (c := store.task_chunk(t)) is not None)


def _headings(tasks: list[Task], level: int) -> list[str]:
    """The distinct headings at one level of the tasks' section paths, in the plan's order."""
    return list(dict.fromkeys(t.section_path[level] for t in tasks if len(t.section_path) > level))


def _section_fact(store: IndexStore, pid: str, name: str) -> Fact | None:
    """A part of the plan found by its own heading (目标, 基本原则, 保障措施/组织实施 …)."""
    rx = re.compile(SECTION_FACTS[name])
    task_paths = {t.section_path[:1] for t in store.plan_tasks(pid)}
    secs = [
        s for s in store.sections
        if s.plan_id == pid and rx.search(s.heading) and s.path[:1] not in task_paths
        and not any(rx.search(h) for h in s.path[:-1])
    ]
    secs = [s for s in secs if not _has_task_chunks(store, s)]
    if not secs:
        return None
    sec = min(secs, key=lambda s: s.level)
    chunks = [
        c for c in store.chunks.values()
        if c.plan_id == pid and c.kind == "body" and c.section_path[: len(sec.path)] == sec.path
    ]
    chunks.sort(key=lambda c: c.line_start)
    parts = tuple(
        (c.section_path[-1] if len(c.section_path) > len(sec.path) else sec.path[-1], c)
        for c in chunks
    )
    return Fact(pid, name, sec.heading, chunks[0] if chunks else None, sec, parts)


def _has_task_chunks(store: IndexStore, sec: Section) -> bool:
    return any(
        c.task_numbers for c in store.chunks.values()
        if c.plan_id == sec.plan_id and c.section_path[: len(sec.path)] == sec.path
    )
