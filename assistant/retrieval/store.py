"""The query-time view of one index generation: tables, unit registry, retrievers.

`IndexStore.open(settings)` follows index/CURRENT; `StoreHolder` re-opens when
CURRENT changes (after a reindex, in any worker process), so nothing that must be
shared lives only in one process's memory.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from ..ingest.index import chroma_client, collection_name, current_generation, task_from_dict
from ..ingest.units import AliasTable, UnitRegistry
from ..records import Chunk, Issue, Plan, Section, Task, Unit
from ..settings import Settings, prepare_offline_runtime

Role = Literal["lead", "responsible", "any"]
QUERY_VECTORS = 512  # question vectors kept per generation (repeated and suggested questions)
MEMO_SIZE = 1024  # results of pure per-question steps kept per generation and step
WHOLE_RANKING_MAX = 512  # passages: a collection this small is ranked whole by one query per vector
T = TypeVar("T")


class SharedLRU:
    """A bounded LRU of computed values in which concurrent callers of one key share a single
    computation: the first computes, the others wait for its result (a failure reaches every
    waiter and is not kept, so the next call tries again)."""

    def __init__(self, size: int):
        self.size = size
        self._done: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]  # type: ignore[no-any-return]
            running = self._running.get(key)
            if running is None:
                mine: Future[Any] = Future()
                self._running[key] = mine
        if running is not None:
            return running.result()  # type: ignore[no-any-return]
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                del self._running[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            self._done[key] = value
            if len(self._done) > self.size:
                self._done.popitem(last=False)
            del self._running[key]
        mine.set_result(value)
        return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._done


class IndexMissingError(RuntimeError):
    """No index has been built yet (run `assistant ingest`)."""


class VectorStoreError(RuntimeError):
    """The vector store (Chroma, embedded or server) cannot be read right now."""


@dataclass
class IndexStore:
    generation: str
    plans: dict[str, Plan]
    tasks: list[Task]
    sections: list[Section]
    chunks: dict[str, Chunk]
    registry: UnitRegistry
    issues: list[Issue]
    settings: Settings
    _collection: Any = None
    _embedder: Any = None
    _lexical: Any = None
    _open_lock: Any = field(default_factory=threading.Lock)
    _query_vectors: Any = field(default_factory=lambda: SharedLRU(QUERY_VECTORS))
    _memo: Any = field(default_factory=dict)
    _memo_lock: Any = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings) -> IndexStore:
        prepare_offline_runtime(settings)
        gen = current_generation(settings.index_dir)
        if gen is None:
            raise IndexMissingError(
                f"{settings.index_dir} 下还没有索引，请先运行 `assistant ingest`"
            )
        data = json.loads((settings.index_dir / "gens" / gen / "tables.json").read_text("utf-8"))
        plans = {p["id"]: Plan(**p) for p in data["plans"]}
        tasks = [task_from_dict(t) for t in data["tasks"]]
        sections = [Section(**{**s, "path": tuple(s["path"])}) for s in data["sections"]]
        chunks: dict[str, Chunk] = {}
        for c in data["chunks"]:
            c = {k: v for k, v in c.items() if k != "id"}
            chunk = Chunk(
                **{
                    **c,
                    "section_path": tuple(c["section_path"]),
                    "task_numbers": tuple(c["task_numbers"]),
                }
            )
            chunks[chunk.id] = chunk
        units = [
            Unit(**{**u, "aliases": tuple(u["aliases"]), "plans": tuple(u["plans"])})
            for u in data["units"]
        ]
        registry = UnitRegistry(units, plans, AliasTable.load(settings.aliases_path))
        issues = [Issue(**i) for i in data["issues"]]
        return cls(gen, plans, tasks, sections, chunks, registry, issues, settings)

    # ---- structured lookups (complete, never top-k) ----
    def __post_init__(self) -> None:
        self._tasks_by_key = {(t.plan_id, t.number): t for t in self.tasks}
        self._task_chunks = {
            (c.plan_id, c.task_number): c for c in self.chunks.values() if c.kind == "task"
        }
        self._all_task_chunks = [c for c in self.chunks.values() if c.kind == "task"]
        self._plan_passages: dict[str, list[str]] = {}  # every passage (the vectors' ids) by plan
        for cid, c in self.chunks.items():
            self._plan_passages.setdefault(c.plan_id, []).append(cid)
        self._plan_task_chunks: dict[str, list[Chunk]] = {}
        for c in self._all_task_chunks:
            self._plan_task_chunks.setdefault(c.plan_id, []).append(c)
        self._plan_tasks: dict[str, list[Task]] = {}
        self._unit_tasks: dict[str, list[Task]] = {}
        for t in self.tasks:
            self._plan_tasks.setdefault(t.plan_id, []).append(t)
            for name in dict.fromkeys((*t.lead, *t.responsible)):
                self._unit_tasks.setdefault(name, []).append(t)
        self._passage_ids: dict[tuple[str, int], str] | None = None
        self._plan_sizes: dict[str, int] | None = None
        self._topics: dict[tuple[str, int], str] = {}
        for c in self.chunks.values():  # body paragraphs that restate annex rows lend their heading
            for n in c.task_numbers:
                self._topics[(c.plan_id, n)] = self._topics.get((c.plan_id, n), "") + (
                    " " + " ".join(c.section_path[1:])
                )

    def task_chunks_in(self, plan_ids: set[str]) -> list[Chunk]:
        """Task chunks of the given plans, in index order."""
        if len(plan_ids) == 1:
            return self._plan_task_chunks.get(next(iter(plan_ids)), [])
        return [c for c in self._all_task_chunks if c.plan_id in plan_ids]

    def task(self, plan_id: str, number: int) -> Task | None:
        return self._tasks_by_key.get((plan_id, number))

    def task_topics(self, task: Task) -> str:
        """The plan's own headings above a task (and above the body paragraph restating it):
        the topics a reader would file it under."""
        own = " ".join((*task.section_path, task.heading))
        return f"{own} {self._topics.get((task.plan_id, task.number), '')}".strip()

    def plan_tasks(self, plan_id: str) -> list[Task]:
        return list(self._plan_tasks.get(plan_id, ()))

    def tasks_for_unit(
        self, unit: str, plan_id: str | None = None, role: Role = "any"
    ) -> list[Task]:
        """Every task where the unit (canonical name) has the role."""
        out = []
        for t in self._unit_tasks.get(unit, ()):
            if plan_id and t.plan_id != plan_id:
                continue
            lead, resp = unit in t.lead, unit in t.responsible
            if (
                (role == "lead" and lead)
                or (role == "responsible" and resp)
                or (role == "any" and (lead or resp))
            ):
                out.append(t)
        return out

    def resolve_unit(self, query: str, plan_id: str | None = None) -> list[Unit]:
        return self.registry.resolve(query, [plan_id] if plan_id else None)

    def passage(self, chunk_id: str) -> Chunk | None:
        return self.chunks.get(chunk_id)

    def task_chunk(self, task: Task) -> Chunk | None:
        return self._task_chunks.get((task.plan_id, task.number))

    def memo(self, step: str, key: Hashable, compute: Callable[[], T], size: int = MEMO_SIZE) -> T:
        """The result of a pure step over this generation (retrieval for a text, a question's
        evidence), computed once per key and kept in a bounded LRU per step. A new generation is
        a new store, so nothing outlives the index it was computed from. Callers must treat the
        result as read-only. Failures are not kept (a question that hit a Chroma outage is
        asked again once it is back)."""
        with self._memo_lock:
            lru = self._memo.setdefault(step, OrderedDict())
            if key in lru:
                lru.move_to_end(key)
                return lru[key]  # type: ignore[no-any-return]
        value = compute()
        with self._memo_lock:
            lru[key] = value
            if len(lru) > size:
                lru.popitem(last=False)
        return value

    def task_passage_ids(self) -> dict[tuple[str, int], str]:
        """(plan, task number) → the task's passage id, for every task (built once)."""
        if self._passage_ids is None:
            self._passage_ids = {
                (t.plan_id, t.number): c.id for t in self.tasks if (c := self.task_chunk(t))
            }
        return self._passage_ids

    def plan_sizes(self) -> dict[str, int]:
        """Each plan's highest task number (0 for a plan without tasks), built once."""
        if self._plan_sizes is None:
            self._plan_sizes = {
                pid: max((t.number for t in self._plan_tasks.get(pid, ())), default=0) for pid in self.plans
            }
        return self._plan_sizes

    # ---- retrieval backends (opened lazily) ----
    def embedder(self) -> Any:
        if self._embedder is None:
            from .embed import make_embedder

            self._embedder = make_embedder(self.settings)
        return self._embedder

    def query_embedding(self, text: str) -> list[float]:
        """The question's vector, computed once per text (every plan of a comparison and every
        retriever call reuses it, and concurrent requests for one text embed it once); the
        same vector llama-index's retriever would compute."""
        from .embed import query_vector

        vec = self._query_vectors.get(text, lambda: tuple(query_vector(self.embedder(), text)))
        return list(vec)

    def dense_ids(self, vector: list[float], plan_ids: set[str], k: int = 20) -> list[str]:
        """Ids of the k passages nearest to a question vector within the plans, best first:
        one Chroma query (embedded or server) asking for ids and distances only (the passages
        themselves are in the tables), as llama-index's ChromaVectorStore filters them. The
        vector goes as float32 (what Chroma stores; a list of floats costs a conversion per
        query). The generation's collection holds exactly its plans' passages, so in the
        embedded store the plans are named by their passage ids (Chroma's metadata filter costs
        0.2–2 ms more per query at 1k passages, 1–18 ms at 9k), and a search over every plan
        needs no filter: the same ids in the same order as the metadata filter
        (tests/retrieval/test_store.py)."""
        total = len(self.chunks)
        if total <= WHOLE_RANKING_MAX:
            # a small collection is ranked whole, once per vector: the same question searched
            # again over other plans (a comparison, the check that "…有类似措施吗？" is
            # answerable) costs no second query
            key = np.asarray(vector, dtype=np.float32).tobytes()
            ranking = self.memo("dense_ranking", key, lambda: self._nearest(vector, total, {}))
            if set(self.plans) <= plan_ids:
                return list(ranking[:k])
            return [cid for cid in ranking if self.chunks[cid].plan_id in plan_ids][:k]
        query: dict[str, Any] = {}
        if not set(self.plans) <= plan_ids:
            if self.settings.chroma_host:  # a Chroma server: not measured with id lists
                query["where"] = {"plan_id": {"$in": sorted(plan_ids)}}
            else:
                query["ids"] = [cid for pid in sorted(plan_ids) for cid in self._plan_passages.get(pid, ())]
        return list(self._nearest(vector, k, query))

    def _nearest(self, vector: list[float], k: int, where: dict[str, Any]) -> tuple[str, ...]:
        result = self.collection().query(
            query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k, include=["distances"], **where
        )
        return tuple(result["ids"][0])

    def collection(self) -> Any:
        with self._open_lock:  # concurrent first queries must not open Chroma twice
            try:
                return self._open_collection()
            except Exception as exc:
                raise VectorStoreError(f"cannot open the vector collection: {exc}") from exc

    def vector_count(self) -> int:
        """Vectors in this generation's collection; VectorStoreError when Chroma cannot say,
        or when the embedded store's files are gone (a restart could not open them)."""
        if not self.settings.chroma_host:
            if not (self.settings.index_dir / "chroma" / "chroma.sqlite3").is_file():
                raise VectorStoreError("the embedded Chroma files are missing")
        collection = self.collection()
        try:
            return int(collection.count())
        except Exception as exc:
            raise VectorStoreError(f"cannot read the vector collection: {exc}") from exc

    def _open_collection(self) -> Any:
        if self._collection is None:
            from .embed import ChromaEmbedding

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._collection = chroma_client(self.settings).get_collection(
                    collection_name(self.generation),
                    embedding_function=ChromaEmbedding(self.embedder()),
                )
        return self._collection

    def lexical(self) -> Any:
        if self._lexical is None:
            from .lexical import LexicalIndex

            self._lexical = LexicalIndex(list(self.chunks.values()))
        return self._lexical


class StoreHolder:
    """Holds the live IndexStore and swaps it when index/CURRENT names a new one."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._store: IndexStore | None = None
        self._lock = threading.Lock()
        self._pointer: tuple[tuple[int, int, int] | None, str | None] = (None, None)

    def generation(self) -> str | None:
        """The live generation. CURRENT is replaced atomically (os.replace), so its inode,
        mtime and size change with every swap: it is re-read only when one of them did."""
        try:
            st = os.stat(self.settings.index_dir / "CURRENT")
        except FileNotFoundError:
            return None
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        seen, gen = self._pointer
        if sig != seen:
            gen = current_generation(self.settings.index_dir)
            self._pointer = (sig, gen)
        return gen

    def get(self) -> IndexStore:
        gen = self.generation()
        store = self._store
        if store is not None and store.generation == gen:
            return store
        with self._lock:
            if self._store is None or self._store.generation != gen:
                self._store = IndexStore.open(self.settings)
            return self._store

    @property
    def index_dir(self) -> Path:
        return self.settings.index_dir
