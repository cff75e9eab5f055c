"""The store's query-embedding cache (a shared LRU whose concurrent callers of one key share
one computation: concurrent requests for one text embed it once) and the dense query's plan
filter (passage ids, none over every plan) matching Chroma's metadata filter."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from assistant.retrieval.store import IndexStore, SharedLRU
from assistant.settings import Settings

N_THREADS = 8


def _together(fn: Any, n: int = N_THREADS) -> list[Any]:
    """fn() on n threads released at once; their results in thread order."""
    barrier = threading.Barrier(n)
    out: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn()
        except BaseException as exc:  # collected, re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


@pytest.mark.unit
def test_shared_lru_computes_once_for_concurrent_callers() -> None:
    lru = SharedLRU(4)
    calls = []

    def compute() -> tuple[float, ...]:
        calls.append(1)
        time.sleep(0.05)  # long enough that every caller arrives while it runs
        return (0.25, 0.5)

    results = _together(lambda: lru.get("q", compute))
    assert len(calls) == 1
    assert all(r is results[0] for r in results)
    assert lru.get("q", compute) is results[0] and len(calls) == 1


@pytest.mark.unit
def test_shared_lru_failure_reaches_every_waiter_and_is_not_kept() -> None:
    lru = SharedLRU(4)
    calls = []

    def fail() -> int:
        calls.append(1)
        time.sleep(0.05)
        raise RuntimeError("model gone")

    with pytest.raises(RuntimeError, match="model gone"):
        _together(lambda: lru.get("q", fail))
    assert len(calls) == 1
    assert "q" not in lru
    assert lru.get("q", lambda: 7) == 7  # the next call computes again


@pytest.mark.unit
def test_shared_lru_is_bounded_and_keeps_the_recently_used() -> None:
    lru = SharedLRU(2)
    lru.get("a", lambda: 1)
    lru.get("b", lambda: 2)
    lru.get("a", lambda: -1)  # a hit: "a" becomes the most recent
    lru.get("c", lambda: 3)
    assert "a" in lru and "c" in lru and "b" not in lru
    assert lru.get("a", lambda: -1) == 1


class _CountingEmbedder:
    """The store's embedder, counting the question embeddings it is asked for."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _count(self, queries: list[str]) -> None:
        with self._lock:
            self.calls += queries

    def _get_query_embedding(self, query: str) -> list[float]:
        self._count([query])
        return self.inner._get_query_embedding(query)  # type: ignore[no-any-return]

    def get_agg_embedding_from_queries(self, queries: list[str]) -> list[float]:
        self._count(queries)
        return self.inner.get_agg_embedding_from_queries(queries)  # type: ignore[no-any-return]


def test_concurrent_questions_embed_a_text_once(index_settings: Settings) -> None:
    store = IndexStore.open(index_settings)
    counting = _CountingEmbedder(store.embedder())
    store._embedder = counting
    text = "外资企业在自由贸易试验区开办医疗机构有什么支持政策"
    vectors = _together(lambda: store.query_embedding(text))
    assert counting.calls == [text]
    assert all(v == vectors[0] for v in vectors)
    fresh = IndexStore.open(index_settings).embedder().get_agg_embedding_from_queries([text])
    assert vectors[0] == list(fresh)  # the vector llama-index's own call computes
    # retrieval embeds the text it searches with once, and asked again embeds nothing
    from assistant.retrieval.retrieve import dense_text, expand_query, hybrid

    plans = sorted(store.plans)
    hits = hybrid(store, text, plans, k=8)
    searched = dense_text(text, expand_query(text, index_settings.corpus_dir / "synonyms.toml"))
    assert counting.calls == list(dict.fromkeys([text, searched]))
    store._memo.clear()  # retrieved again: the vector is kept
    assert [h.chunk.id for h in hybrid(store, text, plans, k=8)] == [h.chunk.id for h in hits]
    assert counting.calls == list(dict.fromkeys([text, searched]))


@pytest.mark.parametrize("whole_ranking_max", [512, 0], ids=["ranked-whole", "filtered-query"])
def test_dense_query_filters_as_the_metadata_filter_does(
    store: IndexStore, whole_ranking_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dense query names the plans by their passage ids, and drops the filter over every
    plan; a small collection is ranked whole once per vector and cut per plan set: either way,
    the same ids in the same order as Chroma's metadata filter on plan_id."""
    from assistant.retrieval import store as store_module

    monkeypatch.setattr(store_module, "WHOLE_RANKING_MAX", whole_ranking_max)
    store._memo.clear()
    plans = sorted(store.plans)
    assert len(plans) >= 2
    collection = store.collection()
    assert set(collection.get(include=[])["ids"]) == set(store.chunks)  # the generation's passages
    for text in ("外资旅行社出境游业务", "数据出境安全评估", "知识产权质押融资", "跨境电商综合试验区"):
        vector = store.query_embedding(text)
        for chosen in [plans, *([p] for p in plans)]:
            by_metadata = collection.query(
                query_embeddings=[vector], n_results=20, where={"plan_id": {"$in": chosen}},
                include=["distances"],
            )["ids"][0]
            got = store.dense_ids(vector, set(chosen))
            assert got == by_metadata
            assert store.dense_ids(vector, set(chosen), k=5) == by_metadata[:5]
            assert got and all(store.passage(cid).plan_id in chosen for cid in got)  # type: ignore[union-attr]


def test_a_chinese_question_is_embedded_as_asked(store: IndexStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # the plans' terms are added for the lexical search only; an English question keeps them
    # for the vector search too (they carry it across languages)
    from assistant.retrieval import retrieve

    seen: list[str] = []
    real = store.query_embedding
    monkeypatch.setattr(store, "query_embedding", lambda text: seen.append(text) or real(text))
    pids = list(store.plans)
    retrieve.hybrid(store, "我想在那边开诊所看病", pids)
    retrieve.hybrid(store, "Can a Hong Kong doctor open a clinic?", pids)
    assert seen[0] == "我想在那边开诊所看病"
    assert seen[1].startswith("Can a Hong Kong doctor open a clinic") and seen[1] != "Can a Hong Kong doctor open a clinic"


def test_a_small_collection_is_queried_once_per_question_vector(
    store: IndexStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same question searched over one plan, then another, then all: one Chroma query."""
    store._memo.clear()
    collection = store.collection()
    calls: list[dict[str, Any]] = []
    real = collection.query
    monkeypatch.setattr(collection, "query", lambda **kw: calls.append(kw) or real(**kw))
    vector = store.query_embedding("跨境电商综合试验区")
    plans = sorted(store.plans)
    for chosen in [*({p} for p in plans), set(plans)]:
        assert store.dense_ids(vector, chosen)
    assert len(calls) == 1 and calls[0]["n_results"] == len(store.chunks)
