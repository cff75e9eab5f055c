"""Which tasks a topic covers, and how much of a question a task says.

A task is described by its own words plus the plan's headings above it (and above the body
paragraph that restates it), so "医疗" finds every task under 健康医疗服务领域 as well as
those whose text says 医疗. Everyday words map to the plans' terms through
corpus/synonyms.toml. Pure string work over the index tables: no embedding, no model.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..ingest.units import toneless
from ..records import Task
from .retrieve import (
    LATIN_JOINERS_RE,
    LATIN_LETTER_RE,
    LATIN_PART_MIN,
    _has_word,
    latin_key,
    synonym_pairs,
    within_phrases,
)
from .store import IndexStore

LATIN_RUN_RE = re.compile(r"[a-z]+(?:(?:\s+|\s*[\-\u2010\u2011]\s*)[a-z]+)*")  # Latin words with spaces or hyphens between
LATIN_SEP_RE = re.compile(r"(\s*[\-\u2010\u2011]\s*|\s+)")
LATIN_RUN = 3  # at most this many written words make one glossary word ("e-com-merce" is not asked)
LATIN_TAILS = ("s", "es", "d", "ed", "ing")
FUNCTION_CHARS = set("那这哪要找去的了吗呢吧啊呀还就也都又再可能会是有在和与及或把被给让对向从该此其么个些想请问")
ALT_SPLIT_RE = re.compile(r"[、/]|(?<=[A-Za-z]),(?=\s*[A-Za-z])|以及|\bor\b|\band\b|和|或|及|与")  # 或者 is 或 + 者


@lru_cache(maxsize=8)
def _words_of(section: str) -> frozenset[str]:
    """A word list of the question grammar (answer/data/lexicon.toml [section] words), lower-cased."""
    from ..answer.language import lexicon

    return frozenset(w.lower() for w in lexicon()[section]["words"])


def _generic() -> frozenset[str]:
    return _words_of("generic")  # question words and everyday verbs that say no topic


def _help_words() -> frozenset[str]:
    return _words_of("help")  # the kinds of help asked for (优惠, 补贴)


@lru_cache(maxsize=1)
def _variant_pairs() -> tuple[tuple[str, str], ...]:
    from ..answer.language import lexicon

    return tuple((a, b) for a, b in lexicon()["variants"]["pairs"])


def _modifiers() -> frozenset[str]:
    return _words_of("modifiers")  # policy verbs (促进, 优化)


QUOTED_NAME_RE = re.compile(r"“[^”]{1,20}”")  # a name the plan quotes (“绿色通道”, “非禁即入”)
SOUND_MAX = 6  # the longest plan term a sound-alike typo is looked for in
MEMO_WORDS = 100_000  # words whose document frequency / corpus presence is kept
UNSEEN_NOUN_WEIGHT = math.log(20) + 1  # as much as a word one task in twenty says
GENERIC_HEADS = ("业务", "行业", "产业")  # heads that add nothing to the domain word before them
ALL_PARTS = "\x00all"  # marks the parts of a two-domain word: every part must be said
EVERY_PART = "\x00every"  # a compound the plans print whole is also said by all its parts, apart
COMPOUND_MIN = 6  # characters: a topic word this long can be printed in other words, part by part
MODIFIER_SHARE = 0.2  # a policy verb beside a domain word weighs this much of its IDF


@lru_cache(maxsize=1)  # setLogLevel on every call clears every logger's cache
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(60)
    return jieba


@lru_cache(maxsize=1)
def _posseg() -> object:
    """jieba's part-of-speech cutter and dictionary (loaded once, ~50 MB)."""
    import jieba.posseg

    _jieba()
    return jieba.posseg


@lru_cache(maxsize=8192)
def _is_noun(word: str) -> bool:
    """The segmenter's part-of-speech dictionary reads the word as one noun (垃圾, 网吧, 落户),
    not a verb, adverb or phrase (直接, 算了, 不问)."""
    cut = _posseg().lcut(word)  # type: ignore[attr-defined]
    return len(cut) == 1 and ((cut[0].flag.startswith("n") and cut[0].flag not in ("nr", "ns")) or cut[0].flag == "vn")


