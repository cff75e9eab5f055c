"""Calibrate the LLM verifier's support threshold on the plans themselves. Prints figures.

For every task of the index, sentences an honest model could write about it are scored
against that task's citation (they should pass), and sentences about something else are
scored against it (they should fail):

  positives  P1 a clause of the task, verbatim; P2 the clause paraphrased the way models
             do (a lead-in, synonyms, function words changed); P3 two clauses merged.
  negatives  N1 a clause of another task of the same plan; N2 a clause of a task of another
             plan; N3 invented claims (exemptions, deadlines, rewards) no plan here states.

    .venv/bin/python benchmarks/verify_calibration.py [--index-dir DIR]

Deterministic (seeded); nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from assistant.answer.verify import support
from assistant.retrieval.store import IndexStore
from assistant.settings import load_settings

LEAD_INS = ["方案提出，", "该项任务明确", "根据方案，", "方案要求", "", "其中，"]
SYNONYMS = [("成立", "设立"), ("开展", "从事"), ("推进", "推动"), ("加快", "加速"), ("建立", "建设"),
            ("完善", "健全"), ("支持", "鼓励"), ("探索", "尝试"), ("提升", "提高"), ("实施", "落实")]
INVENTED = [
    "对符合条件的外资企业全额免征企业所得税",
    "相关审批事项实行当日办结",
    "给予一次性奖励资金",
    "提供免费办公场地和人才公寓",
    "境外投资者可直接在线办理全部手续",
    "所有企业均可享受贷款贴息",
    "取消全部行业准入限制",
    "设立专项产业引导基金",
    "个人所得税地方留成部分全额返还",
    "外籍人员可免签入境并长期居留",
    "企业开办费用由政府全额承担",
    "实行承诺即入制，无需任何审批",
]


def clauses(text: str) -> list[str]:
    text = re.sub(r"（牵头单位[^）]*）", "", text)
    return [c for c in re.split(r"[，。；：]", text) if len(c) >= 6]


def paraphrase(clause: str, rng: random.Random) -> str:
    out = clause
    for a, b in rng.sample(SYNONYMS, 3):
        out = out.replace(a, b)
    out = out.replace("的", "") if rng.random() < 0.5 else out
    return rng.choice(LEAD_INS) + out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path, default=None)
    args = ap.parse_args()
    overrides = {"index_dir": args.index_dir} if args.index_dir else {}
    store = IndexStore.open(load_settings(**overrides))
    rng = random.Random(13)
    tasks = store.tasks
    scores: dict[str, list[float]] = {k: [] for k in ("P1", "P2", "P3", "N1", "N2", "N3")}
    for t in tasks:
        source = " ".join([store.plans[t.plan_id].title, " / ".join(t.section_path), t.quote()])
        own = clauses(t.text)
        if not own:
            continue
        same = [o for o in tasks if o.plan_id == t.plan_id and o.number != t.number and clauses(o.text)]
        other = [o for o in tasks if o.plan_id != t.plan_id and clauses(o.text)]
        for c in own:
            scores["P1"].append(support(c, source))
            scores["P2"].append(support(paraphrase(c, rng), source))
        if len(own) >= 2:
            i = rng.randrange(len(own) - 1)
            scores["P3"].append(support(own[i] + "，并" + own[i + 1], source))
        for pool, key in ((same, "N1"), (other, "N2")):
            if pool:
                o = rng.choice(pool)
                scores[key].append(support(rng.choice(clauses(o.text)), source))
        scores["N3"].append(support(rng.choice(INVENTED), source))

    print(f"index generation {store.generation}: {len(tasks)} tasks")
    for k, v in scores.items():
        v.sort()
        p10, p50, p90 = (v[min(len(v) - 1, int(p * len(v)))] for p in (0.1, 0.5, 0.9))
        print(f"  {k}: n={len(v):4d}  min={v[0]:.2f}  p10={p10:.2f}  median={p50:.2f}  p90={p90:.2f}  max={v[-1]:.2f}")
    pos = scores["P1"] + scores["P2"] + scores["P3"]
    neg = scores["N1"] + scores["N2"] + scores["N3"]
    print("\nthreshold  positives kept  negatives kept (N1 / N2 / N3)")
    youden: list[tuple[float, float]] = []
    for i in range(1, 20):
        th = i / 20
        tp = sum(s >= th for s in pos) / len(pos)
        fp = {k: sum(s >= th for s in scores[k]) / max(1, len(scores[k])) for k in ("N1", "N2", "N3")}
        fpr = sum(s >= th for s in neg) / len(neg)
        youden.append((round(tp - fpr, 3), th))
        print(f"  {th:.2f}      {tp:6.1%}          {fpr:6.1%}  ({fp['N1']:.1%} / {fp['N2']:.1%} / {fp['N3']:.1%})")
    top = max(j for j, _ in youden)
    plateau = [th for j, th in youden if j == top]
    print(f"\nbest Youden J = {top:.3f} for thresholds {plateau[0]:.2f}–{plateau[-1]:.2f}")


if __name__ == "__main__":
    main()
