"""Benchmark: answer a question for every gold task (by number) and every unit list,
extractive mode, on the built index. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_answers.py
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

from assistant.answer.assistant import Assistant
from assistant.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    settings = load_settings(llm_base_url=None)
    assistant = Assistant(settings)
    gold = [
        json.loads(x)
        for x in (ROOT / "evals/gold/tasks.jsonl").read_text("utf-8").splitlines()
        if x
    ]
    store = assistant.holder.get()
    names = {p.id: p.short_name for p in store.plans.values()}
    questions = [f"{names[g['plan_id']]}第{g['number']}项由谁牵头？" for g in gold]
    questions += [
        f"{names[p]}的{u.name}牵头哪些任务？"
        for u in store.registry.units.values()
        for p in u.plans
    ]
    questions += [
        "我是香港医生，想在石柱开诊所",
        "外资旅行社找哪个部门",
        "垫江和石柱在知识产权上有什么不同",
    ]
    assistant.answer([{"role": "user", "content": "预热"}])
    times = []
    started = time.perf_counter()
    for q in questions:
        t = time.perf_counter()
        assistant.answer([{"role": "user", "content": q}])
        times.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - started
    times.sort()
    print(f"questions: {len(questions)}  total: {total:.2f} s")
    print(
        f"per answer ms: median {statistics.median(times):.1f}  p95 {times[int(len(times) * 0.95)]:.1f}  max {times[-1]:.1f}"
    )
    gold_only = times[: len(gold)]
    print(f"gold task questions ({len(gold)}): {sum(gold_only) / 1000:.2f} s in all")


if __name__ == "__main__":
    main()
