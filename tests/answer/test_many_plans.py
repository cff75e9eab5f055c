"""A unit's task list over many plans stays readable: counts for every plan, the full list only
for the first plans (at most LIST_PLANS plans and LIST_ITEMS items), and a pointer to the rest
(export or naming a plan). Synthetic plans (the seeds with invented regions), hash embeddings."""

from __future__ import annotations

import pytest

from assistant.answer.assistant import Assistant
from assistant.answer.compose import LIST_ITEMS, LIST_PLANS
from assistant.bench import synthetic_corpus
from assistant.ingest.index import build_index
from tests.conftest import ROOT, make_settings

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    tmp = tmp_path_factory.mktemp("many-plans")
    synthetic_corpus(ROOT / "corpus", tmp / "corpus", 6)
    settings = make_settings(tmp, corpus_dir=tmp / "corpus", embed_mode="hash", llm_base_url=None)
    build_index(settings)
    return Assistant(settings)


def _busiest_lead(assistant: Assistant) -> tuple[str, dict[str, int]]:
    """The unit leading the most tasks, with its lead-task count per plan."""
    store = assistant.holder.get()
    best: tuple[int, str] = (0, "")
    for name, unit in store.registry.units.items():
        if unit.collective or len(unit.plans) < len(store.plans):
            continue
        n = len(store.tasks_for_unit(name, role="lead"))
        best = max(best, (n, name))
    name = best[1]
    per_plan = {pid: len(store.tasks_for_unit(name, pid, "lead")) for pid in store.plans}
    return name, per_plan


def test_list_over_many_plans_gives_counts_and_a_capped_list(many: Assistant) -> None:
    store = many.holder.get()
    unit, per_plan = _busiest_lead(many)
    assert unit and sum(1 for n in per_plan.values() if n) > LIST_PLANS
    ans = many.answer([{"role": "user", "content": f"{unit}牵头哪些任务？"}])
    assert ans.status == "answered" and ans.intent == "unit_tasks"
    assert ans.checks["ok"], ans.checks
    listed_plans = {c.plan_id for c in ans.citations}
    assert len(listed_plans) <= LIST_PLANS
    assert len(ans.citations) <= LIST_ITEMS
    # every plan where the unit leads tasks is counted, listed or not
    for pid, n in per_plan.items():
        if n:
            plan = store.plans[pid]
            assert plan.short_name in ans.answer or plan.title in ans.answer, pid
            assert f"{n} 项" in ans.answer
    # the listed plans are complete; the rest is announced with its size
    for pid in listed_plans:
        assert sum(1 for c in ans.citations if c.plan_id == pid) == per_plan[pid]
    rest = sum(per_plan.values()) - len(ans.citations)
    assert rest > 0 and f"其余 {rest} 项" in ans.answer
    assert len(ans.answer.splitlines()) < 60


def test_one_named_plan_still_lists_everything(many: Assistant) -> None:
    store = many.holder.get()
    unit, per_plan = _busiest_lead(many)
    pid = max(per_plan, key=lambda p: per_plan[p])
    ans = many.answer([{"role": "user", "content": f"{unit}牵头哪些任务？"}], plan_id=pid)
    assert ans.checks["ok"], ans.checks
    assert len(ans.citations) == per_plan[pid] == len(store.tasks_for_unit(unit, pid, "lead"))
    assert "其余" not in ans.answer


def test_topic_over_many_plans_is_capped_too(many: Assistant) -> None:
    ans = many.answer([{"role": "user", "content": "医疗领域有哪些开放措施？"}])
    assert ans.checks["ok"], ans.checks
    if ans.intent != "topic":
        pytest.skip(f"routed as {ans.intent}")
    cited = {c.plan_id for c in ans.citations}
    assert len(cited) <= LIST_PLANS
    store = many.holder.get()
    first = ans.answer.splitlines()[0]
    total = int(first.split("共 ")[1].split(" 项")[0])
    rest = total - len(ans.citations)
    assert rest > 0 and f"其余 {rest} 项" in ans.answer
    assert "导出" not in ans.answer  # no export for topic lists
    # every synthetic plan is a seed copy with tasks on the topic: listed, or counted by name
    for pid, plan in store.plans.items():
        assert pid in cited or f"{plan.short_name} " in ans.answer, pid


def test_compare_over_many_plans_stays_readable_and_verified(many: Assistant) -> None:
    ans = many.answer([{"role": "user", "content": "各个方案在医疗方面的措施有什么不同？"}])
    assert ans.checks["ok"], ans.checks
    if ans.intent != "compare":
        pytest.skip(f"routed as {ans.intent}")
    first = ans.answer.splitlines()[0]
    assert len(first) < 120, first  # a summary, not one clause per plan
    cited = {c.plan_id for c in ans.citations}
    assert len(cited) <= LIST_PLANS and len(ans.citations) <= LIST_ITEMS
    store = many.holder.get()
    for pid in cited:  # a plan that is shown is shown whole
        title = f"《{store.plans[pid].title}》（"
        line = next(x for x in ans.answer.splitlines() if x.startswith(title))
        assert int(line[len(title):].split(" 项")[0]) == sum(1 for c in ans.citations if c.plan_id == pid)
    assert "另有" in ans.answer and "其余" in ans.answer  # the other plans are counted

