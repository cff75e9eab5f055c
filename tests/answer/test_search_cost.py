"""What a question costs in searches, on the real index: a question about one task that the
plans' own words find decisively is answered without embedding it (the vector search could only
add candidates that say less of it); one they find no decisive task for is searched in full;
either way the answer is the one the full search gives. Tasks that say as many of the question's
words are told apart by those words' weight (a word most tasks say weighs little). A question
the plans say nothing of is out of scope without an embedding; of the follow-up chips, only the
one a search answers is checked before it is offered."""

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


@pytest.mark.parametrize("text", ["推荐几只明年能翻倍的股票", "今晚重庆队对成都队的足球赛，你觉得谁会赢？"])
def test_a_question_the_plans_say_nothing_of_needs_no_embedding(index_settings: Settings, text: str) -> None:
    # few of its words are the plans', no task says two of them, and it asks no policy or
    # figure: out of scope whatever the vector search would add
    from assistant.answer import evidence

    assert _gathered(index_settings, text, full=False) == (0, "out_of_scope", [])
    mp = pytest.MonkeyPatch()
    mp.setattr(evidence, "_beyond_plans", lambda *a: False)  # the full search, as before
    try:
        assert _gathered(index_settings, text, full=True) == (1, "out_of_scope", [])
    finally:
        mp.undo()


def test_a_figures_question_the_plans_lack_is_still_searched(index_settings: Settings) -> None:
    # a question of figures is not_covered with the closest tasks, which the full search finds
    embedded, status, _ = _gathered(index_settings, "石柱县城路边停车怎么收费？一小时多少钱？", full=False)
    assert (embedded, status) == (1, "not_covered")


def test_only_chips_a_search_answers_are_checked(index_settings: Settings) -> None:
    # the unit's tasks and task N's units are table lookups: offered as built; "B县有类似措施吗？"
    # depends on what B县's search finds, and the assistant checks it before offering it
    from assistant.answer.suggest import suggest

    store = IndexStore.open(index_settings)
    q = understand("在石柱的外资企业要投诉，到底该找哪个单位？", store.plans, store.registry)
    ev = INTENTS[q.intent].gather(store, q)
    chips = suggest(q, ev, store.plans, store.plan_sizes(), q.text)
    assert [c.retrieved for c in chips] == ["类似" in c.text for c in chips]
    assert any(c.retrieved for c in chips) and not all(c.retrieved for c in chips)


def test_answers_worked_out_at_once_are_bounded_by_the_slots(index_settings: Settings) -> None:
    # more requests than slots queue for one (CPU-bound work shared by all of them at once
    # makes every one of them slow); each is answered as when asked alone
    import threading

    from assistant.answer.assistant import Assistant

    a = Assistant(index_settings.model_copy(update={"answer_slots": 2}))
    inside, most, lock = 0, 0, threading.Lock()
    real = a.gather

    def gather(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            threading.Event().wait(0.05)  # long enough for the others to arrive
            return real(*args, **kwargs)
        finally:
            with lock:
                inside -= 1

    a.gather = gather  # type: ignore[method-assign]
    texts = ["石柱方案第3项由谁牵头？", "垫江方案第5项由谁牵头？", "石柱方案第7项由谁牵头？", "垫江方案第9项由谁牵头？"]
    answers: dict[str, str] = {}
    threads = [threading.Thread(target=lambda t=t: answers.__setitem__(t, a.answer([{"role": "user", "content": t}]).answer))
               for t in texts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert most == 2
    alone = Assistant(index_settings)
    assert answers == {t: alone.answer([{"role": "user", "content": t}]).answer for t in texts}


def test_a_similar_measures_chip_sure_to_find_nothing_costs_no_search(index_settings: Settings) -> None:
    # no 垫江 task at all is like 石柱's IP-litigation task (none shares most of its character
    # pairs, none says as much of the question): "垫江有类似措施吗？" is not offered, and knowing
    # that needs no search of 垫江 (the question itself is answered by the plans' words alone)
    from assistant.answer.assistant import Assistant
    from assistant.retrieval import store as st

    a = Assistant(index_settings)
    calls: list[str] = []
    mp = pytest.MonkeyPatch()
    real = st.IndexStore.query_embedding
    mp.setattr(st.IndexStore, "query_embedding", lambda self, t: calls.append(t) or real(self, t))
    try:
        r = a.answer([{"role": "user", "content": "在石柱打知识产权官司，想先申请保全，简单的案子能不能快点审，这块归哪个单位主抓？"}])
    finally:
        mp.undo()
    assert [(c.plan_id, c.task_number) for c in r.citations] == [("shizhu-2022", 52)]
    assert calls == [] and not any("类似" in s for s in r.suggestions)
