"""Generate complete-coverage cases from the gold (deterministic; rerun after the gold changes).

    .venv/bin/python -m assistant.evals.generate     # writes evals/generated/*.jsonl

- task_units.jsonl: for every task, who leads / who is responsible, asked by
  number, by topic words taken from the task itself, and by a paraphrase of the
  measure (evals/generated/paraphrases.toml, written by hand from the gold).
- unit_tasks.jsonl: for every unit in every plan, which tasks it leads / supports
  (责任/配合) / touches at all, naming it by its canonical name or an alias from
  corpus/aliases.toml; units in both plans are also asked about both at once.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

from ..ingest.units import is_suffix_swap
from ..settings import PROJECT_ROOT
from .cases import GENERATED_DIR, GOLD_FILE, Gold, load_gold, validate_case

PARAPHRASES = GENERATED_DIR / "paraphrases.toml"
CLAUSE_SPLIT = re.compile(r"[，。；：（）,;:!?！？()]")
LEAD_WORDS = re.compile(
    r"^(进一步|积极|大力|加快|按照市级要求|配合市级|贯彻落实市级改革措施|条件成熟时|试点开展|除涉及国家主权、安全外"
    r"|支持|允许|探索|推动|推进|加强|加大|开展|建立健全|健全完善|建立|全面实施|全面实行|发挥|鼓励|增强|贯彻落实|立足|依托"
    r"|深化|强化|优化|构建|对|为|将|和|及|并)+"
)
DEPT_SUFFIX = re.compile(r"(局|委|办|中心|组|部|院|行|会|支行)$")
CN = "零一二三四五六七八九"


def cn_numeral(n: int) -> str:
    if n < 10:
        return CN[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else CN[tens]) + "十" + (CN[ones] if ones else "")


def topic_words(task: dict[str, Any], others: list[dict[str, Any]]) -> str:
    """A short phrase from the task that no other task of the same plan contains."""
    texts = [o["text"] + o["heading"] for o in others if o is not task]
    heading = task["heading"]
    if 4 <= len(heading) <= 16 and not any(heading in t for t in texts):
        return heading
    for clause in CLAUSE_SPLIT.split(task["text"]):
        c = LEAD_WORDS.sub("", clause.strip())
        for cand in (c, *re.split(r"[、及和并与以]", c), c[:14]):
            if 4 <= len(cand) <= 22 and not any(cand in t for t in texts):
                return cand
    raise ValueError(f"no distinctive phrase for {task['plan_id']}#{task['number']}")


def _county(short: str, i: int) -> str:
    return [f"{short}县方案", f"{short}方案", f"{short}的实施方案", f"{short}"][i % 4]


def task_unit_cases(
    gold: Gold, shorts: dict[str, str], paraphrases: dict[str, dict[str, str]]
) -> list[dict]:
    out: list[dict] = []
    ordered = sorted(gold.tasks.values(), key=lambda t: (t["plan_id"], t["number"]))
    for i, t in enumerate(ordered):
        pid, n, rw = t["plan_id"], t["number"], t["role_word"] or "责任单位"
        short = shorts[pid]
        num = cn_numeral(n) if i % 5 == 2 else str(n)
        pinned = i % 4 == 3
        county = "" if pinned else _county(short, i)
        plan_tasks = [x for x in ordered if x["plan_id"] == pid]
        topic = topic_words(t, plan_tasks)
        para = paraphrases.get(pid, {}).get(str(n))
        if not para:
            raise ValueError(f"{PARAPHRASES.name} has no paraphrase for {pid}.{n}")
        topic_role = ("any", "lead", "responsible")[i % 3]
        para_role = ("responsible", "any", "lead")[i % 3]
        topic_q = {
            "any": f"{short}关于“{topic}”的任务，牵头单位和{rw}分别是谁？",
            "lead": f"{short}“{topic}”这项由哪个单位牵头？",
            "responsible": f"{short}方案中“{topic}”那条，{rw}有哪些？",
        }[topic_role]
        para_q = {
            "lead": f"在{short}，{para}这件事归哪个部门牵头？",
            "responsible": f"{short}{para}这一项，需要哪些单位配合？",
            "any": f"{short}方案里{para}，是哪些部门负责的？",
        }[para_role]
        rows = [
            (f"{county}第{num}项由谁牵头？", "lead", ["number"] + (["pinned"] if pinned else [])),
            (
                f"{county}第{num}项的{rw}有哪些？",
                "responsible",
                ["number"] + (["pinned"] if pinned else []),
            ),
            (topic_q, topic_role, ["topic"]),
            (para_q, para_role, ["paraphrase"]),
        ]
        for q, role, tags in rows:
            out.append(
                {
                    "id": f"gtu-{len(out) + 1:03d}",
                    "kind": "task_units",
                    "turns": [q],
                    "plan_id": pid if "pinned" in tags else None,
                    "expect": {
                        "status": "answered",
                        "plan_id": pid,
                        "task_number": n,
                        "role": role,
                    },
                    "tags": tags,
                }
            )
    return out


def unit_names(
    gold: Gold, unit: str, plan_ids: list[str] | None, places: tuple[str, ...] = ()
) -> list[str]:
    """The canonical name, then aliases that name only this unit within the plans (sorted);
    aliases carrying a place name (`places`: the plans' short names) are left out."""
    reg = gold.registry
    names = [unit]
    for alias in sorted(reg.aliases_of(unit) - {unit}):
        if (
            any(p and p in alias for p in places)
            or not DEPT_SUFFIX.search(alias)
            or len(alias) < 3
            or alias == unit + "员会"
            or is_suffix_swap(alias, unit)  # made to catch typing habits, not a name in use
        ):
            continue
        if [u.name for u in reg.resolve(alias, plan_ids)] == [unit]:
            names.append(alias)
    return names


def unit_task_cases(gold: Gold, shorts: dict[str, str]) -> list[dict]:
    reg = gold.registry
    places = tuple(shorts.values())
    out: list[dict] = []
    templates = {
        "lead": ["{county}{name}牵头哪些任务？", "{name}在{county}方案里牵头了哪些事？"],
        "responsible": [
            "{county}{name}作为{rw}要参与哪些任务？",
            "{name}在{county}要配合哪些工作？",
        ],
        "any": ["{name}在{county}方案里有哪些任务？", "{county}的{name}要负责哪些工作？"],
    }

    def add(q: str, unit: str, pid: str | None, role: str, tags: list[str]) -> None:
        out.append(
            {
                "id": f"gut-{len(out) + 1:03d}",
                "kind": "unit_tasks",
                "turns": [q],
                "plan_id": None,
                "expect": {"status": "answered", "unit": unit, "plan_id": pid, "role": role},
                "tags": tags,
            }
        )

    j = 0
    for unit in sorted(reg.units):
        u = reg.units[unit]
        for pid in u.plans:
            names = unit_names(gold, unit, [pid], places)
            if u.collective:
                add(f"{shorts[pid]}方案里“{unit}”涉及哪些任务？", unit, pid, "any", ["collective"])
                continue
            for role in ("lead", "responsible", "any"):
                name = names[j % len(names)]
                q = templates[role][j % 2].format(county=shorts[pid], name=name, rw="责任单位")
                add(q, unit, pid, role, ["alias" if name != unit else "canonical"])
                j += 1
        if len(u.plans) > 1 and not u.collective:
            names = unit_names(gold, unit, None, places)
            both = "和".join(shorts[p] for p in u.plans)
            for role, q in (
                ("lead", "{name}在两个县的方案里分别牵头哪些任务？"),
                ("any", "{name}在" + both + "的方案里都有哪些任务？"),
            ):
                name = names[j % len(names)]
                add(
                    q.format(name=name),
                    unit,
                    None,
                    role,
                    ["both_plans", "alias" if name != unit else "canonical"],
                )
                j += 1
    return out


def generate(
    gold_file: Path = GOLD_FILE,
    corpus_dir: Path = PROJECT_ROOT / "corpus",
    out_dir: Path = GENERATED_DIR,
) -> dict[str, int]:
    from ..ingest.loaders import discover, load_source

    gold = load_gold(gold_file, corpus_dir)
    shorts = {}
    for p in discover(corpus_dir):
        plan = load_source(p).plan
        shorts[plan.id] = plan.short_name or plan.region.removesuffix("县")
    paraphrases = tomllib.loads(PARAPHRASES.read_text("utf-8"))
    files = {
        "task_units": task_unit_cases(gold, shorts, paraphrases),
        "unit_tasks": unit_task_cases(gold, shorts),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, cases in files.items():
        for c in cases:
            validate_case(c, f"generated {c['id']}", set(gold.plan_ids))
        text = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases)
        (out_dir / f"{name}.jsonl").write_text(text, "utf-8")
    return {name: len(cases) for name, cases in files.items()}


if __name__ == "__main__":
    counts = generate()
    print("，".join(f"{k}: {v} 条" for k, v in counts.items()), file=sys.stderr)
