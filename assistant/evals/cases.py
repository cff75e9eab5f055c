"""Evaluation cases and gold: loading and validation.

Cases live in JSONL files, one object per line (schema in evals/questions/README.md):
hand-written sets under evals/questions/, generated sets under evals/generated/.
A set is named by its file stem; generated sets get a `gen_` prefix.

The gold (evals/gold/tasks.jsonl) is read independently of the index, so the
metrics never trust the pipeline's own parse of the plans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..settings import PROJECT_ROOT

EVALS_DIR = PROJECT_ROOT / "evals"
QUESTIONS_DIR = EVALS_DIR / "questions"
GENERATED_DIR = EVALS_DIR / "generated"
TOPICS_FILE = EVALS_DIR / "topics" / "topics.jsonl"
CONVERSATIONS_DIR = EVALS_DIR / "conversations"
GOLD_FILE = EVALS_DIR / "gold" / "tasks.jsonl"

# Set names by role. A blind set (file stem starting with "blind") is never part of a
# default run: it is scored once, by name (`--set blind2`), then renamed into a dev set.
BLIND_PREFIX = "blind"
TOPICS_SET = "topics"  # evals/topics/topics.jsonl: hand-labelled topic sets (a suite)
CONV_PREFIX = "conv_"  # evals/conversations/*.jsonl: hand-written conversation cases (a suite)

STATUSES = ("answered", "not_covered", "out_of_scope")
ROLES = ("lead", "responsible", "any")
KINDS = (
    "task_units",
    "unit_tasks",
    "applies",
    "compare",
    "plan_facts",
    "not_covered",
    "out_of_scope",
    "topic",
    "smalltalk",
)
LANGS = ("zh", "en")
CASE_KEYS = {"id", "kind", "turns", "plan_id", "expect", "tags", "lang"}
ID_RE = re.compile(r"^[a-z][a-z0-9]*-\d{3,}$")


class CaseError(ValueError):
    """A malformed case (file and line in the message)."""


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    turns: tuple[str, ...]
    plan_id: str | None
    expect: dict[str, Any]
    set: str = ""
    tags: tuple[str, ...] = ()
    lang: str = "zh"

    @property
    def question(self) -> str:
        return self.turns[-1]

    @property
    def generated(self) -> bool:
        return self.set.startswith("gen_")

    @property
    def blind(self) -> bool:
        return is_blind(self.set)

    @property
    def pooled(self) -> bool:
        """Counted in the groups all / handwritten / generated / kind/<kind>.

        Suites (topic sets, conversation cases) are reported apart, so that adding a
        suite never moves the existing guards in evals/thresholds.json."""
        return not is_suite(self.set)


def is_blind(set_name: str) -> bool:
    return set_name.startswith(BLIND_PREFIX)


def is_suite(set_name: str) -> bool:
    return set_name == TOPICS_SET or set_name.startswith(CONV_PREFIX)


@dataclass
class Gold:
    """Gold tasks keyed by (plan_id, number), plus a unit registry for name matching."""

    tasks: dict[tuple[str, int], dict[str, Any]]
    registry: Any = None  # assistant.units.UnitRegistry (aliases, find_in_text)
    plan_titles: dict[str, str] = field(default_factory=dict)
    sources: Any = None  # rendered.Sources: plan source texts for the rendered-text checks

    @property
    def plan_ids(self) -> list[str]:
        return sorted({p for p, _ in self.tasks})

    def task(self, plan_id: str, number: int) -> dict[str, Any] | None:
        return self.tasks.get((plan_id, number))

    def tasks_for_unit(self, unit: str, plan_id: str | None, role: str) -> set[tuple[str, int]]:
        out = set()
        for (pid, num), t in self.tasks.items():
            if plan_id and pid != plan_id:
                continue
            lead, resp = unit in t["lead"], unit in t["responsible"]
            if (
                (role == "lead" and lead)
                or (role == "responsible" and resp)
                or (role == "any" and (lead or resp))
            ):
                out.add((pid, num))
        return out

    def aliases(self, unit: str) -> set[str]:
        return self.registry.aliases_of(unit) if self.registry is not None else {unit}


def load_gold(
    path: Path = GOLD_FILE, corpus_dir: Path | None = None, aliases_path: Path | None = None
) -> Gold:
    """Read the gold tasks; with a corpus, also build a unit registry over them."""
    tasks: dict[tuple[str, int], dict[str, Any]] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            t = json.loads(line)
            tasks[(t["plan_id"], int(t["number"]))] = t
    gold = Gold(tasks)
    if corpus_dir is not None:
        from ..ingest.loaders import discover, load_source
        from ..ingest.units import AliasTable, UnitRegistry

        plans = {}
        for p in discover(corpus_dir):
            plan = load_source(p).plan
            plans[plan.id] = plan
        shims = [
            _TaskShim(pid, tuple(t["lead"]) + tuple(t["responsible"]))
            for (pid, _), t in tasks.items()
            if pid in plans
        ]
        table = AliasTable.load(aliases_path or corpus_dir / "aliases.toml")
        gold.registry = UnitRegistry.build(plans, shims, table)  # type: ignore[arg-type]
        gold.plan_titles = {pid: p.title for pid, p in plans.items()}
        from .rendered import load_sources

        gold.sources = load_sources(corpus_dir)
    return gold


@dataclass(frozen=True)
class _TaskShim:
    plan_id: str
    _units: tuple[str, ...]

    def units(self) -> tuple[str, ...]:
        return self._units


def _need(cond: bool, where: str, msg: str) -> None:
    if not cond:
        raise CaseError(f"{where}: {msg}")


def validate_case(obj: Any, where: str = "case", plan_ids: set[str] | None = None) -> None:
    """Raise CaseError unless obj follows the case schema."""
    _need(isinstance(obj, dict), where, "not a JSON object")
    _need(not (set(obj) - CASE_KEYS), where, f"unknown keys {sorted(set(obj) - CASE_KEYS)}")
    for key in ("id", "kind", "turns", "plan_id", "expect"):
        _need(key in obj, where, f"missing '{key}'")
    _need(
        isinstance(obj["id"], str) and bool(ID_RE.match(obj["id"])), where, f"bad id {obj['id']!r}"
    )
    kind, expect, turns = obj["kind"], obj["expect"], obj["turns"]
    _need(kind in KINDS, where, f"unknown kind {kind!r}")
    turns_ok = isinstance(turns, list) and bool(turns)
    _need(turns_ok and all(isinstance(t, str) and t.strip() for t in turns), where,
          "turns must be a non-empty list of non-empty strings")  # fmt: skip
    known = plan_ids or set()

    def plan_ok(p: Any, nullable: bool) -> bool:
        return (p is None and nullable) or (isinstance(p, str) and (not known or p in known))

    def numbers_ok(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(n, int) and n > 0 for n in v)

    def tasks_ok(v: Any) -> bool:
        return (
            isinstance(v, dict)
            and bool(v)
            and all(plan_ok(p, False) and numbers_ok(n) for p, n in v.items())
        )

    def topic_tasks_ok(v: Any, required: bool) -> bool:
        """plan -> task numbers; a plan's list may be empty, but not every list if required."""
        return (
            isinstance(v, dict)
            and all(
                plan_ok(p, False)
                and isinstance(n, list)
                and all(isinstance(x, int) and x > 0 for x in n)
                for p, n in v.items()
            )
            and (not required or any(v.values()))
        )

    _need(obj.get("lang", "zh") in LANGS, where, f"lang must be one of {LANGS}")

    _need(plan_ok(obj["plan_id"], True), where, f"bad plan_id {obj['plan_id']!r}")
    status = expect.get("status") if isinstance(expect, dict) else None
    _need(status in STATUSES, where, "expect.status missing or invalid")
    if kind in ("not_covered", "out_of_scope"):
        _need(status == kind, where, f"kind {kind} needs status {kind}")
        return
    _need(status == "answered", where, f"kind {kind} needs status answered")
    e = expect
    one_plan = plan_ok(e.get("plan_id"), False)
    must = e.get("must_contain")
    unit_ok = isinstance(e.get("unit"), str) and bool(e["unit"])
    must_ok = isinstance(must, list) and bool(must) and all(isinstance(x, str) and x for x in must)
    numbers = one_plan and numbers_ok(e.get("task_numbers"))
    checks: dict[str, list[tuple[bool, str]]] = {
        "task_units": [(one_plan, "plan_id"), (isinstance(e.get("task_number"), int),
                       "task_number"), (e.get("role") in ROLES, "role")],
        "unit_tasks": [(unit_ok, "unit"), ("plan_id" in e and plan_ok(e["plan_id"], True),
                       "plan_id"), (e.get("role") in ROLES, "role")],
        "applies": [(numbers or tasks_ok(e.get("tasks")), "plan_id + task_numbers, or tasks")],
        "compare": [(tasks_ok(e.get("tasks")), "tasks")],
        "plan_facts": [(one_plan, "plan_id"), (must_ok, "must_contain")],
        "topic": [(topic_tasks_ok(e.get("tasks"), True), "tasks (plan -> required numbers)"),
                  (topic_tasks_ok(e.get("also_ok", {}), False), "also_ok (plan -> numbers)")],
        "smalltalk": [(e.get("intent") == "smalltalk", "intent = smalltalk")],
    }  # fmt: skip
    for ok, what in checks[kind]:
        _need(ok, where, f"{kind} needs expect.{what}")


