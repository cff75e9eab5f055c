"""Retrieval: structured lookups for list questions, hybrid search for the rest.

Hybrid = lexical (jieba + bigram BM25), dense (the Chroma collection llama-index's
ChromaVectorStore holds, queried for ids and distances only) and phrase overlap, fused by
reciprocal rank. Hits on body paragraphs that restate annex rows are expanded to those rows,
so the answer can cite the row with its units.

Every step is pure over an index generation, so results are kept per generation
(`IndexStore.memo`): a question asked again, or searched again over other plans, costs no
second BM25 scoring, embedding or Chroma query.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..records import Chunk, Task
from .lexical import token_set
from .store import IndexStore, VectorStoreError

LATIN_LETTER_RE = re.compile(r"[A-Za-z]")


def rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ranked id lists: score(id) = Σ 1 / (k + rank)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass
class Hit:
    chunk: Chunk
    score: float
    task: Task | None = None


def _synonyms(path: Path) -> tuple[tuple[str, str], ...]:
    return _load_synonyms(path, _mtime(path))  # re-read when the file changes, even in a running server


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@lru_cache(maxsize=4)
def _load_synonyms(path: Path, mtime: int) -> tuple[tuple[str, str], ...]:
    if not mtime:
        return ()
    data = tomllib.loads(path.read_text("utf-8"))
    return tuple(
        (word.lower(), plan_term)
        for table in ("terms", "english")
        for plan_term, words in data.get(table, {}).items()
        for word in words
    )


def synonyms_version(store: IndexStore) -> int:
    """Changes when corpus/synonyms.toml does: part of the key of anything that expands queries."""
    return _mtime(store.settings.corpus_dir / "synonyms.toml")


def _has_word(text: str, word: str) -> bool:
    """Chinese words match as substrings, Latin words only as whole words, whichever way the
    asker joins a compound ("live-stream" = "live stream" = "livestream", see `_whole_word`)."""
    if word.isascii():  # a whole-word match is a substring of the joined-up text first (cheap)
        return _joined(word) in _joined(text) and _whole_word(word).search(text) is not None
    return word in text


LATIN_JOINERS_RE = re.compile(r"[\s\-\u2010\u2011\u2012\u2013]+")  # space, hyphen and dashes
LATIN_JOINER = r"(?:\s*[\-\u2010\u2011\u2012\u2013]\s*|\s+)?"  # between two parts: nothing, a space or a hyphen
LATIN_HYPHEN = r"[\-\u2010\u2011]?"  # inside a part: nothing or a hyphen ("e-commerce", "ecommerce")
LATIN_PART_MIN = 3  # a space may split a one-word entry only into parts this long ("live stream")


def latin_key(text: str) -> str:
    """A Latin word or phrase with its spaces and hyphens taken out: the form its spelling
    variants share ("high-tech", "high tech" and "hightech" are all "hightech")."""
    return LATIN_JOINERS_RE.sub("", text.lower())


@lru_cache(maxsize=65536)  # the glossary's words and the texts they are looked for in
def _joined(text: str) -> str:
    return latin_key(text)


@lru_cache(maxsize=4096)
def _whole_word(word: str) -> re.Pattern[str]:
    """A Latin word or phrase as a whole word: bounded by non-letters (\\b fails beside 汉字,
    which count as word characters), its last word in any of the regular inflections
    (patent → patented, punish → punishing, infringe → infringement).

    Compounds are spelt three ways, and each entry matches all of them: where the entry has a
    space or hyphen the text may have either or nothing ("live stream" finds "livestream"); a
    one-word entry may be split by a hyphen anywhere ("ecommerce" finds "e-commerce") or by a
    space between two parts of at least three letters ("livestream" finds "live stream", but
    "son" does not find "what's on")."""
    parts = [p for p in LATIN_JOINERS_RE.split(word) if p]
    pieces = []
    for k, part in enumerate(parts):
        if k:
            pieces.append(LATIN_JOINER)
        for i, ch in enumerate(part):
            if i:
                inner = i >= LATIN_PART_MIN and len(part) - i >= LATIN_PART_MIN
                pieces.append(LATIN_JOINER if inner else LATIN_HYPHEN)
            pieces.append(re.escape(ch))
    tail = "(?:s|es|d|ed|ing|ment|ments)?" if re.search(r"[a-z]{4}$", word) else ""
    return re.compile(rf"(?<![a-z]){''.join(pieces)}{tail}(?![a-z])")


def synonym_pairs(synonyms_file: Path) -> tuple[tuple[str, str], ...]:
    """(everyday word, plan term) pairs from corpus/synonyms.toml."""
    return _synonyms(synonyms_file)


def expand_query(text: str, synonyms_file: Path) -> str:
    """Add the plans' own terms for everyday words (香港 → 港澳, 诊所 → 医疗机构)."""
    return _expand(text, _synonyms(synonyms_file))


@lru_cache(maxsize=4096)
def _expand(text: str, pairs: tuple[tuple[str, str], ...]) -> str:
    low = text.lower()
    latin = LATIN_LETTER_RE.search(low) is not None  # Latin words are looked for only beside Latin letters
    said = [(word, term) for word, term in pairs if (latin or not word.isascii()) and _has_word(low, word)]
    inside = within_phrases(low, [word for word, _ in said])
    extra = [term for word, term in said if word not in inside and term not in text]
    return text + (" " + " ".join(dict.fromkeys(extra)) if extra else "")