# part-of-speech tags of words that name no topic: pronouns (这样, 自家), numerals and
# measures (几个, 一部分, 好多), prepositions, conjunctions, particles, interjections,
# onomatopoeia; and, unless the plans print them, time words (今年, 下来 — not 夜间 of
# 夜间经济), adverbs (已经 — not 自然 of 自然垄断) and directional words
FUNCTION_TAGS = frozenset("r m mq q p c u y e o".split())
LOOSE_TAGS = FUNCTION_TAGS | {"t", "d", "f"}


@lru_cache(maxsize=16384)
def function_word(word: str, loose: bool = False) -> bool:
    """The segmenter's dictionary tags the word as a function word (几个, 这样; with `loose`
    also 今年, 已经)."""
    return _posseg().dt.word_tag_tab.get(word) in (LOOSE_TAGS if loose else FUNCTION_TAGS)  # type: ignore[attr-defined]


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


def _inside(a: str, b: str) -> bool:
    """a is part of b; Latin words however their compounds are joined ("livestream" is
    inside "live-stream sales")."""
    return latin_key(a) in latin_key(b) if a.isascii() and b.isascii() else a in b


def _part_of(w: str, phrase: str) -> bool:
    """A Latin word is one or more whole words of a longer glossary phrase, spaces and hyphens
    aside: "tech" and "hightech" are part of "high-tech enterprise", "techno" is not. A Chinese
    word is part of a longer Chinese phrase that holds it: 网上 of 网上卖药 (互联网药品销售) is
    no word of its own there (its domain would add every online-service task)."""
    if not w.isascii() and not phrase.isascii():
        return w != phrase and w in phrase
    if not (w.isascii() and phrase.isascii()):
        return False
    parts = [p for p in LATIN_JOINERS_RE.split(phrase.lower()) if p]
    key = latin_key(w)
    if len(parts) < 2 or key == "".join(parts):
        return False
    return any("".join(parts[i:j]) == key for i in range(len(parts)) for j in range(i + 1, len(parts) + 1))


def _occurrences(text: str, word: str) -> list[int]:
    out, i = [], text.find(word)
    while i != -1:
        out.append(i)
        i = text.find(word, i + 1)
    return out


def _spans(joined: str, words: list[str]) -> dict[str, tuple[int, int]]:
    """Where each word first sits in the text, reading left to right."""
    out: dict[str, tuple[int, int]] = {}
    at = 0
    for w in words:
        i = joined.find(w, at)
        if i == -1:
            i = joined.find(w)
        if i != -1:
            out.setdefault(w, (i, i + len(w)))
            at = i + len(w)
    return out


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


