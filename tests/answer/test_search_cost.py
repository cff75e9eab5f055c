"""What a question costs in searches, on the real index: a question about one task that the
plans' own words find decisively is answered without embedding it (the vector search could only
add candidates that say less of it); one they find no decisive task for is searched in full;
either way the answer is the one the full search gives. Tasks that say as many of the question's
words are told apart by those words' weight (a word most tasks say weighs little)."""

from __future__ import annotations

import pytest

from assistant.answer.intents import INTENTS
from assistant.answer.understand import understand
from assistant.retrieval.store import IndexStore
from assistant.settings import Settings

pytestmark = pytest.mark.integration


def _gathered(settings: Settings, text: str, full: bool) -> tuple[int, str, list[tuple[str, int]]]:
    """(embeddings made, status, tasks) for a first question, on a fresh store; `full`: with the
    vector search always asked (what the answer was before the shortcut)."""
    from assistant.answer import evidence

    store = IndexStore.open(settings)
    calls: list[str] = []
    real = store.query_embedding
    store.query_embedding = lambda t: calls.append(t) or real(t)  # type: ignore[method-assign]
    q = understand(text, store.plans, store.registry)
    if full:
        mp = pytest.MonkeyPatch()
        mp.setattr(evidence, "DECISIVE", float("inf"))  # no lexical find is ever decisive
        try:
            ev = INTENTS[q.intent].gather(store, q)
        finally:
            mp.undo()
    else:
        ev = INTENTS[q.intent].gather(store, q)
    return len(calls), ev.status, [(t.plan_id, t.number) for t in ev.tasks()]


@pytest.mark.parametrize("text", [
    "石柱支持港澳服务提供者设立独资医疗机构这项由哪个部门牵头？",
    "知识产权惩罚性赔偿在垫江由谁牵头？",
    "外资旅行社这项由谁牵头？",
])
def test_one_task_the_plans_words_find_decisively_needs_no_embedding(index_settings: Settings, text: str) -> None:
    embedded, status, tasks = _gathered(index_settings, text, full=False)
    assert embedded == 0 and status == "answered" and len(tasks) == 1
    assert _gathered(index_settings, text, full=True)[1:] == (status, tasks)  # what the full search answers


def test_without_a_decisive_find_the_question_is_searched_in_full(index_settings: Settings) -> None:
    # one word of the question, said by several tasks: the full search's order decides, as before
    text = "石柱关于医疗的那项谁牵头？"
    embedded, status, tasks = _gathered(index_settings, text, full=False)
    assert embedded == 1 and status == "answered" and len(tasks) > 1
    assert _gathered(index_settings, text, full=True) == (1, status, tasks)


def test_as_many_words_but_less_of_their_weight_is_no_tie(index_settings: Settings) -> None:
    # 发展 + 经济 (task 48, digital economy) are as many words as 夜间 + 经济 (task 25), but 发展
    # is said by most tasks: task 25 alone answers, and decisively (no embedding)
    embedded, status, tasks = _gathered(index_settings, "石柱发展夜间经济的是哪个部门？", full=False)
    assert (embedded, status, tasks) == (0, "answered", [("shizhu-2022", 25)])
    assert _gathered(index_settings, "石柱发展夜间经济的是哪个部门？", full=True)[1:] == (status, tasks)