def check_against_gold(case: Case, gold: Gold, where: str) -> None:
    """Cases must name tasks and units that exist in the gold."""
    e = case.expect
    if case.kind == "task_units":
        _need(gold.task(e["plan_id"], e["task_number"]) is not None, where, "task not in gold")
    elif case.kind == "unit_tasks":
        known = {u for t in gold.tasks.values() for u in (*t["lead"], *t["responsible"])}
        _need(e["unit"] in known, where, f"unit {e['unit']!r} not in gold")
    for pid, nums in expected_task_map(case).items():
        for n in nums:
            _need(gold.task(pid, n) is not None, where, f"task {pid}#{n} not in gold")
    if case.kind == "topic":
        for pid, n in topic_sets(case)[1]:
            _need(gold.task(pid, n) is not None, where, f"task {pid}#{n} not in gold")


def topic_sets(case: Case) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """A topic case's (required, required ∪ also_ok) task sets."""
    e = case.expect
    required = {(p, int(n)) for p, nums in (e.get("tasks") or {}).items() for n in nums}
    extra = {(p, int(n)) for p, nums in (e.get("also_ok") or {}).items() for n in nums}
    return required, required | extra


def expected_task_map(case: Case) -> dict[str, list[int]]:
    """Tasks an applies/compare/task_units case expects, by plan, best first."""
    e = case.expect
    if case.kind == "task_units":
        return {e["plan_id"]: [e["task_number"]]}
    if case.kind in ("applies", "compare"):
        return (
            {p: list(n) for p, n in e["tasks"].items()}
            if "tasks" in e
            else {e["plan_id"]: list(e["task_numbers"])}
        )
    return {}


