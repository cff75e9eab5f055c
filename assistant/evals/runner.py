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
    status_metrics,
    task_units_metrics,
    unit_tasks_metrics,
    unsupported_claims,
)

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
    return True


METRICS = (
    status_metrics,
    must_contain_metrics,
    task_units_metrics,
    unit_tasks_metrics,
    retrieval_metrics,
    citation_precision,
    unsupported_claims,
)


def score_case(case: Case, answer: dict[str, Any], gold: Gold) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fn in METRICS:
        out |= fn(case, answer, gold)
    out["pass"] = case_pass(case, out)
    return out


def ask(answer_fn: AnswerFn, case: Case) -> tuple[dict[str, Any], float, float, str | None]:
    """Feed the turns one by one; returns (final answer, final-turn ms, all-turns ms, error)."""
    messages: list[dict[str, str]] = []
    answer: dict[str, Any] = {}
    last_ms = total_ms = 0.0
    for turn in case.turns:
        messages.append({"role": "user", "content": turn})
        started = time.perf_counter()
        try:
            answer = answer_fn(list(messages), case.plan_id)
        except Exception as exc:  # a crash is a failed case, not a failed run
            ms = (time.perf_counter() - started) * 1000
            return (
                {"answer": "", "status": "error", "citations": []},
                ms,
                total_ms + ms,
                f"{type(exc).__name__}: {exc}",
            )
        last_ms = (time.perf_counter() - started) * 1000
        total_ms += last_ms
        messages.append({"role": "assistant", "content": answer.get("answer", "")})
    return answer, last_ms, total_ms, None


def brief_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """What the report keeps of an answer."""
    return {
        "answer": answer.get("answer", ""),
        "status": answer.get("status"),
        "intent": answer.get("intent"),
        "citations": [
            {k: c.get(k) for k in ("marker", "plan_id", "task_number", "lead", "responsible")}
            for c in answer.get("citations") or []
        ],
    }


def run_cases(
    cases: Iterable[Case],
    answer_fn: AnswerFn,
    gold: Gold,
    progress: Callable[[int, Case], None] | None = None,
) -> list[dict[str, Any]]:
    results = []
    for i, case in enumerate(cases):
        if progress:
            progress(i, case)
        answer, ms, total, error = ask(answer_fn, case)
        metrics = score_case(case, answer, gold)
        metrics |= {"latency_ms": round(ms, 1), "latency_total_ms": round(total, 1)}
        results.append(
            {
                "id": case.id,
                "set": case.set,
                "kind": case.kind,
                "group": group_kind(case),
                "turns": list(case.turns),
                "plan_id": case.plan_id,
                "expect": case.expect,
                "tags": list(case.tags),
                "got": brief_answer(answer),
                "metrics": metrics,
                "error": error,
            }
        )
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
    """Aggregates per group: all, handwritten, generated, set/<name>, kind/<kind>."""
    groups: dict[str, list[dict[str, Any]]] = {"all": results}
    for r in results:
        groups.setdefault("generated" if r["set"].startswith("gen_") else "handwritten", []).append(
            r
        )
        groups.setdefault(f"set/{r['set']}", []).append(r)
        groups.setdefault(f"kind/{r['group']}", []).append(r)
    out = {}
    for name, rs in groups.items():
        row: dict[str, Any] = {"n": len(rs)}
        for metric, (key, how) in AGGREGATES.items():
            value = _aggregate([r["metrics"].get(key) for r in rs], how)
            if value is not None:
                row[metric] = round(value, 4)
        out[name] = row
    return out


def load_thresholds(path: Path = THRESHOLDS_FILE) -> dict[str, dict[str, float]]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text("utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def check_thresholds(
    summary: dict[str, dict[str, Any]], thresholds: dict[str, dict[str, float]]
) -> list[str]:
    """A message per metric under its min / over its max (groups not in this run are skipped)."""
    failures = []
    for key, bound in thresholds.items():
        group, _, metric = key.rpartition(".")
        if group not in summary:
            continue
        value = summary[group].get(metric)
        if value is None:
            continue
        if "min" in bound and value < bound["min"]:
            failures.append(f"{key} = {value:.4g}，低于阈值 {bound['min']}")
        if "max" in bound and value > bound["max"]:
            failures.append(f"{key} = {value:.4g}，高于阈值 {bound['max']}")
    return failures


def failing(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cases that failed their verdict or made an unsupported claim."""
    return [r for r in results if not r["metrics"].get("pass") or r["metrics"].get("unsupported")]
