"""Metrics: small pure functions over (case, answer dict, gold) returning named values.

A value of None means "does not apply to this case" and is left out of averages.
`answer` is `Answer.to_dict()`: answer text, status, citations (marker, plan_id,
task_number, quote, lead, responsible, …).
"""

from __future__ import annotations

import re
from typing import Any

from .cases import Case, Gold, expected_task_map, topic_sets

Answer = dict[str, Any]
Key = tuple[str, int]

MARKER_RE = re.compile(r"[\[【［〔(（]\s*\d{1,3}\s*[\]】］〕)）]")
COUNT_TOTAL_RE = re.compile(r"共\s*(\d+|[一二两三四五六七八九十]+)\s*(?:项|条|个)")
COUNT_ANY_RE = re.compile(
    r"(?<![第\d一二两三四五六七八九十])(\d+|[一二两三四五六七八九十]+)\s*(?:项|条)(?:任务|措施|试点)?"
)
COUNT_EN_RE = re.compile(r"(?i)\b(\d+)\s+(?:\w+\s+)?(?:tasks?|measures?|items?)\b")
# a numbered item's quoted plan text ("1. 第9项：…《…八条》…"): the plan's words, not a count the answer states
ITEM_TEXT_RE = re.compile(r"^(\s*\d+\.\s[^：\n]*：).*$", re.M)
NUMBER_RE = re.compile(r"\d+")


CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


def cn_number(s: str) -> int | None:
    """'31' / '三十一' / '二' → int (the harness's own reading, independent of the pipeline)."""
    if s.isdigit():
        return int(s)
    total, cur = 0, 0
    for ch in s:
        if ch in CN_DIGITS:
            cur = CN_DIGITS[ch]
        elif ch in "十百":
            total += (cur or 1) * (10 if ch == "十" else 100)
            cur = 0
        else:
            return None
    return total + cur or None