def jsonl_rows(path: Path) -> Iterator[tuple[str, Any]]:
    """(file:line, parsed object) for each non-blank line; bad JSON names its line."""
    for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{i}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseError(f"{where}: invalid JSON ({exc})") from exc


def load_file(path: Path, set_name: str, gold: Gold | None = None) -> list[Case]:
    if set_name == TOPICS_SET:
        return load_topics(path, gold)
    cases = []
    plan_ids = set(gold.plan_ids) if gold else None
    for where, obj in jsonl_rows(path):
        validate_case(obj, where, plan_ids)
        case = Case(
            obj["id"],
            obj["kind"],
            tuple(obj["turns"]),
            obj["plan_id"],
            obj["expect"],
            set_name,
            tuple(obj.get("tags", ())),
            obj.get("lang", "zh"),
        )
        if gold:
            check_against_gold(case, gold, where)
        cases.append(case)
    return cases


CJK_RE = re.compile(r"[\u4e00-\u9fff]")
TOPIC_KEYS = {"id", "topic", "en", "questions", "tasks", "also_ok", "note"}


def load_topics(path: Path = TOPICS_FILE, gold: Gold | None = None) -> list[Case]:
    """One `topic` case per question of each hand-labelled topic (id `<topic id>/<i>`);
    a question without Chinese characters is asked as `lang: en`."""
    cases = []
    plan_ids = set(gold.plan_ids) if gold else None
    for where, row in jsonl_rows(path):
        _need(isinstance(row, dict) and not (set(row) - TOPIC_KEYS), where, "bad topic row")
        questions = row.get("questions")
        _need(isinstance(questions, list) and bool(questions), where, "no questions")
        for j, q in enumerate(questions, 1):
            expect: dict[str, Any] = {
                "status": "answered",
                "tasks": row.get("tasks"),
                "also_ok": row.get("also_ok") or {},
            }
            lang = "zh" if isinstance(q, str) and CJK_RE.search(q) else "en"
            obj = {
                "id": "top-001",  # validated with a placeholder; the real id names the topic
                "kind": "topic",
                "turns": [q],
                "plan_id": None,
                "expect": expect,
                "lang": lang,
            }
            validate_case(obj, f"{where} question {j}", plan_ids)
            case = Case(
                f"{row.get('id')}/{j}",
                "topic",
                (q,),
                None,
                expect,
                TOPICS_SET,
                (str(row.get("id")),),
                lang,
            )
            if gold:
                check_against_gold(case, gold, where)
            cases.append(case)
    return cases


