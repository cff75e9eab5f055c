"""Evaluation suite: `assistant eval` (see docs/evals.md).

main(settings, args)  # args.eval_set (None = all but blind sets), args.json, args.no_baseline

`--set` takes set names and suite names (comma-separated): question sets (`business`,
`gen_task_units`, `topics`, `conv_ellipsis`, a blind set by its name …), `generated`,
`handwritten`, and the suites `switch`, `ellipsis`, `suggestions`, `perturbations`,
`conversations` (switch + ellipsis) or `suites` (all four). Without `--set` every set but
the blind ones runs, with every suite. Suites named without any set run over the default
sets; sets named without any suite run without suites.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..settings import Settings
from .cases import (
    GOLD_FILE,
    Case,
    CaseError,
    discover_sets,
    is_blind,
    load_cases,
    load_gold,
    select_sets,
)
from .report import append_history, text_table, write_reports
from .runner import (
    THRESHOLDS_FILE,
    check_thresholds,
    failing,
    load_thresholds,
    run_cases,
    summarize,
    target_gaps,
)
from .suites import SUITE_ALIASES, SuiteConfig, run_suites, summarize_suites

REPORTS_DIR = Path(
    os.environ.get("ASSISTANT_EVAL_REPORTS_DIR") or GOLD_FILE.parent.parent / "reports"
)

__all__ = ["SuiteConfig", "main", "parse_selection", "run_eval"]


def _ours(settings: Settings) -> Any:
    from ..answer.assistant import Assistant

    assistant = Assistant(settings)
    return lambda messages, plan_id: assistant.answer(messages, plan_id=plan_id).to_dict()


def _progress_factory(quiet: bool) -> Callable[[str, int], Callable[[int, Any], None]]:
    """A tqdm bar on stderr per phase (none when quiet)."""

    def make(label: str, total: int) -> Callable[[int, Any], None]:
        if quiet or not total:
            return lambda i, item: None
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, file=sys.stderr, leave=False, dynamic_ncols=True)

        def tick(i: int, item: Any) -> None:
            bar.update(1)
            if i == total - 1:
                bar.close()

        return tick

    return make


def parse_selection(eval_set: str | None) -> tuple[str | None, tuple[str, ...]]:
    """Split `--set` into (set names for select_sets, suites to run)."""
    if not eval_set:
        return None, SUITE_ALIASES["suites"]
    names = [w.strip() for w in eval_set.split(",") if w.strip()]
    suites = tuple(dict.fromkeys(s for w in names for s in SUITE_ALIASES.get(w, ())))
    sets = [w for w in names if w not in SUITE_ALIASES]
    if "ellipsis" in suites and sets:
        sets.append("conv_ellipsis")
    return (",".join(dict.fromkeys(sets)) or None), suites


def run_eval(
    settings: Settings,
    eval_set: str | None = None,
    baseline: bool = True,
    reports_dir: Path | None = REPORTS_DIR,
    thresholds_file: Path = THRESHOLDS_FILE,
    quiet: bool = False,
    config: SuiteConfig | None = None,
) -> dict[str, Any]:
    """Run the selected sets and suites (ours; the baselines on the sets if asked), write
    reports and append to the history; return the report."""
    from ..ingest.index import build_index, current_generation

    summary_line = build_index(settings).line()  # reuses the live index when nothing changed
    gold = load_gold(GOLD_FILE, settings.corpus_dir, settings.aliases_path)
    set_names, suites = parse_selection(eval_set)
    config = config or SuiteConfig()
    config = SuiteConfig(
        **{**config.as_dict(), "suites": tuple(s for s in config.suites if s in suites)}
    )
    cases = load_cases(select_sets(discover_sets(), set_names), gold)
    if "ellipsis" not in config.suites and set_names is None:
        cases = [c for c in cases if c.set != "conv_ellipsis"]
    progress = _progress_factory(quiet)
    ours = _ours(settings)

    def ticker(label: str, items: list[Case]) -> Callable[[int, Case], None]:
        return progress(label, len(items))

    results = {"ours": run_cases(cases, ours, gold, ticker("ours", cases), keep_transcripts=True)}
    suite_run = run_suites(cases, results["ours"], ours, gold, config, progress)
    counts = {"cases": len(cases), **suite_run.counts}
    print(
        "评测规模：" + "，".join(f"{k} {v}" for k, v in counts.items()),
        file=sys.stderr,
    )
    if baseline:
        from .baseline import Baseline, HybridBaseline

        plain = [c for c in cases if not c.set.startswith("conv_")]
        for cls in (Baseline, HybridBaseline):
            b = cls(settings)
            results[b.name] = run_cases(plain, b.answer, gold, ticker(b.name, plain))
    for r in results["ours"]:
        r.pop("_messages", None)
    summary = {label: summarize(rs) for label, rs in results.items()}
    summary["ours"] |= summarize_suites(suite_run, summary["ours"])
    thresholds = load_thresholds(thresholds_file)
    report: dict[str, Any] = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "generation": current_generation(settings.index_dir),
        "index": summary_line,
        "embed_mode": settings.embed_mode,
        "mode": "llm" if settings.llm_enabled else "extractive",
        "sets": sorted({c.set for c in cases}),
        "blind_sets": sorted({c.set for c in cases if is_blind(c.set)}),
        "n_cases": len(cases),
        "counts": counts,
        "suite_config": config.as_dict(),
        "summary": summary,
        "thresholds": thresholds,
        "threshold_failures": check_thresholds(summary["ours"], thresholds),
        "target_gaps": target_gaps(summary["ours"], thresholds),
        "failing": {label: failing(rs) for label, rs in results.items()},
        "results": results,
        "suites": suite_run.items,
    }
    if reports_dir is not None:
        report["history_entry"] = append_history(report, reports_dir)
        report["paths"] = {k: str(v) for k, v in write_reports(report, reports_dir).items()}
    return report


JSON_KEYS = (
    "date",
    "mode",
    "sets",
    "n_cases",
    "counts",
    "summary",
    "threshold_failures",
    "target_gaps",
)


def main(settings: Settings, args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    try:
        # stdout carries only the result: library chatter (llama-index's "LLM is explicitly
        # disabled. Using MockLLM.", progress) goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            report = run_eval(
                settings, getattr(args, "eval_set", None), not getattr(args, "no_baseline", False)
            )
    except CaseError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    if as_json:
        print(json.dumps({k: report[k] for k in JSON_KEYS}, ensure_ascii=False, indent=2))
    else:
        print(text_table(report))
        for path in report.get("paths", {}).values():
            print(f"报告：{path}")
        n_fail = len(report["failing"]["ours"])
        print(f"ours 未通过（或含无依据内容、或文本检查未过）的用例：{n_fail} 条，详见 latest.md")
    for f in report["threshold_failures"]:
        print(f"未达阈值：{f}", file=sys.stderr)
    for f in report["target_gaps"]:
        print(f"目标差距（未强制）：{f}", file=sys.stderr)
    return 1 if report["threshold_failures"] else 0
