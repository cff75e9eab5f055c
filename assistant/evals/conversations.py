"""Conversation suites: topic switches, ellipsis follow-ups, suggestion following.

- switch: for a deterministic sample of pairs (A, B) of self-contained single-turn cases
  of different kinds (same pinned plan, or none), ask [A, answer to A, B]; B must get
  the same status and cite the same (plan, task) set as B asked alone
  (`switch_consistency`). Earlier answers come from the main run, so a pair is one call.
- ellipsis: hand-written follow-ups (evals/conversations/ellipsis.jsonl, set
  `conv_ellipsis`) with expectations from the gold, run and scored as ordinary cases.
- suggestions: every suggestion of every answer in the run is asked as the next turn
  (conversation + the assistant's reply + the suggestion). It must be answered (status
  answered, non-empty text); a suggestion asking who leads / is responsible for task N,
  or which tasks a unit leads / supports, is also scored against the gold
  (`suggestion_following`). Role words: evals/conversations/suggestions.toml.
"""

from __future__ import annotations

import random
import tomllib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .cases import CONVERSATIONS_DIR, Case, Gold
from .metrics import nows, task_units_metrics, unit_tasks_metrics
from .rendered import ref_numbers

SUGGESTIONS_FILE = CONVERSATIONS_DIR / "suggestions.toml"
SWITCH_SEED = 20261130

Item = dict[str, Any]
AskFn = Callable[[list[dict[str, str]], str | None], tuple[dict[str, Any], float, str | None]]


# ---- switches ----
def switch_pairs(
    cases: Iterable[Case], n: int | None, seed: int = SWITCH_SEED
) -> list[tuple[Case, Case]]:
    """Pairs (A, B), A ≠ B in kind, same pin; each case is A at most once (deterministic)."""
    pool = sorted(
        (c for c in cases if len(c.turns) == 1 and c.pooled and not c.blind), key=lambda c: c.id
    )
    random.Random(seed).shuffle(pool)
    pairs: list[tuple[Case, Case]] = []
    for i, a in enumerate(pool):
        for j in range(1, len(pool)):
            b = pool[(i + j) % len(pool)]
            if b.kind != a.kind and b.plan_id == a.plan_id:
                pairs.append((a, b))
                break
        if n is not None and len(pairs) >= n:
            break
    return pairs


# ---- suggestions ----
def load_role_words(path: Path = SUGGESTIONS_FILE) -> dict[str, list[str]]:
    roles = tomllib.loads(path.read_text("utf-8")).get("roles") or {}
    return {k: [w.lower() for w in v] for k, v in roles.items()}


def role_of(text: str, words: dict[str, list[str]]) -> str | None:
    t = text.lower()
    lead = any(w in t for w in words.get("lead", []))
    resp = any(w in t for w in words.get("responsible", []))
    if lead and resp:
        return "any"
    return "lead" if lead else "responsible" if resp else None


def suggestion_check(
    suggestion: str,
    previous: dict[str, Any],
    pinned: str | None,
    gold: Gold,
    words: dict[str, list[str]],
) -> dict[str, Any] | None:
    """What gold check a suggestion calls for: {"kind", "role", "plans", ("number"|"unit")};
    None when it asks neither who handles task N nor what a unit handles."""
    role = role_of(suggestion, words)
    if role is None:
        return None
    sources = gold.sources
    named = sorted(sources.plans_named(suggestion)) if sources is not None else []
    cited = [c["plan_id"] for c in previous.get("citations") or [] if c.get("task_number") is not None]
    context = list(dict.fromkeys(cited)) or ([pinned] if pinned else []) or gold.plan_ids
    numbers = ref_numbers(suggestion)
    if len(numbers) == 1:
        return {"kind": "task_units", "role": role, "number": numbers[0], "plans": named or context}
    if numbers or gold.registry is None:
        return None
    units = gold.registry.find_in_text(nows(suggestion), set(named or gold.plan_ids))
    if not units:
        return None
    scopes: list[str | None] = list(named) or [*dict.fromkeys(cited), None]
    if pinned and not named:
        scopes = [pinned]
    return {"kind": "unit_tasks", "role": role, "unit": units[0].name, "plans": scopes}


def gold_follows(check: dict[str, Any], answer: dict[str, Any], gold: Gold) -> bool:
    """The answer is right for one of the plans the suggestion can mean."""
    for plan in check["plans"]:
        if check["kind"] == "task_units":
            if plan is None or gold.task(plan, check["number"]) is None:
                continue
            expect = {"plan_id": plan, "task_number": check["number"], "role": check["role"]}
            case = Case("suggestion", "task_units", ("",), None, {"status": "answered", **expect})
            if task_units_metrics(case, answer, gold).get("units_exact"):
                return True
        else:
            expect = {"unit": check["unit"], "plan_id": plan, "role": check["role"]}
            case = Case("suggestion", "unit_tasks", ("",), None, {"status": "answered", **expect})
            if unit_tasks_metrics(case, answer, gold).get("tasks_exact"):
                return True
    return False


def suggestion_items(
    results: list[dict[str, Any]], limit: int | None
) -> list[tuple[dict[str, Any], int, str]]:
    """(result, index, suggestion) for every suggestion of every answer (blind sets left out);
    with a limit, a deterministic sample."""
    items = [
        (r, i, s)
        for r in results
        if not r.get("error") and not r["set"].startswith("blind")
        for i, s in enumerate(r["got"].get("suggestions") or [])
        if isinstance(s, str) and s.strip()
    ]
    if limit is not None and len(items) > limit:
        rng = random.Random(SWITCH_SEED)
        items = sorted(rng.sample(items, limit), key=lambda x: (x[0]["id"], x[1]))
    return items


def answered(answer: dict[str, Any]) -> bool:
    return answer.get("status") == "answered" and bool((answer.get("answer") or "").strip())
