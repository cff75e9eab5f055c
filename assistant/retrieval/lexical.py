"""Lexical retrieval for Chinese: BM25 over jieba words plus character bigrams.

llama-index's BM25 retriever tokenises on whitespace and English stemming, which
scores 0 on Chinese; this one tokenises for Chinese and is exposed both as a plain
ranking function and as a llama-index BaseRetriever.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from ..records import Chunk

STOP = set("的了和与及等在对为是有将按以或并其中各于由")
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
    tokens: list[str] = []
    for seg in PUNCT_RE.split(text):
        if not seg:
            continue
        tokens += [w for w in _jieba().cut_for_search(seg) if w.strip() and w not in STOP]
        tokens += [seg[i : i + 2] for i in range(len(seg) - 1)]
    return tokens


class LexicalIndex:
    def __init__(self, chunks: list[Chunk]):
        import bm25s

        self.chunks = chunks
        self._bm25 = bm25s.BM25()
        self._bm25.index([tokenize(c.embed_text) for c in chunks], show_progress=False)

    def search(
        self, query: str, k: int = 10, plan_ids: set[str] | None = None
    ) -> list[tuple[Chunk, float]]:
        tokens = tokenize(query)
        if not tokens:
            return []
        scores = self._bm25.get_scores(tokens)
        ranked = np.argsort(-np.asarray(scores), kind="stable")  # ties keep corpus order
        out = []
        for i in ranked.tolist():
            if scores[i] <= 0:
                break
            if plan_ids and self.chunks[i].plan_id not in plan_ids:
                continue
            out.append((self.chunks[i], float(scores[i])))
            if len(out) >= k:
                break
        return out


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
