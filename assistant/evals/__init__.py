"""Evaluation suite: `assistant eval` (see docs/evals.md).

main(settings, args)  # args.eval_set (None = all), args.json, args.no_baseline
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ..settings import Settings
from .cases import GOLD_FILE, Case, CaseError, discover_sets, load_cases, load_gold, select_sets
from .report import text_table, write_reports
from .runner import (
    THRESHOLDS_FILE,
    check_thresholds,
    failing,
    load_thresholds,
    run_cases,
    summarize,
)

REPORTS_DIR = GOLD_FILE.parent.parent / "reports"

__all__ = ["main", "run_eval"]


def _ours(settings: Settings) -> Any:
    from ..answer.assistant import Assistant

    assistant = Assistant(settings)
    return lambda messages, plan_id: assistant.answer(messages, plan_id=plan_id).to_dict()


def _progress(label: str, total: int, quiet: bool) -> Any:
    def tick(i: int, case: Case) -> None:
        if not quiet and (i % 50 == 0 or i == total - 1):
            print(f"[{label}] {i + 1}/{total} {case.id}", file=sys.stderr)

    return tick


def run_eval(
    settings: Settings,
    eval_set: str | None = None,
    baseline: bool = True,
    reports_dir: Path | None = REPORTS_DIR,
    thresholds_file: Path = THRESHOLDS_FILE,
    quiet: bool = False,
) -> dict[str, Any]:
    """Run the selected sets (ours, and the baseline if asked), write reports; return the report."""
    from ..ingest.index import build_index

    summary_line = build_index(settings).line()  # reuses the live index when nothing changed
    gold = load_gold(GOLD_FILE, settings.corpus_dir, settings.aliases_path)
    cases = load_cases(select_sets(discover_sets(), eval_set), gold)
    results = {
        "ours": run_cases(cases, _ours(settings), gold, _progress("ours", len(cases), quiet))
    }
    if baseline:
        from .baseline import Baseline

        b = Baseline(settings)
        results["baseline"] = run_cases(
            cases, b.answer, gold, _progress("baseline", len(cases), quiet)
        )
    summary = {label: summarize(rs) for label, rs in results.items()}
    failures = check_thresholds(summary["ours"], load_thresholds(thresholds_file))
    from ..ingest.index import current_generation

    report = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "generation": current_generation(settings.index_dir),
        "index": summary_line,
        "embed_mode": settings.embed_mode,
        "mode": "llm" if settings.llm_enabled else "extractive",
        "sets": sorted({c.set for c in cases}),
        "n_cases": len(cases),
        "summary": summary,
        "threshold_failures": failures,
        "failing": {label: failing(rs) for label, rs in results.items()},
        "results": results,
    }
    if reports_dir is not None:
        report["paths"] = {k: str(v) for k, v in write_reports(report, reports_dir).items()}  # type: ignore[assignment]
    return report


def main(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = run_eval(
            settings,
            getattr(args, "eval_set", None),
            not getattr(args, "no_baseline", False),
            quiet=getattr(args, "json", False),
        )
    except CaseError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(
            json.dumps(
                {
                    k: report[k]
                    for k in ("date", "mode", "n_cases", "summary", "threshold_failures")
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print(text_table(report["summary"]["ours"], report["summary"].get("baseline")))
        for path in report.get("paths", {}).values():
            print(f"报告：{path}")
        n_fail = len(report["failing"]["ours"])
        print(f"ours 未通过（或含无依据内容）的用例：{n_fail} 条，详见 latest.md")
    for f in report["threshold_failures"]:
        print(f"未达阈值：{f}", file=sys.stderr)
    return 1 if report["threshold_failures"] else 0
