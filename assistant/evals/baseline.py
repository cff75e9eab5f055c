"""Baselines: what one builds with llama-index and no domain structure. Neither has an LLM.

- `Baseline` ("baseline", llama-index defaults): corpus .txt files as Documents
  (SimpleDirectoryReader), default SentenceSplitter chunks, a VectorStoreIndex over a
  ChromaVectorStore (embedded PersistentClient, telemetry off, our explicit embedding
  function), the same embedding model as ours, no LLM (`Settings.llm = None`), top-5
  retrieval, no structure.
- `HybridBaseline` ("hybrid", a competent one): the same chunks and vector retriever,
  fused with BM25 over jieba tokens (`JiebaBM25Retriever`, bm25s) by llama-index's
  `QueryFusionRetriever` (reciprocal rank fusion, one query, no LLM), top 5.

Their answer is the retrieved chunks' text; their citations are the retrieved nodes
(intent `retrieval`). The index is cached under <index_dir>/baseline/ and rebuilt only
when the corpus text or the embedding mode changes.
"""

from __future__ import annotations

import hashlib
import logging
import re
import warnings
from pathlib import Path
from typing import Any, cast

from ..settings import Settings, prepare_offline_runtime

TOP_K = 5
CANDIDATES = 10  # per retriever, before fusion
LEADING_NUMBER_RE = re.compile(r"^\s*[（(]?(\d{1,2})\s*[)）.．、]")


def corpus_files(settings: Settings) -> list[Path]:
    return sorted(p for p in settings.corpus_dir.glob("*.txt") if p.stem.upper() != "README")


def fingerprint(settings: Settings) -> str:
    h = hashlib.sha256()
    for p in corpus_files(settings):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    model = settings.embed_model if settings.embed_mode == "openai" else ""
    h.update(f"{settings.embed_mode}|{model}".encode())
    return h.hexdigest()[:12]


def leading_task_number(text: str) -> int | None:
    """A task number the chunk starts with ('3. 自然垄断…'), if any: all a plain splitter leaves."""
    m = LEADING_NUMBER_RE.match(text)
    return int(m.group(1)) if m else None


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens, lower-cased, punctuation and whitespace dropped."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return [t.lower() for t in jieba.lcut_for_search(text or "") if any(ch.isalnum() for ch in t)]


def _bm25_retriever_class() -> Any:
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, QueryBundle

    class JiebaBM25Retriever(BaseRetriever):
        """BM25 (bm25s) over jieba tokens of the given nodes."""

        def __init__(self, nodes: list[Any], similarity_top_k: int = CANDIDATES):
            import bm25s

            super().__init__()
            self._nodes = list(nodes)
            self._k = similarity_top_k
            self._bm25 = bm25s.BM25()
            self._bm25.index([tokenize(n.get_content()) for n in self._nodes], show_progress=False)

        def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
            tokens = tokenize(query_bundle.query_str)
            if not tokens or not self._nodes:
                return []
            ids, scores = self._bm25.retrieve(
                [tokens], k=min(self._k, len(self._nodes)), show_progress=False
            )
            return [
                NodeWithScore(node=self._nodes[int(i)], score=float(s))
                for i, s in zip(ids[0], scores[0], strict=True)
                if s > 0
            ]

    return JiebaBM25Retriever


def JiebaBM25Retriever(nodes: list[Any], similarity_top_k: int = CANDIDATES) -> Any:
    """A llama-index BaseRetriever: BM25 over jieba tokens (class built lazily: no import cost)."""
    return _bm25_retriever_class()(nodes, similarity_top_k)