@lru_cache(maxsize=65536)  # task texts are compared again and again (compare over many plans)
def bigrams(text: str) -> frozenset[str]:
    t = re.sub(r"[^\u4e00-\u9fffA-Za-z0-9]", "", text)
    return frozenset(t[i : i + 2] for i in range(len(t) - 1))


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
    _vocab: frozenset[str] = field(default_factory=frozenset)
    _glossary: frozenset[str] = field(default_factory=frozenset)
    _examples: dict[str, str] = field(default_factory=dict)
    _dfs: dict[frozenset[str], int] = field(default_factory=dict)
    _joined: str | None = None
    _starts: list[int] = field(default_factory=list)
    _said: dict[str, bool] = field(default_factory=dict)
    _sounds: dict[str, set[str]] | None = None  # toneless pinyin of the plans' 3- and 4-character runs
    _corrected: dict[str, str] = field(default_factory=dict)
    _chinese_pairs: tuple[tuple[str, str], ...] = ()  # the pairs whose everyday word is Chinese
    _bare: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    _weighted_cache: dict[str, list[tuple[list[tuple[str, set[str], list[str]]], list[float], float]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        # the glossary's Chinese words, kept whole when the segmenter cuts them (营商环境 is
        # one domain, not 营商 + 环境)
        words = set(self.categories)
        for v in self.categories.values():
            words.update(v)
        for word, term in self.pairs:
            words.update((word, term))
        self._vocab = frozenset(w for w in words if not w.isascii() and len(w) >= 3)
        self._glossary = frozenset(w for w in words if not w.isascii())
        # the glossary's Latin words as one word each ("high-tech" of "high-tech enterprise" is
        # "hightech"): however a question joins one, it is read as that one word
        self._chinese_pairs = tuple(p for p in self.pairs if not p[0].isascii())
        self._latin = frozenset(latin_key(p) for w, _ in self.pairs if w.isascii() for p in w.split())

    def _latin_words(self, piece: str) -> str:
        """The piece with each Latin compound the glossary knows written as one word, however
        the asker joined it ("live-stream", "live stream" → "livestream"; "high tech" →
        "hightech"), so every spelling counts as the same words."""
        def joinable(words: list[str], hyphens: list[bool]) -> bool:
            # as in matching: a space joins only parts of three letters or more ("a broad" is
            # not "abroad"), a hyphen joins any ("e-commerce")
            return self._known_latin("".join(words)) and all(
                h or min(len(a), len(b)) >= LATIN_PART_MIN
                for a, b, h in zip(words, words[1:], hyphens, strict=False)
            )

        def join(run: re.Match[str]) -> str:
            split = LATIN_SEP_RE.split(run.group(0))
            words, hyphens = split[::2], [not sep.isspace() for sep in split[1::2]]
            out, i = [], 0
            while i < len(words):
                j = next((j for j in range(min(len(words), i + LATIN_RUN), i + 1, -1)
                          if joinable(words[i:j], hyphens[i:j - 1])), i + 1)
                out.append("".join(words[i:j]))
                i = j
            return " ".join(out)

        return LATIN_RUN_RE.sub(join, piece) if self._latin else piece

    def _known_latin(self, key: str) -> bool:
        return key in self._latin or any(
            key.endswith(tail) and key[: -len(tail)] in self._latin for tail in LATIN_TAILS
        )

    def warm(self) -> None:
        """Load what the first question would otherwise wait for: the plans' sound index and
        the part-of-speech dictionary (a couple of seconds, once per process)."""
        self.sound_corrected("预热")
        _is_noun("预热")
        function_word("预热")

    def sound_corrected(self, text: str) -> str:
        """A plan term typed with one character that sounds the same (直拨带货 for 直播带货: what
        pinyin input produces). A run of 3–4 Chinese characters the plans never print becomes
        the one run of theirs with the same toneless pinyin and one character changed; nothing
        changes when no run, or more than one, fits. Then everyday variant characters (交税 for
        缴税: `_formal_variants`)."""
        hit = self._corrected.get(text)
        if hit is not None:
            return hit
        if self._sounds is None:
            # the plans' own terms: words of four characters or more as the segmenter cuts the
            # plans, and the glossary's words of three or more the plans print
            jieba = _jieba()
            terms = {w for w in jieba.cut(self.corpus) if len(w) >= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", w)}  # type: ignore[attr-defined]
            terms |= {w for w in self._vocab if w in self.corpus and re.fullmatch(r"[\u4e00-\u9fff]+", w)}
            self._sounds = {}
            for w in terms:
                self._sounds.setdefault(" ".join(toneless(ch) for ch in w), set()).add(w)
        out = text
        # terms of up to six characters: where one mistyped character stands out (and the
        # windows to look at stay few)
        lengths = sorted({n for k in self._sounds if (n := len(k.split())) <= SOUND_MAX}, reverse=True)
        for run in re.findall(r"[\u4e00-\u9fff]{3,}", text):
            sound = [toneless(ch) for ch in run]
            for n in lengths:
                for i in range(len(run) - n + 1):
                    fits = self._sounds.get(" ".join(sound[i:i + n]))
                    if not fits or len(fits) > 1:
                        continue  # (the cheap test first: most windows sound like no term)
                    window, fit = run[i:i + n], next(iter(fits))
                    if sum(a != b for a, b in zip(fit, window, strict=True)) == 1 and window not in self.corpus:
                        out = out.replace(window, fit)
        out = self._formal_variants(out)
        if len(self._corrected) > MEMO_WORDS:
            self._corrected.clear()
        self._corrected[text] = out
        return out

    def _formal_variants(self, text: str) -> str:
        """交税 → 缴税: a two-character word written with an everyday variant character
        (answer/data/lexicon.toml [variants]) that the plans print only with the formal one."""
        for plain, formal in _variant_pairs():
            for i in [m.start() for m in re.finditer(plain, text)]:
                for a, b in ((i, i + 2), (i - 1, i + 1)):
                    window = text[max(a, 0):b]
                    if len(window) == 2 and window not in self.corpus and window.replace(plain, formal) in self.corpus:
                        text = text[:max(a, 0)] + window.replace(plain, formal) + text[b:]
                        break
        return text

    def _words(self, piece: str) -> list[str]:
        """Content words of a piece, the glossary's words kept whole: the longest glossary
        word at each place is taken as it is, the text between them is segmented."""
        out: list[str] = []
        for seg in piece.split():  # a space stands where a slot was taken out: a word boundary
            out.extend(self._segment_words(seg))
        return list(dict.fromkeys(out))

    def _segment_words(self, joined: str) -> list[str]:
        out: list[str] = []
        rest = ""
        i = 0
        longest = max(map(len, self._vocab), default=0)
        while i < len(joined):
            hit = next((joined[i:i + n] for n in range(min(longest, len(joined) - i), 2, -1)
                        if joined[i:i + n] in self._vocab), "")
            if hit:
                out.extend(content_words(rest))
                out.append(hit)
                rest, i = "", i + len(hit)
            else:
                rest += joined[i]
                i += 1
        out.extend(content_words(rest))
        return list(dict.fromkeys(out))

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

    def _terms(self, text: str, topical: bool = False, strays: bool = False) -> list[list[tuple[str, set[str], list[str]]]]:
        """Alternatives ("看病、医院" is two) of words, each with its plan-term expansions and
        its sub-words (for long words the plans never print whole).

        `topical` reads the text as a topic name: the glossary's words are kept whole (营商环境),
        a word that maps to a domain word covers the domain, and only words the plans never
        print get sub-words. Without it the words are cut as for ranking free-text questions
        (calibrated on the dev sets). The asker's function words the plans never print (几个,
        今年) are left out unless `strays` keeps them."""
        key = ("T:" if topical else "F:") + ("S:" if strays else "") + text
        if key not in self._cache:
            jieba = _jieba()
            alts = []
            for piece in ALT_SPLIT_RE.split(text.lower()):
                piece = self._latin_words(piece)
                words = []
                joined = piece.replace(" ", "")
                # everyday phrases the synonyms name ("外国工程师" → 外籍高层次人才) lend their plan
                # term to each word they contain, however the phrase was cut into words
                phrases = self._said_pairs(piece, joined)
                cut = self._words(piece) if topical and not piece.isascii() else content_words(piece)
                if topical:
                    # "保险业务", "物流行业": a domain word with a generic head means the domain
                    cut = [w[:-2] if (len(w) >= 4 and w[-2:] in GENERIC_HEADS and w not in self._glossary
                                      and w[:-2] in self.categories) else w for w in cut]
                # where each word and each Chinese phrase sits in the text: a phrase the cutter
                # split across two words ("搞售电" cut 搞售 / 电) lends its term to both
                spans = _spans(joined, cut)
                phrase_spans = [(word, term, i, i + len(word)) for word, term in phrases if not word.isascii()
                                for i in _occurrences(joined, word)]
                for w in cut:
                    if not strays and self._stray(w, phrases):
                        continue
                    # a phrase inside a word the plans print as it is (医药 in 中医药) is not
                    # what the word means: it lends nothing
                    exp = {term for word, term in phrases
                           if _inside(w, word) or (_inside(word, w) and not (w != word and self._in_corpus(w)))}
                    if w in spans:
                        a, b = spans[w]
                        exp |= {term for word, term, x, y in phrase_spans
                                if x < b and a < y and not (a <= x and y <= b) and not (x <= a and b <= y)}
                    # a word inside a phrase the glossary maps ("green" in "green finance", 网上
                    # in 网上卖药) means that phrase's term only, not its own domain (绿色通道,
                    # every online service)
                    in_phrase = {term for word, term in phrases if _part_of(w, word)}
                    if in_phrase:
                        exp = set(in_phrase)
                    if topical:
                        for e in list(exp):  # a word that maps to a domain word covers the domain
                            exp |= set(self.categories.get(e, ()))
                    if not in_phrase:
                        exp |= set(self.categories.get(w, ()))
                    long_word = len(w) >= 3 and not w.isascii()
                    subs = [
                        s for s in jieba.cut_for_search(w)  # type: ignore[attr-defined]
                        if len(s) >= 2 and s != w and s not in _generic()
                    ] if long_word else []
                    if topical and (exp or w in self.corpus):
                        # a word the plans print keeps its parts only when it is two domains
                        # together (外籍人才: 外籍 and 人才) and no domain of its own
                        keys = [x for x in subs if x in self.categories]
                        subs = keys if (w not in self.categories and len(keys) >= 2
                                        and "".join(keys) == w) else []
                    words.append((w, exp, subs))
                # a phrase the cutter left in one-character pieces (卖/电 of 卖电) is a word itself
                lent = {t for _, e, _ in words for t in e}
                words += [(word, {term}, []) for word, term in phrases
                          if not word.isascii() and term not in lent and word not in {w for w, _, _ in words}
                          and not any(word in w for w in cut)]
                if words:
                    alts.append(words)
            self._cache[key] = alts
        return self._cache[key]

    def _df(self, needles: set[str]) -> int:
        key = frozenset(needles)  # kept per word set (the tasks never change)
        df = self._dfs.get(key)
        if df is None:
            if len(self._dfs) > MEMO_WORDS:
                self._dfs.clear()
            df = self._dfs[key] = self._count_docs(key)
        return df

    def docs_saying(self, word: str) -> list[tuple[str, int]]:
        """The tasks (plan, number) whose words or headings say the word."""
        self._count_docs(frozenset({word}))  # builds the joined text once
        keys = list(self.docs)
        joined, starts = self._joined or "", self._starts
        out: list[tuple[str, int]] = []
        pos = joined.find(word)
        while pos != -1:
            i = bisect.bisect_right(starts, pos) - 1
            out.append(keys[i])
            nxt = starts[i + 1] if i + 1 < len(starts) else len(joined)
            pos = joined.find(word, nxt)
        return out

    def _count_docs(self, needles: frozenset[str]) -> int:
        """Tasks whose words and headings contain any of the needles: str.find over all of them
        joined, jumping to the next task after each hit (no Python step per task that lacks it)."""
        if "" in needles:
            return len(self.docs)
        if self._joined is None:
            docs = list(self.docs.values())
            self._starts = list(itertools.accumulate((len(d) + 1 for d in docs[:-1]), initial=0))
            self._joined = "\x00".join(docs)
        joined, starts = self._joined, self._starts
        hit: set[int] = set()
        for n in needles:
            pos = joined.find(n)
            while pos != -1:
                i = bisect.bisect_right(starts, pos) - 1
                hit.add(i)
                nxt = starts[i + 1] if i + 1 < len(starts) else len(joined)
                pos = joined.find(n, nxt)
        return len(hit)

    def _weight(self, word: str, exp: set[str], subs: list[str]) -> float:
        """Inverse document frequency over the tasks: words every task says (优化, 推进) weigh
        little, rare ones (售电, 区块链) much. A Latin word the glossary cannot map says nothing
        we could match and weighs 0; a Chinese word no task says weighs like a common one."""
        # the weight depends on what the word maps to here ("foreign" alone maps to nothing,
        # in "foreign national" to 外籍): kept per word and mapping, not per word
        key = f"w:{word}|{','.join(sorted(exp))}|{','.join(subs)}"
        if key not in self._idf:
            needles = ({word} if not word.isascii() else set()) | exp
            df = self._df(needles) if needles else 0
            if not df and subs:
                df = self._df(set(subs))
            n = len(self.docs)
            if word.isascii() and not exp:
                self._idf[key] = 0.0
            elif not df and self.unseen_noun(word, exp, subs):
                # a thing no plan speaks of (垃圾, 网吧): it weighs like a rare word, so a task
                # saying the rest of the question is not about it
                self._idf[key] = UNSEEN_NOUN_WEIGHT
            else:
                # a word no task says weighs like a common one: it may be a stray word of
                # the asker's ("看看", "直接") as well as a thing the plans do not cover
                self._idf[key] = math.log((n + 1) / (df + 1)) + 1.0 if df else 1.0
        return self._idf[key]

    def _stray(self, w: str, phrases: list[tuple[str, str]]) -> bool:
        """A function word of the asker's (几个, 这样, 今年, 一部分) that no plan prints and no
        glossary phrase covers: it names no topic, and left in it would weigh like a rare
        word no task says (a question told with many of them reads as out of scope)."""
        return (not w.isascii() and function_word(w, loose=True) and w not in self._glossary
                and not self._in_corpus(w) and not any(_inside(w, word) for word, _ in phrases))

    def unseen_noun(self, word: str, exp: set[str], subs: list[str]) -> bool:
        """A noun of two or more characters that no plan prints, maps to no plan term and has
        no part the plans print (公租房's 租房, 垃圾, 网吧 — not 大学生, whose 大学 they print)."""
        return (len(word) >= 2 and not word.isascii() and not exp and word not in _generic()
                and not self._in_corpus(word) and not any(self._in_corpus(x) for x in subs)
                and _is_noun(word))

    def unseen_nouns(self, text: str) -> list[str]:
        """The question's nouns that no plan speaks of (垃圾, 户口)."""
        return [w for alt in self._terms(ALT_SPLIT_RE.sub(" ", text)) for w, exp, subs in alt
                if self.unseen_noun(w, exp, subs)]

    def _doc(self, task: Task) -> tuple[str, str]:
        """The task's words and headings; and the same with quoted names taken out."""
        key = (task.plan_id, task.number)
        hit = self._bare.get(key)
        if hit is None:
            doc = self.docs.get(key, task.text)
            hit = self._bare[key] = (doc, QUOTED_NAME_RE.sub(" ", doc))
        return hit

    def _word_score(self, doc: tuple[str, str], word: str, exp: set[str], subs: list[str]) -> float:
        def says(needle: str) -> bool:
            # a domain word inside a quoted name is part of that name: 绿色 in “绿色通道” (a
            # fast lane) says nothing of green finance
            return needle in (doc[1] if needle in self.categories else doc[0])

        if (says(word) if not word.isascii() else False) or any(says(e) for e in exp):
            return 1.0
        if subs and subs[0] == EVERY_PART:
            # 知识产权质押融资 said as “知识产权、股权…组合式质押贷款”: every part, or a word of
            # its domain (融资 → 贷款), in the same task
            parts = subs[1:]
            return 1.0 if all(says(x) or any(says(e) for e in self.categories.get(x, ())) for x in parts) else 0.0
        if subs:
            said = sum(1 for s in subs if says(s)) / len(subs)
            if said:  # part of a long word the plans never print whole (体育赛事 → 体育)
                return 0.6 + 0.2 * said  # never a full word: 重庆队 is not 重庆
        return 0.0

    def _weights(self, alt: list[tuple[str, set[str], list[str]]]) -> list[float]:
        """IDF weights; a policy verb (促进, 优化) beside a domain word weighs a fifth."""
        weights = [self._weight(*w) for w in alt]
        # a glossary word no task says (网上 in 网上业务) is a concept the plans lack, not a
        # stray word of the asker's: it weighs like the rarest word, so 业务 alone is not it
        rarest = math.log(len(self.docs) + 1) + 1.0
        weights = [rarest if w in self._glossary and not exp and w not in self.corpus else x
                   for x, (w, exp, _) in zip(weights, alt, strict=True)]
        mods = [w in _modifiers() for w, _, _ in alt]
        if not all(mods):
            weights = [x * MODIFIER_SHARE if m else x for x, m in zip(weights, mods, strict=True)]
        return weights

    def _decomposed(self, alt: list[tuple[str, set[str], list[str]]]) -> list[tuple[str, set[str], list[str]]]:
        """A long word the plans never print whole (金融监管, 数据保护) stands for its parts,
        each weighed on its own: 金融 and 监管, not whichever of them a task happens to say."""
        out: list[tuple[str, set[str], list[str]]] = []
        for w, exp, subs in alt:
            if not subs:
                out.append((w, exp, self._every_part(w)))
                continue
            parts = [x for x in subs if not any(x != y and x in y for y in subs)] or subs
            # two domains together (外籍人才, 绿色金融) need both: each part is required
            both = [ALL_PARTS] if all(x in self.categories for x in parts) and "".join(parts) == w else []
            kept: list[tuple[str, set[str], list[str]]] = [
                (x, set(self.categories.get(x, ())), list(both)) for x in parts
            ]
            kept = [k for k in kept if k[0] in self.corpus or k[1]]  # a part no plan says tells no task apart
            out.extend(kept or [(w, exp, [])])  # no part said anywhere: the word as it is
        return out

    def _every_part(self, word: str) -> list[str]:
        """A long word the plans print whole (知识产权质押融资) that the segmenter cuts into parts
        the plans also print (知识产权 / 质押 / 融资): [EVERY_PART, *parts], so that a task
        saying each part in its own words counts; [] for any other word."""
        if len(word) < COMPOUND_MIN or word not in self.corpus or not re.fullmatch(r"[\u4e00-\u9fff]+", word):
            return []
        parts = [x for x in _jieba().lcut(word) if len(x) >= 2]  # type: ignore[attr-defined]
        if len(parts) < 2 or "".join(parts) != word or not all(x in self.corpus for x in parts):
            return []
        return [EVERY_PART, *parts]

    def scores(self, text: str, task: Task, topical: bool = False) -> list[tuple[float, float, int]]:
        """Per alternative: (weighted share said, words fully or partly said, words)."""
        doc = self._doc(task)
        out = []
        for alt, weights, total in self._weighted(text, topical):
            if not total:
                continue
            said = [self._word_score(doc, w, exp, [] if subs == [ALL_PARTS] else subs) for w, exp, subs in alt]
            if any(x < 1.0 and subs == [ALL_PARTS] for x, (_, _, subs) in zip(said, alt, strict=True)):
                said = [0.0] * len(said)  # a required part is not said
            share = sum(w * s for w, s in zip(weights, said, strict=True)) / total
            counted = [s for w, s in zip(weights, said, strict=True) if w]
            out.append((share, sum(counted), len(counted)))
        return out

    def _weighted(
        self, text: str, topical: bool
    ) -> list[tuple[list[tuple[str, set[str], list[str]]], list[float], float]]:
        """Per alternative of the text: its words, their weights and the weights' sum. They
        depend on the text alone, so they are worked out once for every task scored against it
        (a topic is matched against each task of a plan)."""
        key = ("T:" if topical else "F:") + text
        hit = self._weighted_cache.get(key)
        if hit is None:
            hit = []
            for alt in self._terms(text, topical):
                if topical:
                    alt = self._decomposed(alt)
                weights = self._weights(alt)
                hit.append((alt, weights, sum(weights)))
            if len(self._weighted_cache) > MEMO_WORDS:
                self._weighted_cache.clear()
            self._weighted_cache[key] = hit
        return hit

    def support(self, text: str, task: Task) -> float:
        """How much of the question the task says: the words of the best alternative it says
        (1 each; 0.6 when only part of a long word is said). Words the glossary cannot map
        (Latin words with no plan term) do not count."""
        return self.said(text, task)[0]

    def said(self, text: str, task: Task) -> tuple[float, float]:
        """(`support`, the weighted share of the question that alternative says): the share (a
        rare word weighs more than a common one) tells apart tasks that say as many words."""
        # a question's words describe one thing together: no splitting into alternatives here
        return max(((said, share) for share, said, _ in self.scores(ALT_SPLIT_RE.sub(" ", text), task)),
                   default=(0.0, 0.0))

    def plan_terms(self, text: str) -> tuple[str, ...]:
        """The plans' own terms the question's words map to (工资 → 薪酬, 汇出去 → 购汇)."""
        return tuple(dict.fromkeys(
            e for alt in self._terms(ALT_SPLIT_RE.sub(" ", text)) for _, exp, _ in alt
            for e in sorted(exp) if not e.isascii()
        ))

    def _said_pairs(self, low: str, joined: str) -> list[tuple[str, str]]:
        """The (everyday word, plan term) pairs whose word the text says; the Latin ones are
        looked for only in a text with Latin letters (most questions have none)."""
        pairs = self.pairs if LATIN_LETTER_RE.search(low) else self._chinese_pairs
        return [(word, term) for word, term in pairs
                if (_has_word(low, word) if word.isascii() else word in joined)]

    def synonym_terms(self, text: str) -> tuple[str, ...]:
        """The plan terms the synonyms give for the everyday words in the text (征信 → 资信调查),
        those the text does not already say."""
        low = text.lower()
        joined = low.replace(" ", "")
        said = self._said_pairs(low, joined)
        inside = within_phrases(low, [word for word, _ in said])  # "permit" of "work permit"
        return tuple(dict.fromkeys(term for word, term in said if word not in inside and term not in joined))

    def term_weight(self, term: str) -> float:
        """The weight (IDF) of one plan term over the tasks."""
        return self._weight(term, set(), [])

    def said_weight(self, text: str, task: Task) -> float:
        """The weight (IDF) of the rarest question word the task says whole: low when all it
        says are words a quarter of the tasks say (外资, 企业). A kind of help (优惠, 补贴) is
        what is asked of the topic, not the topic: it counts only when the question has nothing
        else ("停车费有没有优惠" is not answered by a task granting some 优惠)."""
        doc = self._doc(task)
        words = [w for alt in self._terms(ALT_SPLIT_RE.sub(" ", text)) for w in alt]
        if not all(w in _help_words() for w, _, _ in words):
            words = [x for x in words if x[0] not in _help_words()]
        return max(
            (self._weight(w, exp, subs) for w, exp, subs in words if self._word_score(doc, w, exp, []) >= 1.0),
            default=0.0,
        )

    def _domains(self, word: str, exp: set[str]) -> set[str]:
        """The glossary's domains a word belongs to: it is the domain word, one of its narrower
        terms, or maps to a plan term that is."""
        out = set()
        for key, members in self.categories.items():
            if (word == key or word in members or any(e == key or e in members for e in exp)
                    or any(len(key) >= 2 and key in e for e in exp)  # 看病 → 医疗机构: 医疗
                    or (len(word) >= 3 and any(len(x) >= 2 and x in word for x in members))):
                out.add(key)  # 高新技术企业 is a 高新技术 (科技) word
        return out

    def _direct(self, exp: set[str]) -> set[str]:
        """A word's expansions without the members of the domains among them."""
        lent = {m for k in exp if k in self.categories for m in self.categories[k] if m != k}
        return exp - lent

    def domain_of_examples(self, topic: str) -> str:
        """"跟银行、贷款、融资有关": examples that all belong to one domain name that domain,
        so the answer covers the domain (金融), not only the tasks that print an example."""
        alts = self._terms(topic, topical=True)
        if len(alts) < 2:
            return ""
        pieces = ["".join(w for w, _, _ in alt) for alt in alts]
        if all(len(p) >= 4 and self._in_corpus(p) for p in pieces):
            return ""  # 数据安全、个人信息保护: topics the plans name themselves, not examples of a domain
        jieba = _jieba()
        own = [
            {p for w, _, _ in alt for p in [w, *jieba.cut_for_search(w)] if len(p) >= 2}  # type: ignore[attr-defined]
            for alt in alts
        ]
        counts: dict[str, int] = {}
        for words in own:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        if any(c >= 2 and c * 2 >= len(alts) for c in counts.values()):
            return ""  # 保险公司、保险产品: parts of 保险 they name themselves, not examples of 金融
        said = set.intersection(*(set().union(*({w} | exp for w, exp, _ in alt)) for alt in alts))
        shared: set[str] | None = None
        for alt in alts:
            # the domain a word belongs to comes from what it maps to, not from the members its
            # domain lent it (talent → 人才 lends 外籍人才, which is no reason to call it 外籍)
            doms = set().union(*(self._domains(w, self._direct(exp)) for w, exp, _ in alt))
            shared = doms if shared is None else shared & doms
        # "Hong Kong and Macao" both say 港澳, a named part of 外资: one thing said twice, not
        # examples of the domain
        shared = {k for k in shared or () if not (said & ({k} | set(self.categories[k])))}
        if said & {w for alt in alts for w, _, _ in alt}:
            return ""  # 绿色债券、碳交易: the others are everyday words for the first, not examples
        # the narrowest domain they share is the one the examples illustrate
        best = sorted(shared, key=lambda k: (len(self.categories[k]), k))
        return best[0] if best else ""

    def matches(self, topic: str, task: Task) -> bool:
        """The task is about the topic: some alternative of it carries 60% of its weight here."""
        if topic not in self._examples:
            self._examples[topic] = self.domain_of_examples(topic)
        domain = self._examples[topic]
        text = f"{topic}、{domain}" if domain else topic
        return any(share >= 0.6 - 1e-9 for share, _, _ in self.scores(text, task, topical=True))

    def _in_corpus(self, word: str) -> bool:
        """Some plan says the word (kept per word: the corpus is long and never changes)."""
        said = self._said.get(word)
        if said is None:
            if len(self._said) > MEMO_WORDS:
                self._said.clear()
            said = self._said[word] = word in self.corpus
        return said

    def corpus_share(self, text: str) -> float:
        """Share of the question's content words that the plans use anywhere (after mapping
        everyday words to plan terms): 0 means the plans never speak of it."""
        # the asker's function words count here (几个, 明天, 上午: chat says many of them)
        words = [w for alt in self._terms(text, strays=True) for w in alt]
        if not words:
            return 1.0
        # Latin words the glossary cannot map say nothing either way: they are not counted
        words = [(w, exp, subs) for w, exp, subs in words if exp or not w.isascii()]
        if not words:
            return 1.0
        said = self._in_corpus
        hit = sum(
            1 for w, exp, subs in words
            if (not w.isascii() and said(w)) or any(said(e) for e in exp) or any(said(s) for s in subs)
        )
        return hit / len(words)
