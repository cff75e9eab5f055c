"""Run the suites that build on the main run: switches, suggestions, perturbations.

Which suites run and how much they sample is a `SuiteConfig`; the sizes are chosen so
that the full eval (ours) stays within a few minutes on 2 cores. Every sample is
deterministic (fixed seed / stable hash), and the counts are reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .cases import Case, Gold
from .conversations import (
    answered,
    gold_follows,
    load_role_words,
    suggestion_check,
    suggestion_items,
    switch_pairs,
)
from .perturb import KINDS as PERTURBATION_KINDS
from .perturb import consistent, load_wrappers, perturbation_cases, variants
from .runner import AnswerFn, ask_messages, brief_answer, cited_set, run_cases

SUITES = ("switch", "ellipsis", "suggestions", "perturbations")
SUITE_ALIASES = {
    "suites": SUITES,
    "conversations": ("switch", "ellipsis"),
    "switch": ("switch",),
    "ellipsis": ("ellipsis",),
    "suggestions": ("suggestions",),
    "perturbations": ("perturbations",),
}


@dataclass(frozen=True)
class SuiteConfig:
    suites: tuple[str, ...] = SUITES
    switch_pairs: int | None = 150
    perturb_generated: int | None = 60  # hand-written single-turn cases are all perturbed
    perturb_topics: int | None = 30
    suggestions: int | None = None  # None: every suggestion of every answer

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Progress = Callable[[str, int], Any]  # (label, total) -> tick(i, item)


@dataclass
class SuiteRun:
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def run_suites(
    cases: list[Case],
    results: list[dict[str, Any]],
    answer_fn: AnswerFn,
    gold: Gold,
    config: SuiteConfig,
    progress: Progress,
) -> SuiteRun:
    """`results` is the main run of `cases` with transcripts (`_messages`)."""
    run = SuiteRun()
    by_id = {r["id"]: r for r in results}
    if "switch" in config.suites:
        pairs = [(a, b) for a, b in switch_pairs(cases, config.switch_pairs) if a.id in by_id]
        tick = progress("switch", len(pairs))
        items = []
        for i, (a, b) in enumerate(pairs):
            tick(i, b)
            ra, rb = by_id[a.id], by_id[b.id]
            messages = [*ra["_messages"], {"role": "user", "content": b.question}]
            answer, ms, error = ask_messages(answer_fn, messages, b.plan_id)
            got = {"got": brief_answer(answer), "cited": cited_set(answer)}
            items.append(
                {
                    "id": f"{a.id}→{b.id}",
                    "kind": b.kind,
                    "turns": [a.question, b.question],
                    "plan_id": b.plan_id,
                    "reference": {"status": rb["got"]["status"], "cited": rb["cited"]},
                    **got,
                    "ok": consistent(rb, got) and not error,
                    "error": error,
                    "latency_ms": round(ms, 1),
                }
            )
        run.items["switch"] = items
        run.counts["switch_pairs"] = len(items)
    if "ellipsis" in config.suites:
        run.counts["ellipsis"] = sum(1 for r in results if r["set"] == "conv_ellipsis")
    if "suggestions" in config.suites:
        words = load_role_words()
        todo = suggestion_items(results, config.suggestions)
        tick = progress("suggestions", len(todo))
        items = []
        for i, (r, j, text) in enumerate(todo):
            tick(i, None)
            messages = [*r["_messages"], {"role": "user", "content": text}]
            answer, ms, error = ask_messages(answer_fn, messages, r["plan_id"])
            check = suggestion_check(text, r["got"], r["plan_id"], gold, words)
            is_answered = answered(answer) and not error
            gold_ok = gold_follows(check, answer, gold) if check else None
            items.append(
                {
                    "id": f"{r['id']}>s{j + 1}",
                    "turns": [*(m["content"] for m in r["_messages"] if m["role"] == "user"), text],
                    "plan_id": r["plan_id"],
                    "suggestion": text,
                    "check": check,
                    "got": brief_answer(answer),
                    "answered": is_answered,
                    "gold_ok": gold_ok,
                    "ok": is_answered and gold_ok is not False,
                    "error": error,
                    "latency_ms": round(ms, 1),
                }
            )
        run.items["suggestions"] = items
        run.counts["suggestions"] = len(items)
        run.counts["suggestions_gold_checked"] = sum(1 for x in items if x["check"])
    if "perturbations" in config.suites:
        wrappers = load_wrappers()
        base = [
            c
            for c in perturbation_cases(cases, config.perturb_generated, config.perturb_topics)
            if c.id in by_id
        ]
        perturbed = [(c, kind, v) for c in base for kind, v in variants(c, wrappers)]
        tick = progress("perturbations", len(perturbed))
        items = []
        for i, (c, kind, v) in enumerate(perturbed):
            tick(i, v)
            (res,) = run_cases([v], answer_fn, gold)
            ref = by_id[c.id]
            res |= {
                "perturbation": kind,
                "original_id": c.id,
                "original_turns": list(c.turns),
                "reference": {"status": ref["got"]["status"], "cited": ref["cited"]},
                "ok": consistent(ref, res) and not res.get("error"),
            }
            items.append(res)
        run.items["perturbations"] = items
        run.counts["perturbation_cases"] = len(base)
        run.counts["perturbation_variants"] = len(items)
    return run


def _mean(values: list[Any]) -> float | None:
    vals = [float(bool(v)) for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def summarize_suites(run: SuiteRun, ours: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Suite groups for the summary (merged into ours' summary; threshold keys use them)."""
    out: dict[str, dict[str, Any]] = {}
    switch = run.items.get("switch")
    if switch is not None:
        out["suite/switch"] = {
            "n": len(switch),
            "switch_consistency": _mean([x["ok"] for x in switch]),
        }
    ellipsis = ours.get("set/conv_ellipsis")
    if ellipsis is not None:
        out["suite/ellipsis"] = {"n": ellipsis["n"], "ellipsis_accuracy": ellipsis.get("accuracy")}
    if switch is not None or ellipsis is not None:
        n_sw, n_el = len(switch or []), (ellipsis or {}).get("n", 0)
        ok = sum(1 for x in switch or [] if x["ok"]) + (ellipsis or {}).get("accuracy", 0) * n_el
        out["suite/conversations"] = {
            "n": n_sw + n_el,
            "accuracy": round(ok / (n_sw + n_el), 4) if n_sw + n_el else None,
            "switch_consistency": out.get("suite/switch", {}).get("switch_consistency"),
            "ellipsis_accuracy": out.get("suite/ellipsis", {}).get("ellipsis_accuracy"),
        }
    sugg = run.items.get("suggestions")
    if sugg is not None:
        out["suite/suggestions"] = {
            "n": len(sugg),
            "suggestion_following": _mean([x["ok"] for x in sugg]),
            "answered_rate": _mean([x["answered"] for x in sugg]),
            "gold_checked": sum(1 for x in sugg if x["gold_ok"] is not None),
            "gold_accuracy": _mean([x["gold_ok"] for x in sugg]),
        }
    pert = run.items.get("perturbations")
    if pert is not None:
        row: dict[str, Any] = {
            "n": len(pert),
            "consistency": _mean([x["ok"] for x in pert]),
            "variant_accuracy": _mean([x["metrics"].get("pass") for x in pert]),
        }
        for kind in PERTURBATION_KINDS:
            sub = [x for x in pert if x["perturbation"] == kind]
            if sub:
                row[f"consistency_{kind}"] = _mean([x["ok"] for x in sub])
                out[f"perturb/{kind}"] = {
                    "n": len(sub),
                    "consistency": _mean([x["ok"] for x in sub]),
                    "variant_accuracy": _mean([x["metrics"].get("pass") for x in sub]),
                }
        out["suite/perturbations"] = row
    return {k: {m: v for m, v in row.items() if v is not None} for k, row in out.items()}
