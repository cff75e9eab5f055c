"""Run cases through an answer function, score them, aggregate, check thresholds."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .cases import EVALS_DIR, Case, Gold
from .metrics import (
    citation_precision,
    must_contain_metrics,
    retrieval_metrics,
    smalltalk_metrics,
    status_metrics,
    task_units_metrics,
    topic_metrics,
    unit_tasks_metrics,
    unsupported_claims,
)
from .rendered import rendered_metrics

AnswerFn = Callable[[list[dict[str, str]], str | None], dict[str, Any]]
THRESHOLDS_FILE = EVALS_DIR / "thresholds.json"

# metric name in the summary → (per-case key, how to aggregate)
AGGREGATES: dict[str, tuple[str, str]] = {
    "accuracy": ("pass", "mean"),
    "status_acc": ("status_ok", "mean"),
    "lead_exact": ("lead_exact", "mean"),
    "responsible_exact": ("responsible_exact", "mean"),
    "units_exact": ("units_exact", "mean"),
    "task_precision": ("task_precision", "mean"),
    "task_recall": ("task_recall", "mean"),
    "tasks_exact": ("tasks_exact", "mean"),
    "count_ok": ("count_ok", "mean"),
    "recall@1": ("recall@1", "mean"),
    "recall@5": ("recall@5", "mean"),
    "text_recall@5": ("text_recall@5", "mean"),
    "mrr": ("mrr", "mean"),
    "citation_precision": ("citation_precision", "mean"),
    "must_contain": ("must_contain", "mean"),
    "topical_recall": ("topical_recall", "mean"),
    "topical_precision": ("topical_precision", "mean"),
    "intent_acc": ("intent_ok", "mean"),
    "lang_acc": ("lang_ok", "mean"),
    "rendered_accuracy": ("rendered_ok", "mean"),
    "text_ok": ("text_ok", "mean"),
    "items_shown": ("items_shown", "mean"),
    "quotes_in_source": ("quotes_ok", "mean"),
    "checks_ok": ("checks_ok", "mean"),
    "lines_dropped_total": ("lines_dropped", "sum"),
    "rendered_count_ok": ("rendered_count_ok", "mean"),
    "topk_ceiling": ("topk_ceiling", "mean"),
    "unsupported_rate": ("unsupported", "rate"),
    "unsupported_total": ("unsupported", "sum"),
    "latency_ms_mean": ("latency_ms", "mean"),
    "latency_ms_p95": ("latency_ms", "p95"),
}


def case_pass(case: Case, m: dict[str, Any]) -> bool:
    """One yes/no per case: the number the per-kind accuracy averages."""
    if not m.get("status_ok"):
        return False
    if case.kind == "task_units":
        return bool(m.get("units_exact"))
    if case.kind == "unit_tasks":
        return bool(m.get("tasks_exact"))
    if case.kind == "applies":
        return m.get("recall@5") == 1.0
    if case.kind == "compare":
        return m.get("recall_all") == 1.0
    if case.kind == "plan_facts":
        return bool(m.get("must_contain"))
    if case.kind == "topic":
        return m.get("topical_recall") == 1.0 and (m.get("topical_precision") or 0) >= 0.9
    if case.kind == "smalltalk":
        return bool(m.get("intent_ok")) and bool(m.get("no_citations"))
    return True


METRICS = (
    status_metrics,
    must_contain_metrics,
    task_units_metrics,
    unit_tasks_metrics,
    topic_metrics,
    smalltalk_metrics,
    retrieval_metrics,
    citation_precision,
    unsupported_claims,
)


def topk_ceiling(case: Case, answer: dict[str, Any], gold: Gold) -> dict[str, Any]:
    """Retrieval-only systems (the baselines, intent `retrieval`), list questions: the share
    of the expected set whose task text is in a top-5 passage at all — the most a top-k
    retriever can give, however its passages are read."""
    if answer.get("intent") != "retrieval" or case.kind not in ("unit_tasks", "topic"):
        return {}
    from .metrics import citations, nows
    from .rendered import expected_keys

    want = expected_keys(case, gold)
    if not want:
        return {}
    passages = [nows(c.get("quote", "")) for c in citations(answer)[:5]]
    reach = sum(
        1
        for key in want
        if (t := gold.tasks.get(key)) and any(nows(t["text"])[:24] in p for p in passages)
    )
    return {"topk_ceiling": reach / len(want)}


def score_case(case: Case, answer: dict[str, Any], gold: Gold) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fn in METRICS:
        out |= fn(case, answer, gold)
    out["pass"] = case_pass(case, out)
    out |= topk_ceiling(case, answer, gold)
    if gold.sources is not None:
        out |= rendered_metrics(case, answer, gold, gold.sources, out)
    return out


ERROR_ANSWER: dict[str, Any] = {"answer": "", "status": "error", "citations": []}


def ask_messages(
    answer_fn: AnswerFn, messages: list[dict[str, str]], plan_id: str | None
) -> tuple[dict[str, Any], float, str | None]:
    """One call: (answer, ms, error); a crash is a failed item, not a failed run."""
    started = time.perf_counter()
    try:
        answer = answer_fn(list(messages), plan_id)
    except Exception as exc:
        return (
            dict(ERROR_ANSWER),
            (time.perf_counter() - started) * 1000,
            (f"{type(exc).__name__}: {exc}"),
        )
    return answer, (time.perf_counter() - started) * 1000, None


def ask(
    answer_fn: AnswerFn, case: Case
) -> tuple[dict[str, Any], float, float, str | None, list[dict[str, str]]]:
    """Feed the turns one by one, appending each answer as the assistant message;
    returns (final answer, final-turn ms, all-turns ms, error, transcript)."""
    messages: list[dict[str, str]] = []
    answer: dict[str, Any] = {}
    last_ms = total_ms = 0.0
    for turn in case.turns:
        messages.append({"role": "user", "content": turn})
        answer, last_ms, error = ask_messages(answer_fn, messages, case.plan_id)
        total_ms += last_ms
        if error:
            return answer, last_ms, total_ms, error, messages
        messages.append({"role": "assistant", "content": answer.get("answer", "")})
    return answer, last_ms, total_ms, None, messages


def brief_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """What the report keeps of an answer."""
    out = {
        "answer": answer.get("answer", ""),
        "status": answer.get("status"),
        "intent": answer.get("intent"),
        "citations": [
            {
                k: c.get(k)
                for k in ("marker", "plan_id", "task_number", "lead", "responsible", "via")
            }
            for c in answer.get("citations") or []
        ],
        "suggestions": list(answer.get("suggestions") or []),
    }
    for key in ("lang", "checks"):
        if key in answer:
            out[key] = answer[key]
    return out


def cited_set(answer: dict[str, Any]) -> list[list[Any]]:
    """The cited (plan, task) set, sorted: what consistency compares."""
    return sorted(
        [c["plan_id"], int(c["task_number"])]
        for c in {
            (c.get("plan_id"), c.get("task_number")): c
            for c in answer.get("citations") or []
            if c.get("task_number") is not None
        }.values()
    )


def run_cases(
    cases: Iterable[Case],
    answer_fn: AnswerFn,
    gold: Gold,
    progress: Callable[[int, Case], None] | None = None,
    keep_transcripts: bool = False,
) -> list[dict[str, Any]]:
    """One result per case. With keep_transcripts, `_messages` holds the conversation
    (with the assistant's replies) for the suites that continue it; drop it before saving."""
    results = []
    for i, case in enumerate(cases):
        if progress:
            progress(i, case)
        answer, ms, total, error, messages = ask(answer_fn, case)
        metrics = score_case(case, answer, gold)
        metrics |= {"latency_ms": round(ms, 1), "latency_total_ms": round(total, 1)}
        result = {
            "id": case.id,
            "set": case.set,
            "kind": case.kind,
            "group": group_kind(case),
            "pooled": case.pooled,
            "turns": list(case.turns),
            "plan_id": case.plan_id,
            "expect": case.expect,
            "tags": list(case.tags),
            "lang": case.lang,
            "got": brief_answer(answer),
            "cited": cited_set(answer),
            "metrics": metrics,
            "error": error,
        }
        if keep_transcripts:
            result["_messages"] = messages
        results.append(result)
    return results


def group_kind(case: Case) -> str:
    return f"gen_{case.kind}" if case.generated else case.kind


def _aggregate(values: list[Any], how: str) -> float | None:
    if how == "rate":
        vals = [v for v in values if v is not None]
        return sum(1 for v in vals if v) / len(vals) if vals else None
    nums = [float(v) for v in values if v is not None]
    if not nums:
        return None
    if how == "sum":
        return sum(nums)
    if how == "p95":
        nums.sort()
        return nums[min(len(nums) - 1, math.ceil(0.95 * len(nums)) - 1)]
    return sum(nums) / len(nums)


def summarize(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Aggregates per group: all, handwritten, generated, kind/<kind> over the pooled
    question sets; set/<name> for every set (suites too: set/topics, set/conv_…)."""
    pooled = [r for r in results if r.get("pooled", True)]
    groups: dict[str, list[dict[str, Any]]] = {"all": pooled} if pooled else {}
    for r in results:
        if r.get("pooled", True):
            groups.setdefault(
                "generated" if r["set"].startswith("gen_") else "handwritten", []
            ).append(r)
            groups.setdefault(f"kind/{r['group']}", []).append(r)
        groups.setdefault(f"set/{r['set']}", []).append(r)
    return {name: aggregate_row(rs) for name, rs in groups.items()}


def aggregate_row(rs: list[dict[str, Any]]) -> dict[str, Any]:
    row: dict[str, Any] = {"n": len(rs)}
    for metric, (key, how) in AGGREGATES.items():
        value = _aggregate([r["metrics"].get(key) for r in rs], how)
        if value is not None:
            row[metric] = round(value, 4)
    return row


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, dict[str, Any]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text("utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def enforced(bound: dict[str, Any]) -> bool:
    """Plain entries are enforced; a `"target": true` entry only once `"enforce": true`."""
    return not bound.get("target") or bool(bound.get("enforce"))


def _misses(
    summary: dict[str, dict[str, Any]], thresholds: dict[str, dict[str, Any]], want_enforced: bool
) -> list[str]:
    out = []
    for key, bound in thresholds.items():
        if enforced(bound) != want_enforced:
            continue
        group, _, metric = key.rpartition(".")
        if group not in summary:
            continue
        value = summary[group].get(metric)
        if value is None:
            continue
        if "min" in bound and value < bound["min"]:
            out.append(f"{key} = {value:.4g}，低于阈值 {bound['min']}")
        if "max" in bound and value > bound["max"]:
            out.append(f"{key} = {value:.4g}，高于阈值 {bound['max']}")
    return out


def check_thresholds(
    summary: dict[str, dict[str, Any]], thresholds: dict[str, dict[str, Any]]
) -> list[str]:
    """A message per enforced metric under its min / over its max (groups or metrics not in
    this run are skipped): these fail the run and the CI test."""
    return _misses(summary, thresholds, True)


def target_gaps(
    summary: dict[str, dict[str, Any]], thresholds: dict[str, dict[str, Any]]
) -> list[str]:
    """The same for target entries not yet enforced: reported as gaps, never failing."""
    return _misses(summary, thresholds, False)


def failing(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases that failed their verdict, made an unsupported claim, or whose text fails
    the rendered-text checks."""
    return [
        r
        for r in results
        if not r["metrics"].get("pass")
        or r["metrics"].get("unsupported")
        or r["metrics"].get("text_ok") is False
    ]
