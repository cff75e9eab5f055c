"""Lexical retrieval for Chinese: BM25 over jieba words plus character bigrams.

llama-index's BM25 retriever tokenises on whitespace and English stemming, which
scores 0 on Chinese; this one tokenises for Chinese and is exposed both as a plain
ranking function and as a llama-index BaseRetriever.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ..records import Chunk

STOP = set("的了和与及等在对为是有将按以或并其中各于由")
SCORED_QUERIES = 64  # BM25 score vectors kept (one float and one index per chunk each)
PUNCT_RE = re.compile(r"[\s，。、；：！？“”‘’《》（）()【】\[\]—…·,.;:!?\"'/|｜\-+]+")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def tokenize(text: str) -> list[str]:
    """jieba words (search mode) + character bigrams, punctuation and stop words removed."""
    return list(_tokens(text))


def token_set(text: str) -> frozenset[str]:
    """The distinct tokens of a text (kept: task texts are compared with many questions)."""
    return _token_set(text)


@lru_cache(maxsize=4096)
def _token_set(text: str) -> frozenset[str]:
    return frozenset(_tokens(text))


def _tokens(text: str) -> tuple[str, ...]:
    tokens: list[str] = []
    for seg in PUNCT_RE.split(text):
        if not seg:
            continue
        tokens += [w for w in _jieba().cut_for_search(seg) if w.strip() and w not in STOP]
        tokens += [seg[i : i + 2] for i in range(len(seg) - 1)]
    return tuple(tokens)


class LexicalIndex:
    def __init__(self, chunks: list[Chunk]):
        import bm25s

        self.chunks = chunks
        self._bm25 = bm25s.BM25()
        # token ids, built one chunk at a time: the same index as from token lists, without
        # holding every chunk's token strings at once (hundreds of plans: ~100 MB of memory
        # that fragmentation kept from going back to the system)
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(tok, len(vocab)) for tok in _tokens(c.embed_text)] for c in chunks]
        self._bm25.index((ids, vocab), show_progress=False)
        self._scored: OrderedDict[str, tuple[Any, Any]] = OrderedDict()
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(chunks):
            rows.setdefault(c.plan_id, []).append(i)
        self._rows = {pid: np.asarray(r, dtype=np.int64) for pid, r in rows.items()}
        self._plans = frozenset(rows)
        self._none = np.zeros(0, dtype=np.int64)
        self._lock = threading.Lock()

    def search(
        self, query: str, k: int = 10, plan_ids: set[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        ranked, scores = self._ranked(query)
        if plan_ids and len(ranked) and not self._plans <= plan_ids:
            # only the plans' chunks, ranked the same way (score, then corpus order): the order
            # the whole ranking has once other plans' chunks are skipped
            rows = np.concatenate([self._rows.get(pid, self._none) for pid in sorted(plan_ids)])
            rows.sort()
            ranked = rows[np.argsort(-scores[rows], kind="stable")]
        out = []
        for i in ranked.tolist():
            if scores[i] <= 0:
                break
            out.append((self.chunks[i], float(scores[i])))
            if len(out) >= k:
                break
        return out

    def _ranked(self, query: str) -> tuple[Any, Any]:
        """Every chunk by BM25 score (ties keep corpus order), kept per query: a question
        searched again over other plans (a comparison, a suggestion) is scored once."""
        with self._lock:
            hit = self._scored.get(query)
            if hit is not None:
                self._scored.move_to_end(query)
                return hit
        tokens = tokenize(query)
        if not tokens:
            result: tuple[Any, Any] = (np.zeros(0, dtype=np.int64), np.zeros(0))
        else:
            scores = np.asarray(self._bm25.get_scores(tokens))
            result = (np.argsort(-scores, kind="stable"), scores)  # ties keep corpus order
        with self._lock:
            self._scored[query] = result
            if len(self._scored) > SCORED_QUERIES:
                self._scored.popitem(last=False)
        return result


class LexicalRetriever(BaseRetriever):
    """llama-index retriever over a LexicalIndex."""

    def __init__(self, index: LexicalIndex, k: int = 10, plan_ids: set[str] | None = None):
        super().__init__()
        self._index, self._k, self._plan_ids = index, k, plan_ids

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=TextNode(id_=c.id, text=c.text, metadata=c.metadata()), score=s)
            for c, s in self._index.search(query_bundle.query_str, self._k, self._plan_ids)
        ]
