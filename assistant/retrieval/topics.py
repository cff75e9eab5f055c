"""Which tasks a topic covers, and how much of a question a task says.

A task is described by its own words plus the plan's headings above it (and above the body
paragraph that restates it), so "医疗" finds every task under 健康医疗服务领域 as well as
those whose text says 医疗. Everyday words map to the plans' terms through
corpus/synonyms.toml. Pure string work over the index tables: no embedding, no model.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..records import Task
from .retrieve import _has_word, synonym_pairs
from .store import IndexStore

FUNCTION_CHARS = set("那这哪要找去的了吗呢吧啊呀还就也都又再可能会是有在和与及或把被给让对向从该此其么个些想请问")
ALT_SPLIT_RE = re.compile(r"[、/]|以及|\bor\b|\band\b|和|或|及|与")  # 或者 is 或 + 者


@lru_cache(maxsize=1)
def _generic() -> frozenset[str]:
    from ..answer.language import lexicon

    return frozenset(w.lower() for w in lexicon()["generic"]["words"])


def _jieba() -> object:
    import jieba

    jieba.setLogLevel(60)
    return jieba


def content_words(text: str) -> list[str]:
    """The words of a text that can carry a topic (no question words, no punctuation)."""
    jieba = _jieba()
    out: list[str] = []
    for w in jieba.cut(text.lower()):  # type: ignore[attr-defined]
        w = w.strip()
        if not w or w in _generic() or not re.search(r"[\u4e00-\u9fffa-z]", w):
            continue
        if re.fullmatch(r"[\u4e00-\u9fff]", w) or (w.isascii() and len(w) < 3):
            continue
        if all(ch in FUNCTION_CHARS for ch in w):  # 那要, 还是, 就是: function words run together
            continue
        out.append(w)
    return list(dict.fromkeys(out))


HEADING_PART_RE = re.compile(r"及|和|与|、|以及")


def _own_headings(task: Task, headings: str) -> str:
    """The parts of the headings above a task that are about it: a compound heading
    ("强化数据及知识产权保护") lends a part only to the tasks whose text shares a word with
    that part, so the data tasks under it are not filed under 知识产权 too."""
    out = []
    for heading in headings.split():
        parts = [p for p in HEADING_PART_RE.split(heading) if p]
        if len(parts) < 2:
            out.append(heading)
            continue
        for part in parts:
            words = [w for w in content_words(part) if len(w) >= 2]
            head = [w for w in words if len(w) == max(map(len, words))] if words else []
            if any(w in task.text for w in head):  # its most specific word, not 保护 or 推进
                out.append(part)
    return " ".join(out)


def bigrams(text: str) -> set[str]:
    t = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def similarity(a: str, b: str) -> float:
    """Share of the shorter text's character bigrams found in the other (containment), so a
    task that bundles several measures still matches each measure it contains."""
    x, y = bigrams(a), bigrams(b)
    return len(x & y) / min(len(x), len(y)) if x and y else 0.0


def _categories(path: Path) -> dict[str, tuple[str, ...]]:
    """A domain word and the narrower terms plans use for it (金融 → 融资, 贷款, 保险 …)."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text("utf-8")).get("categories", {})
    return {k: tuple(v) for k, v in data.items()}