class Baseline:
    """`answer(messages, plan_id) -> dict` with the same shape as `Answer.to_dict()`."""

    name = "baseline"

    def __init__(self, settings: Settings):
        prepare_offline_runtime(settings)
        self.settings = settings
        self.root = settings.index_dir / "baseline"
        self.built = False  # True when this instance (re)built the index
        self._retriever: Any = None
        self._index: Any = None
        self._store: Any = None
        self._titles: dict[str, str] = {}

    def _make_retriever(self, index: Any) -> Any:
        return index.as_retriever(similarity_top_k=TOP_K)

    def _open(self) -> Any:
        if self._retriever is not None:
            return self._retriever
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Settings as LlamaSettings
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from ..retrieval.embed import ChromaEmbedding, make_embedder

        # no LLM: retrieval only (llama-index documents None; its setter's type only
        # admits None implicitly, which mypy misses once langchain is installed)
        LlamaSettings.llm = None  # type: ignore[assignment]
        embedder = make_embedder(self.settings)
        self.root.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(self.root / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
        )
        name = f"baseline-{fingerprint(self.settings)}"
        existing = {c if isinstance(c, str) else c.name for c in client.list_collections()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name in existing and client.get_collection(name).count() > 0:
                collection = client.get_collection(
                    name, embedding_function=cast(Any, ChromaEmbedding)(embedder)
                )
                store = ChromaVectorStore(chroma_collection=collection)
                index = VectorStoreIndex.from_vector_store(store, embed_model=embedder)
            else:
                for old in existing:
                    if old.startswith("baseline-"):
                        client.delete_collection(old)
                collection = client.create_collection(
                    name, embedding_function=cast(Any, ChromaEmbedding)(embedder)
                )
                store = ChromaVectorStore(chroma_collection=collection)
                docs = SimpleDirectoryReader(
                    input_files=[str(p) for p in corpus_files(self.settings)]
                ).load_data()
                index = VectorStoreIndex.from_documents(
                    docs,
                    storage_context=StorageContext.from_defaults(vector_store=store),
                    embed_model=embedder,
                    transformations=[SentenceSplitter()],
                )
                self.built = True
        self._titles = {p.stem: p.stem for p in corpus_files(self.settings)}
        self._index, self._store = index, store
        self._retriever = self._make_retriever(index)
        return self._retriever

    def answer(self, messages: list[dict[str, str]], plan_id: str | None = None) -> dict[str, Any]:
        """Retrieve for the last user message; plan_id and earlier turns are ignored."""
        query = next(m["content"] for m in reversed(messages) if m.get("role") == "user")
        nodes = self._open().retrieve(query)
        citations = []
        for i, n in enumerate(nodes, 1):
            meta = n.node.metadata or {}
            pid = Path(meta.get("file_name") or meta.get("file_path") or "").stem
            text = n.node.get_content()
            citations.append(
                {
                    "marker": i,
                    "plan_id": pid,
                    "plan_title": self._titles.get(pid, pid),
                    "task_number": leading_task_number(text),
                    "section": "",
                    "quote": text,
                    "passage_id": n.node.node_id,
                    "lead": [],
                    "responsible": [],
                    "role_word": "",
                }
            )
        return {
            "answer": "\n\n".join(c["quote"] for c in citations),
            "status": "answered" if citations else "not_covered",
            "intent": "retrieval",
            "citations": citations,
            "suggestions": [],
            "plan_ids": list(dict.fromkeys(c["plan_id"] for c in citations)),
            "mode": self.name,
            "notice": "",
        }


class HybridBaseline(Baseline):
    """Vector + BM25 (jieba) fused by QueryFusionRetriever (reciprocal rank, no LLM)."""

    name = "hybrid"

    def _make_retriever(self, index: Any) -> Any:
        from llama_index.core.retrievers import QueryFusionRetriever

        nodes = sorted(self._store.get_nodes(None), key=lambda n: n.node_id)
        return QueryFusionRetriever(
            [index.as_retriever(similarity_top_k=CANDIDATES), JiebaBM25Retriever(nodes)],
            llm=None,
            mode="reciprocal_rerank",  # type: ignore[arg-type]
            num_queries=1,  # no query generation: that would need an LLM
            similarity_top_k=TOP_K,
            use_async=False,
        )