def discover_sets(
    questions_dir: Path = QUESTIONS_DIR,
    generated_dir: Path = GENERATED_DIR,
    topics_file: Path | None = TOPICS_FILE,
    conversations_dir: Path | None = CONVERSATIONS_DIR,
) -> dict[str, Path]:
    """Every set on disk by name, blind sets included (only listed here: a default
    selection leaves them out, see `select_sets`)."""
    sets = {p.stem: p for p in sorted(questions_dir.glob("*.jsonl"))}
    sets |= {f"gen_{p.stem}": p for p in sorted(generated_dir.glob("*.jsonl"))}
    if topics_file is not None and topics_file.exists():
        sets[TOPICS_SET] = topics_file
    if conversations_dir is not None and conversations_dir.exists():
        sets |= {f"{CONV_PREFIX}{p.stem}": p for p in sorted(conversations_dir.glob("*.jsonl"))}
    return sets


def select_sets(available: dict[str, Path], wanted: str | None) -> dict[str, Path]:
    """None: every set but the blind ones; 'generated' / 'handwritten' (hand-written
    question sets, blind ones left out); else a comma list of set names — the only way
    to run a blind set."""
    if not wanted:
        return {k: v for k, v in available.items() if not is_blind(k)}
    out: dict[str, Path] = {}
    for w in (s.strip() for s in wanted.split(",") if s.strip()):
        if w in ("generated", "gen"):
            out |= {k: v for k, v in available.items() if k.startswith("gen_")}
        elif w in ("handwritten", "questions"):
            out |= {
                k: v
                for k, v in available.items()
                if not k.startswith("gen_") and not is_blind(k) and not is_suite(k)
            }
        elif w in available or f"gen_{w}" in available or f"{CONV_PREFIX}{w}" in available:
            key = next(k for k in (w, f"gen_{w}", f"{CONV_PREFIX}{w}") if k in available)
            out[key] = available[key]
        else:
            raise CaseError(
                f"没有评测集 {w}（可选：{', '.join(available)}，或 generated / handwritten）"
            )
    return out


def load_cases(sets: dict[str, Path], gold: Gold | None = None) -> list[Case]:
    cases: list[Case] = []
    seen: set[str] = set()
    for name, path in sets.items():
        for c in load_file(path, name, gold):
            if c.id in seen:
                raise CaseError(f"{path.name}: duplicate id {c.id}")
            seen.add(c.id)
            cases.append(c)
    return cases