def nows(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def citations(answer: Answer) -> list[dict[str, Any]]:
    return sorted(answer.get("citations") or [], key=lambda c: c.get("marker") or 0)


def cited_tasks(answer: Answer, include_via: bool = True) -> list[Key]:
    """(plan_id, task_number) of cited tasks, in marker order, without repeats.

    `include_via=False` leaves out tasks cited because a collective unit (县级各部门)
    covers the asked one: the answer lists those apart from the named tasks."""
    out: list[Key] = []
    for c in citations(answer):
        if not include_via and c.get("via"):
            continue
        if (
            c.get("task_number") is not None
            and (key := (c["plan_id"], int(c["task_number"]))) not in out
        ):
            out.append(key)
    return out


def listed_tasks(answer: Answer) -> set[Key]:
    """The answer's task set: named (not `via`) citations plus the items of its `groups`
    (the structured list, when the answer has one)."""
    out = set(cited_tasks(answer, include_via=False))
    for g in answer.get("groups") or []:
        for item in g.get("items") or []:
            if item.get("task_number") is not None and item.get("plan_id"):
                out.add((item["plan_id"], int(item["task_number"])))
    return out


def mentions(gold: Gold, unit: str, text: str) -> bool:
    """The unit is named in the text (canonical name or any alias; whitespace ignored)."""
    t = nows(text)
    return any(a and a in t for a in gold.aliases(unit))


# ---- status / facts ----
def status_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    out: dict[str, Any] = {"status_ok": answer.get("status") == case.expect["status"]}
    if answer.get("lang"):  # answers that say their language must answer in the case's
        out["lang_ok"] = answer["lang"] == case.lang
    return out


def smalltalk_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """A greeting / thanks: answered, with the smalltalk intent and no citations."""
    if case.kind != "smalltalk":
        return {}
    return {
        "intent_ok": answer.get("intent") == case.expect.get("intent", "smalltalk"),
        "no_citations": not answer.get("citations"),
    }


def topic_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """Topic sets: recall over the required tasks, precision over required ∪ also_ok, of
    the cited / listed task set (citations made for a collective unit, `via`, left out).
    An empty list is precision 1 (as for unit lists); its recall is 0."""
    if case.kind != "topic":
        return {}
    required, acceptable = topic_sets(case)
    got = listed_tasks(answer)
    recall = len(got & required) / len(required) if required else 1.0
    precision = len(got & acceptable) / len(got) if got else 1.0
    return {
        "topical_recall": recall,
        "topical_precision": precision,
        "missing_tasks": sorted(required - got) or None,
        "extra_tasks": sorted(got - acceptable) or None,
    }


def must_contain_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    wanted = case.expect.get("must_contain")
    if not wanted:
        return {"must_contain": None}
    text = nows(answer.get("answer", ""))
    missing = [s for s in wanted if nows(s) not in text]
    return {"must_contain": not missing, "missing": missing or None}


# ---- task → units ----
def task_units_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """Exact-set accuracy of the units stated for the asked role.

    The units the answer states are read from its citation(s) of the asked task;
    each gold unit must also be named in the answer text.
    """
    if case.kind != "task_units":
        return {}
    e = case.expect
    task = gold.task(e["plan_id"], e["task_number"])
    assert task is not None
    cites = [
        c
        for c in citations(answer)
        if c.get("plan_id") == e["plan_id"] and c.get("task_number") == e["task_number"]
    ]
    out: dict[str, Any] = {"task_cited": bool(cites), "lead_exact": None, "responsible_exact": None}
    roles = ("lead", "responsible") if e["role"] == "any" else (e["role"],)
    stated: dict[str, list[str]] = {}
    for role in roles:
        got = {u for c in cites for u in (c.get(role) or [])}
        want = set(task[role])
        named = all(mentions(gold, u, answer.get("answer", "")) for u in want)
        out[f"{role}_exact"] = bool(cites) and got == want and named
        stated[role] = sorted(got)
        if not named:
            out[f"{role}_not_named"] = sorted(
                u for u in want if not mentions(gold, u, answer.get("answer", ""))
            )
    out["units_exact"] = all(out[f"{r}_exact"] for r in roles)
    out["stated"] = stated
    return out


# ---- unit → tasks ----
def unit_tasks_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """Precision / recall / exact match of the cited task list vs the gold (overall, per plan)."""
    if case.kind != "unit_tasks":
        return {}
    e = case.expect
    want = gold.tasks_for_unit(e["unit"], e["plan_id"], e["role"])
    role_parts = [gold.tasks_for_unit(e["unit"], e["plan_id"], r) for r in ("lead", "responsible")]
    role_parts = role_parts if e["role"] == "any" else [want]
    got = set(cited_tasks(answer, include_via=False))
    hit = got & want
    plans = sorted({p for p, _ in want | got} | ({e["plan_id"]} if e["plan_id"] else set()))
    per_plan = {p: {n for q, n in got if q == p} == {n for q, n in want if q == p} for p in plans}
    return {
        "task_precision": len(hit) / len(got) if got else 1.0,
        "task_recall": len(hit) / len(want) if want else 1.0,
        "tasks_exact": got == want,
        "tasks_exact_per_plan": per_plan,
        "missing_tasks": sorted(want - got) or None,
        "extra_tasks": sorted(got - want) or None,
        **count_metrics(answer, want, role_parts),
    }


NONE_RE = re.compile(r"没有[^。；，\n]{0,14}任务|\b(leads|is \S+ in) no task")


def stated_counts(text: str) -> set[int]:
    """Counts the answer states: '共N项' if present, otherwise any 'N项' not preceded by 第
    (in the answer's own words: the plan text quoted in a numbered item is left out)."""
    text = ITEM_TEXT_RE.sub(r"\1", text or "")
    t = nows(text)
    found = COUNT_TOTAL_RE.findall(t) or COUNT_ANY_RE.findall(t)
    english = {int(n) for n in COUNT_EN_RE.findall(text or "")}
    zero = {0} if NONE_RE.search(t) else set()  # "没有牵头的任务" states a count of 0
    return {n for s in found if (n := cn_number(s)) is not None} | english | zero


def count_metrics(
    answer: Answer, want: set[Key], parts: list[set[Key]] | None = None
) -> dict[str, Any]:
    """A count stated in the answer vs the true count; None if none is stated.

    Right when the answer states the total, or every non-zero part of a breakdown:
    per plan, or per role (牵头 / 责任) within each plan, as `parts` gives them.
    """
    stated = stated_counts(answer.get("answer", ""))
    if not stated:
        return {"count_stated": None, "count_ok": None}
    plans = sorted({p for p, _ in want})

    def by_plan(keys: set[Key]) -> list[set[Key]]:
        return [{k for k in keys if k[0] == p} for p in plans]

    roles = parts or [want]
    breakdowns = [by_plan(want), roles, [x for r in roles for x in by_plan(r)]]
    ok = len(want) in stated or any(
        any(b) and all(len(x) in stated for x in b if x) for b in breakdowns
    )
    return {"count_stated": sorted(stated), "count_ok": ok}


# ---- retrieval ----
def retrieval_metrics(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """recall@k = |gold ∩ top-k| / min(|gold|, k) for k=1, 5, and MRR, over cited tasks."""
    want = {(p, n) for p, nums in expected_task_map(case).items() for n in nums}
    if not want:
        return {}
    ranked = cited_tasks(answer)
    first = next((i for i, k in enumerate(ranked, 1) if k in want), None)
    out = {f"recall@{k}": len(want & set(ranked[:k])) / min(len(want), k) for k in (1, 5)}
    out["mrr"] = 1.0 / first if first else 0.0
    out["recall_all"] = len(want & set(ranked)) / len(want)
    # Text recall: the gold task's words are in one of the top-5 cited passages. Fair to a
    # system that cannot name task numbers (the baseline's chunks hold several tasks).
    passages = [nows(c.get("quote", "")) for c in citations(answer)[:5]]
    found = sum(
        1
        for key in want
        if (t := gold.tasks.get(key)) and any(nows(t["text"])[:24] in p for p in passages)
    )
    out["text_recall@5"] = min(found, 5) / min(len(want), 5)  # 5 passages: at most 5 hits
    return out


# ---- citation precision ----
def expected_plans(case: Case, gold: Gold) -> set[str] | None:
    e = case.expect
    if case.kind in ("not_covered", "out_of_scope", "topic", "smalltalk"):
        return None  # topic: its precision is `topical_precision`
    if case.kind == "unit_tasks":
        if e["plan_id"]:
            return {e["plan_id"]}
        return {p for p, _ in gold.tasks_for_unit(e["unit"], None, "any")} or set(gold.plan_ids)
    if case.kind in ("applies", "compare", "task_units"):
        return set(expected_task_map(case))
    return {e["plan_id"]}


def citation_precision(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """Share of citations in the expected plan(s) and, for task questions, naming a gold task."""
    cites = citations(answer)
    plans = expected_plans(case, gold)
    if not cites or plans is None:
        return {"citation_precision": None}
    e = case.expect
    allowed: set[Key] | None = None
    if case.kind == "task_units":
        allowed = {(e["plan_id"], e["task_number"])}
    elif case.kind == "unit_tasks":
        allowed = gold.tasks_for_unit(e["unit"], e["plan_id"], e["role"])
    bad = []
    for c in cites:
        ok = c.get("plan_id") in plans
        if ok and c.get("via") and c.get("task_number") is not None:
            # cited for a collective unit: right only if the gold task names that collective
            task = gold.tasks.get((c["plan_id"], int(c["task_number"])))
            ok = task is not None and c["via"] in task["responsible"]
        elif ok and allowed is not None and c.get("task_number") is not None:
            ok = (c["plan_id"], c["task_number"]) in allowed
        if not ok:
            bad.append(f"{c.get('plan_id')}#{c.get('task_number')}")
    return {"citation_precision": 1 - len(bad) / len(cites), "bad_citations": bad or None}


# ---- unsupported claims ----
ORDINAL_RE = re.compile(r"(?m)^\s*\d{1,3}\.\s")

def _group_sizes(lines: list[str]) -> set[int]:
    """The number of items in each numbered list of the answer (a heading line starts a new
    one; the indented lines under an item belong to it)."""
    sizes, run = set(), 0
    for ln in lines:
        if re.match(r"\d+\. ", ln):
            run += 1
        elif not ln.startswith((" ", "\t", "↔")) and ln.strip():
            if run:
                sizes.add(run)
            run = 0
    if run:
        sizes.add(run)
    return sizes


def derivable_counts(cites: list[dict[str, Any]]) -> set[int]:
    """Counts one can read off the citations: tasks overall / per plan / per unit and role."""
    rows: dict[Key, dict[str, Any]] = {}
    for c in cites:
        if c.get("task_number") is not None:
            rows.setdefault((c["plan_id"], int(c["task_number"])), c)
    counts = {len(rows), len(cites)}
    units = {
        u for c in rows.values() for u in (*(c.get("lead") or []), *(c.get("responsible") or []))
    }
    for plan in {None, *(p for p, _ in rows)}:
        scoped = [c for (p, _), c in rows.items() if plan in (None, p)]
        counts.add(len(scoped))
        for u in units:
            for roles in (("lead",), ("responsible",), ("lead", "responsible")):
                counts.add(sum(1 for c in scoped if any(u in (c.get(r) or []) for r in roles)))
    return counts


def unsupported_claims(case: Case, answer: Answer, gold: Gold) -> dict[str, Any]:
    """Unit names and numbers in the answer that no citation supports.

    A unit is supported when a citation lists it as lead/responsible or its
    printed name appears in a citation quote. The unit a unit→tasks question asks
    about is the subject the user named, not a claim: "县交通局没有牵头的任务" names it
    with nothing to cite, and its support is the complete task table. A number is supported when it is a
    cited task number, appears in a quote/section/title, or counts cited tasks or the
    answer's own list items.
    """
    text = MARKER_RE.sub(" ", answer.get("answer", "") or "")
    text = ORDINAL_RE.sub("", text)  # a list item's "1. " is structure, not a claim
    cites = citations(answer)
    sources = [
        nows(" ".join([c.get("quote", ""), c.get("section", ""), c.get("plan_title", "")]))
        for c in cites
    ]
    cited_units = {
        u for c in cites for u in (*(c.get("lead") or []), *(c.get("responsible") or []))
    }
    units: list[str] = []
    subject = case.expect.get("unit") if case.kind == "unit_tasks" else None
    if gold.registry is not None:
        plan_ids = (
            {c["plan_id"] for c in cites if c.get("plan_id")}
            or set(answer.get("plan_ids") or [])
            or None
        )
        flat = nows(text)
        for u in dict.fromkeys(x.name for x in gold.registry.find_in_text(flat, plan_ids)):
            surfaces = [a for a in gold.aliases(u) if len(a) >= 2 and a in flat]
            if u == subject or u in cited_units or any(a in s for a in surfaces for s in sources):
                continue
            if any(
                v.name in cited_units for a in surfaces for v in gold.registry.resolve(a, plan_ids)
            ):
                continue
            units.append(u)
    tasks = cited_tasks(answer)
    counts = derivable_counts(cites)
    # "共 3 条" over three listed items is checkable by the reader whatever the passages
    lines = (answer.get("answer", "") or "").splitlines()
    counts.add(sum(1 for ln in lines if re.match(r"\s*(- |\d+\. )", ln)))
    counts.add(sum(1 for ln in lines if re.match(r"\s*- ", ln)))
    counts |= _group_sizes(lines)  # "仅B县有（8 项）：" over the eight items listed under it
    numbers: list[str] = []
    for m in NUMBER_RE.finditer(nows(text)):
        n = int(m.group())
        if n in counts or any(n == k[1] for k in tasks):
            continue
        if any(re.search(rf"(?<!\d){n}(?!\d)", s) for s in sources):
            continue
        numbers.append(m.group())
    numbers = list(dict.fromkeys(numbers))
    return {
        "unsupported": len(units) + len(numbers),
        "unsupported_units": units or None,
        "unsupported_numbers": numbers or None,
    }