def within_phrases(text: str, words: Sequence[str]) -> set[str]:
    """Of the Latin glossary words a text says, those it says only inside a longer glossary
    phrase it also says: "permit" in "work permit" means 工作许可, not 审批 (the phrase's term
    only, as in topic matching)."""
    latin = [w for w in dict.fromkeys(words) if w.isascii()]
    spans = {w: [m.span() for m in _whole_word(w).finditer(text)] for w in latin}
    out = set()
    for w in latin:
        longer = [s for v in latin if len(latin_key(v)) > len(latin_key(w)) for s in spans[v]]
        if spans[w] and all(any(a <= x and y <= b for a, b in longer) for x, y in spans[w]):
            out.add(w)
    return out


def hybrid(store: IndexStore, query: str, plan_ids: Sequence[str], k: int = 8, dense: bool = True) -> list[Hit]:
    """Top-k chunks for a free-text question within the given plans (kept per generation:
    the same text over the same plans is retrieved once). Punctuation around the question says
    nothing of what it asks: "…多少？" and "…多少，谢谢！" (wrapper removed) retrieve alike.
    `dense=False`: the lexical and phrase rankings only (no embedding, no vector query)."""
    query = query.strip().strip("？?！!。.，,；;：: ")
    text = expand_query(query, store.settings.corpus_dir / "synonyms.toml")
    pids = tuple(sorted(set(plan_ids)))
    key = (query, text, pids, k, dense)
    return list(store.memo("hybrid", key, lambda: _hybrid(store, query, text, set(pids), k, dense)))


def dense_text(query: str, expanded: str) -> str:
    """What is embedded for the vector search: a Chinese question as asked (the model reads
    everyday words itself; the plans' terms added for the lexical search made its embedding
    ~10% dearer, and no dev-set answer better), an English one with the plans' Chinese terms
    added (they carry it across languages)."""
    return expanded if LATIN_LETTER_RE.search(query) else query


def _hybrid(store: IndexStore, query: str, text: str, pids: set[str], k: int, use_dense: bool) -> tuple[Hit, ...]:
    # the lexical and phrase rankings are kept apart from the fused result: a question searched
    # first without the vector search and then with it ranks them once
    key = (text, tuple(sorted(pids)))
    lexical = store.memo("lexical", key, lambda: tuple(store.lexical().search(text, k=20, plan_ids=pids)))
    dense: list[str] = []
    if use_dense:
        try:
            dense = store.dense_ids(store.query_embedding(dense_text(query, text)), pids, k=20)
        except Exception as exc:  # Chroma down, files gone or corrupt: the caller answers 503
            raise VectorStoreError(f"vector search failed: {exc}") from exc
    phrase = store.memo("phrase", (query, key[1]), lambda: tuple(phrase_ranking(store, query, pids)))
    fused = rrf([[c.id for c, _ in lexical], dense, phrase])
    hits: list[Hit] = []
    for cid, score in fused:
        chunk = store.passage(cid)
        if chunk is None or chunk.kind in ("header", "annex"):
            continue
        hits.append(
            Hit(
                chunk,
                score,
                store.task(chunk.plan_id, chunk.task_number) if chunk.task_number is not None else None,
            )
        )
    return tuple(hits[:k])


PHRASE_SKIP_RE = re.compile(r"[\s，。、；：？！?!,.“”\"]")


def longest_shared(query: str, text: str, min_len: int = 4) -> int:
    """Length of the longest run of the question found verbatim in the text (0 if < min_len)."""
    q = PHRASE_SKIP_RE.sub("", query)
    best = 0
    for i in range(len(q)):
        n = max(best + 1, min_len)
        while i + n <= len(q) and q[i : i + n] in text:
            best = n
            n += 1
    return best


def phrase_ranking(store: IndexStore, query: str, plan_ids: set[str], k: int = 10) -> list[str]:
    """Task chunks that repeat a phrase of the question (资信调查, 趁鲜切制), longest first:
    a third list for fusion that rewards the plan's exact wording."""
    probe = runs_of(PHRASE_SKIP_RE.sub("", query), 4)
    if probe is None:
        return []
    # one automaton pass finds the chunks sharing any 4-character run; only those are measured
    scored = [
        (longest_shared(query, c.text), c.id)
        for c in store.task_chunks_in(plan_ids)
        if next(probe.iter(c.text), None) is not None
    ]
    return [cid for n, cid in sorted(scored, key=lambda x: -x[0]) if n][:k]


@lru_cache(maxsize=1024)
def runs_of(q: str, n: int) -> Any:
    """An Aho-Corasick automaton of every n-character run of q (None when q is shorter)."""
    import ahocorasick

    runs = {q[i : i + n] for i in range(len(q) - n + 1)}
    if not runs:
        return None
    automaton = ahocorasick.Automaton()
    for run in runs:
        automaton.add_word(run, run)
    automaton.make_automaton()
    return automaton


def tasks_from_hits(store: IndexStore, hits: list[Hit], query: str, limit: int = 5) -> list[Task]:
    """Tasks in hit order; a body paragraph contributes the linked rows that best match."""
    q = token_set(query)
    out: list[Task] = []
    for h in hits:
        if h.task is not None:
            cands = [h.task]
        else:
            cands = [t for n in h.chunk.task_numbers if (t := store.task(h.chunk.plan_id, n))]
            cands.sort(key=lambda t: -len(q & token_set(t.text)))
            cands = cands[:2]
        for t in cands:
            if t not in out:
                out.append(t)
    return out[:limit]