@dataclass
class TopicMatcher:
    docs: dict[tuple[str, int], str]  # task key → its words and headings
    corpus: str
    pairs: tuple[tuple[str, str], ...]  # (everyday word, plan term)
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)  # 金融 → 融资, 保险 …
    _cache: dict[str, list[list[tuple[str, set[str], list[str]]]]] = field(default_factory=dict)
    _idf: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_store(cls, store: IndexStore) -> TopicMatcher:
        cached = getattr(store, "_topic_matcher", None)
        if cached is None:
            docs = {(t.plan_id, t.number): f"{t.text} {_own_headings(t, store.task_topics(t))}"
                    for t in store.tasks}
            corpus = "".join(c.text for c in store.chunks.values())
            synonyms = store.settings.corpus_dir / "synonyms.toml"
            cached = cls(docs, corpus, synonym_pairs(synonyms), _categories(synonyms))
            store._topic_matcher = cached  # type: ignore[attr-defined]
        return cached

    def _terms(self, text: str) -> list[list[tuple[str, set[str], list[str]]]]:
        """Alternatives ("看病、医院" is two) of words, each with its plan-term expansions and
        its sub-words (for long words the plans never print whole)."""
        if text not in self._cache:
            jieba = _jieba()
            alts = []
            for piece in ALT_SPLIT_RE.split(text.lower()):
                words = []
                joined = piece.replace(" ", "")
                # everyday phrases the synonyms name ("外国工程师" → 外籍高层次人才) lend their plan
                # term to each word they contain, however the phrase was cut into words
                phrases = [(word, term) for word, term in self.pairs
                           if (_has_word(piece, word) if word.isascii() else word in joined)]
                for w in content_words(piece):
                    exp = {term for word, term in phrases if w in word or word in w}
                    exp |= set(self.categories.get(w, ()))
                    subs = [
                        s for s in jieba.cut_for_search(w)  # type: ignore[attr-defined]
                        if len(s) >= 2 and s != w and s not in _generic()
                    ] if len(w) >= 3 and not w.isascii() else []
                    words.append((w, exp, subs))
                if words:
                    alts.append(words)
            self._cache[text] = alts
        return self._cache[text]

    def _df(self, needles: set[str]) -> int:
        return sum(1 for d in self.docs.values() if any(n in d for n in needles))

    def _weight(self, word: str, exp: set[str], subs: list[str]) -> float:
        """Inverse document frequency over the tasks: words every task says (优化, 推进) weigh
        little, rare ones (售电, 区块链) much. A Latin word the glossary cannot map says nothing
        we could match and weighs 0; a Chinese word no task says weighs like a common one."""
        key = f"w:{word}"
        if key not in self._idf:
            needles = ({word} if not word.isascii() else set()) | exp
            df = self._df(needles) if needles else 0
            if not df and subs:
                df = self._df(set(subs))
            n = len(self.docs)
            if word.isascii() and not exp:
                self._idf[key] = 0.0
            else:
                self._idf[key] = math.log((n + 1) / (df + 1)) + 1.0 if df else 1.0
        return self._idf[key]

    @staticmethod
    def _word_score(doc: str, word: str, exp: set[str], subs: list[str]) -> float:
        if (word in doc if not word.isascii() else False) or any(e in doc for e in exp):
            return 1.0
        if subs:
            said = sum(1 for s in subs if s in doc) / len(subs)
            if said:  # part of a long word the plans never print whole (体育赛事 → 体育)
                return 0.6 + 0.2 * said  # never a full word: 重庆队 is not 重庆
        return 0.0

    def scores(self, text: str, task: Task) -> list[tuple[float, float, int]]:
        """Per alternative: (weighted share said, words fully or partly said, words)."""
        doc = self.docs.get((task.plan_id, task.number), task.text)
        out = []
        for alt in self._terms(text):
            weights = [self._weight(*w) for w in alt]
            total = sum(weights)
            if not total:
                continue
            said = [self._word_score(doc, *w) for w in alt]
            share = sum(w * s for w, s in zip(weights, said, strict=True)) / total
            counted = [s for w, s in zip(weights, said, strict=True) if w]
            out.append((share, sum(counted), len(counted)))
        return out

    def support(self, text: str, task: Task) -> float:
        """How much of the question the task says: the words of the best alternative it says
        (1 each; 0.6 when only part of a long word is said). Words the glossary cannot map
        (Latin words with no plan term) do not count."""
        # a question's words describe one thing together: no splitting into alternatives here
        return max((said for _, said, _ in self.scores(ALT_SPLIT_RE.sub(" ", text), task)), default=0.0)

    def matches(self, topic: str, task: Task) -> bool:
        """The task is about the topic: some alternative of it carries 60% of its weight here."""
        return any(share >= 0.6 - 1e-9 for share, _, _ in self.scores(topic, task))

    def corpus_share(self, text: str) -> float:
        """Share of the question's content words that the plans use anywhere (after mapping
        everyday words to plan terms): 0 means the plans never speak of it."""
        words = [w for alt in self._terms(text) for w in alt]
        if not words:
            return 1.0
        # Latin words the glossary cannot map say nothing either way: they are not counted
        words = [(w, exp, subs) for w, exp, subs in words if exp or not w.isascii()]
        if not words:
            return 1.0
        hit = sum(
            1 for w, exp, subs in words
            if (not w.isascii() and w in self.corpus) or any(e in self.corpus for e in exp)
            or any(s in self.corpus for s in subs)
        )
        return hit / len(words)
