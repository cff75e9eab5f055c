"""Verify an answer before it leaves: we never cite wrongly.

- every [n] marker maps to a citation;
- every department named in a line appears in a citation of that answer
  (its quote or its unit lists);
- every number in a line appears in a cited quote, is a cited task number, or is
  a count the tables produced.
A list item's leading ordinal ("1. ") is structure, not a claim. The extractive answer is only
checked (a failing line is a composer bug, reported in ``Answer.checks``); LLM lines that fail
are dropped, and the caller falls back to the extractive answer when nothing is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..ingest.units import UnitRegistry
from ..records import Citation

MARKER_RE = re.compile(r"\[(\d+)\]")
NUMBER_RE = re.compile(r"\d+")
ORDINAL_RE = re.compile(r"^\s*\d{1,3}\.\s")
TASK_REF_RE = re.compile(r"第(\d+)项|\b[Tt]ask (\d+)\b")


@dataclass
class Verdict:
    text: str
    dropped: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.dropped


def supported_numbers(citations: list[Citation], counts: set[int]) -> set[str]:
    nums = {str(n) for n in counts} | {str(len(citations))}
    for c in citations:
        nums |= set(NUMBER_RE.findall(c.quote))
        nums |= set(NUMBER_RE.findall(c.plan_title))
        if c.task_number is not None:
            nums.add(str(c.task_number))
    return nums


def supported_units(citations: list[Citation], registry: UnitRegistry) -> set[str]:
    units: set[str] = set()
    for c in citations:
        units |= set(c.lead) | set(c.responsible)
        units |= {u.name for u in registry.find_in_text(c.quote, [c.plan_id])}
    return units


def verify(
    text: str,
    citations: list[Citation],
    registry: UnitRegistry,
    counts: set[int] | None = None,
    allowed_text: str = "",
) -> Verdict:
    """Check each line of `text`; `allowed_text` is extra grounded text (e.g. plan metadata)."""
    markers = {c.marker for c in citations}
    plan_ids = {c.plan_id for c in citations} or None
    numbers = supported_numbers(citations, counts or set()) | set(NUMBER_RE.findall(allowed_text))
    units = supported_units(citations, registry) | {
        u.name for u in registry.find_in_text(allowed_text)
    }
    kept: list[str] = []
    verdict = Verdict("")
    for line in text.split("\n"):
        reasons = []
        bad_markers = [m for m in MARKER_RE.findall(line) if int(m) not in markers]
        if bad_markers:
            reasons.append(f"引用标记 {', '.join(bad_markers)} 没有对应来源")
        bare = ORDINAL_RE.sub("", MARKER_RE.sub("", line))
        bare = TASK_REF_RE.sub(
            lambda m: m.group(0) if (m.group(1) or m.group(2)) in numbers else "第?项", bare
        )
        for n in NUMBER_RE.findall(bare):
            if n not in numbers:
                reasons.append(f"数字 {n} 不见于所引来源")
        for alias, names in registry.mentions(bare, plan_ids):
            if not (set(names) & units):
                reasons.append(f"单位“{alias}”不见于所引来源")
        if "第?项" in bare:
            reasons.append("任务编号不见于所引来源")
        if reasons:
            verdict.dropped.append(line)
            verdict.reasons.extend(reasons)
        else:
            kept.append(line)
    verdict.text = "\n".join(kept).strip()
    return verdict


# ====================================================================== LLM answers
# The extractive text above is only checked. An LLM's text is checked for meaning, sentence by
# sentence, against the sources its markers cite, and a failing sentence is dropped:
# units in the roles the sources give them, numbers after normalising Chinese numerals,
# lexical support of what the sentence says, no links / markup / contact instructions the sources
# lack, and nothing of the system prompt.

SUPPORT_THRESHOLD = 0.5  # calibrated: benchmarks/verify_calibration.py, docs/reliability.md
PROMPT_SHINGLE = 8  # this many characters in a row shared with the prompt's own text = a leak
_TERMINAL = "。！？!?"
_CLAUSE_RE = re.compile(r"[，,；;。！？!?]")
_ROLE_RE = re.compile(r"牵头|责任|配合|协助|参与|协同")
_NEGATION_RE = re.compile(r"(?:不|非|无|没有)[是为属]?$")
_LINK_RE = re.compile(
    r"https?://|ftp://|www\.|\]\(|!\[|<\s*/?\s*[a-zA-Z!]|&[a-zA-Z]+;|javascript:|data:"
    r"|[\w-]+(?:\.[\w-]+)*\.(?:com|cn|net|org|gov|edu|io|info|example|top|xyz|cc|me|app|site|link)\b"
    r"|[\w.+-]+@[\w-]+\.[\w.]+",
    re.I,
)


@dataclass(frozen=True)
class _Words:
    """The verifier's word lists (data/verify.toml), compiled once on first use."""

    region_chars: str
    unit_like: re.Pattern[str]
    contact: re.Pattern[str]
    function_chars: str
    stop_bigrams: frozenset[str]


@lru_cache(maxsize=1)
def _words() -> _Words:
    from .numerals import verifier_words

    w = verifier_words()
    prefixes = sorted(w["units"]["region_prefixes"], key=len, reverse=True)
    suffixes = sorted(w["units"]["suffixes"], key=len, reverse=True)
    unit_like = re.compile(
        "(?:" + "|".join(map(re.escape, prefixes)) + r")[\u4e00-\u9fff]{1,14}?"
        "(?:" + "|".join(map(re.escape, suffixes)) + ")"
    )
    contact = re.compile("|".join(map(re.escape, w["outside"]["contact_words"])), re.I)
    return _Words(
        "".join(p for p in prefixes if len(p) == 1),
        unit_like,
        contact,
        str(w["support"]["function_chars"]),
        frozenset(w["support"]["stop_bigrams"]),
    )


_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")


def split_sentences(text: str) -> list[str]:
    """Sentences, each with the [n] markers (and closing mark) that follow it; lines kept apart."""
    out: list[str] = []
    for line in text.split("\n"):
        i, start, n = 0, 0, len(line)
        while i < n:
            if line[i] in _TERMINAL:
                j = i + 1
                while j < n and line[j] in _TERMINAL:
                    j += 1
                while True:  # markers after the full stop belong to the sentence before it
                    m = re.match(r"\s*\[\d+\]", line[j:])
                    if not m:
                        break
                    j += m.end()
                if j < n and line[j] in _TERMINAL:
                    j += 1
                out.append(line[start:j])
                start = i = j
                continue
            i += 1
        if line[start:].strip():
            out.append(line[start:])
    return [s for s in out if s.strip()]


def _spans(text: str, mentions: list[tuple[str, list[str]]]) -> list[tuple[int, int, str, list[str]]]:
    """Positions of registry mentions (returned in order of appearance, non-overlapping)."""
    out, cursor = [], 0
    for alias, names in mentions:
        at = text.find(alias, cursor)
        if at < 0:
            continue
        out.append((at, at + len(alias), alias, names))
        cursor = at + len(alias)
    return out


def claimed_role(sentence: str, start: int, end: int) -> str:
    """'lead', 'responsible' or '' (no role claimed): the role word nearest to the unit within its
    clause; a negated role word ("不是牵头单位") claims nothing."""
    left = max((m.end() for m in _CLAUSE_RE.finditer(sentence, 0, start)), default=0)
    right_m = _CLAUSE_RE.search(sentence, end)
    right = right_m.start() if right_m else len(sentence)
    best: tuple[int, str] | None = None
    for m in _ROLE_RE.finditer(sentence, left, right):
        if m.end() <= start:
            gap = start - m.end()
        elif m.start() >= end:
            gap = m.start() - end
        else:
            continue
        if _NEGATION_RE.search(sentence[max(left, m.start() - 3) : m.start()]):
            role = ""
        else:
            role = "lead" if m.group(0) == "牵头" else "responsible"
        if best is None or gap < best[0]:
            best = (gap, role)
    return best[1] if best else ""


def _bigrams(text: str) -> list[str]:
    words = _words()
    grams: list[str] = []
    for run in re.findall(r"[\u4e00-\u9fff]+|[A-Za-z]{2,}", text):
        if run.isascii():
            grams.append(run.lower())
            continue
        for piece in re.split(f"[{re.escape(words.function_chars)}]", run):
            grams += [piece[i : i + 2] for i in range(len(piece) - 1)]
    return [g for g in grams if g not in words.stop_bigrams]


def support(claim: str, source: str) -> float:
    """Share of the claim's content bigrams found in the source (1.0 when it has none)."""
    grams = _bigrams(claim)
    if not grams:
        return 1.0
    have = set(_bigrams(source)) | {w.lower() for w in re.findall(r"[A-Za-z]{2,}", source)}
    return sum(g in have for g in grams) / len(grams)


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def prompt_shingles(texts: list[str], sources: str, size: int = PROMPT_SHINGLE) -> frozenset[str]:
    """Runs of `size` characters of the prompt texts that the sources do not also contain."""
    src = _squash(sources)
    out = set()
    for t in texts:
        s = _squash(re.sub(r"\{\w+\}", " ", t))
        out |= {s[i : i + size] for i in range(len(s) - size + 1)}
    return frozenset(g for g in out if g not in src)


@dataclass
class LLMCheck:
    """What the LLM verifier needs besides the text: the sources, the registry, and the
    grounded extras (counts from the tables, plan metadata, the prompt's own text)."""

    citations: list[Citation]
    registry: UnitRegistry
    counts: set[int] = field(default_factory=set)
    allowed_text: str = ""
    prompt_texts: list[str] = field(default_factory=list)
    threshold: float = SUPPORT_THRESHOLD


def _source_text(c: Citation) -> str:
    return " ".join([c.plan_title, c.section, c.quote, *c.lead, *c.responsible, c.role_word])


def check_sentence(sentence: str, ctx: LLMCheck, shingles: frozenset[str]) -> list[str]:
    """Reasons the sentence is not supported by its sources ([] when it is)."""
    from .numerals import normalise_numerals

    by_marker = {c.marker: c for c in ctx.citations}
    reasons: list[str] = []
    marks = [int(m) for m in MARKER_RE.findall(sentence)]
    unknown = [m for m in marks if m not in by_marker]
    if unknown:
        reasons.append(f"引用标记 {', '.join(map(str, unknown))} 没有对应来源")
    cited = [by_marker[m] for m in dict.fromkeys(marks) if m in by_marker] or list(ctx.citations)
    body = ORDINAL_RE.sub("", MARKER_RE.sub("", sentence))
    sources = " ".join(_source_text(c) for c in cited)
    every_source = " ".join(_source_text(c) for c in ctx.citations) + " " + ctx.allowed_text

    # links, markup, contact instructions
    for m in _LINK_RE.finditer(body):
        if m.group(0).lower() not in every_source.lower():
            reasons.append(f"含有来源中没有的链接或标记“{m.group(0)}”")
            break
    words = _words()
    for m in words.contact.finditer(body):
        if m.group(0).lower() not in every_source.lower():
            reasons.append(f"含有来源中没有的联系方式或操作指引“{m.group(0)}”")
            break
    # the prompt's own words
    flat = _squash(body)
    if any(flat[i : i + PROMPT_SHINGLE] in shingles for i in range(len(flat) - PROMPT_SHINGLE + 1)):
        reasons.append("含有系统提示词的内容")

    # units: registry units of a cited task, in the role the sentence gives them
    plan_ids = {c.plan_id for c in ctx.citations} or None
    spans = _spans(body, ctx.registry.mentions(body, plan_ids))
    lead = {u for c in cited for u in c.lead}
    resp = {u for c in cited for u in c.responsible}
    named = {u.name for c in cited for u in ctx.registry.find_in_text(c.quote, [c.plan_id])}
    named |= {u.name for u in ctx.registry.find_in_text(ctx.allowed_text, plan_ids)}
    for start, end, alias, names in spans:
        cand = set(names)
        role = claimed_role(body, start, end)
        if not cand & (lead | resp | named):
            reasons.append(f"单位“{alias}”不见于所引任务")
        elif role == "lead" and not cand & lead:
            reasons.append(f"单位“{alias}”在所引任务中不是牵头单位")
        elif role == "responsible" and not cand & resp:
            reasons.append(f"单位“{alias}”在所引任务中不是责任/配合单位")
    for m in words.unit_like.finditer(body):
        covered = any(
            e >= m.end() and s < m.end() and (s <= m.start() or body[s] in words.region_chars)
            for s, e, _, _ in spans
        )
        if not covered and m.group(0) not in every_source:
            reasons.append(f"单位“{m.group(0)}”不是方案登记的单位")

    # numbers, Chinese numerals included
    numbers = {str(n) for n in ctx.counts} | {str(len(ctx.citations))}
    numbers |= set(_NUMBER_RE.findall(normalise_numerals(sources + " " + ctx.allowed_text)))
    numbers |= {str(c.task_number) for c in ctx.citations if c.task_number is not None}
    masked = body
    for s, e, _, _ in reversed(spans):  # unit names may carry digits of their own
        masked = masked[:s] + "，" + masked[e:]
    plain = normalise_numerals(masked)
    for n in _NUMBER_RE.findall(TASK_REF_RE.sub(" ", plain)):
        if n not in numbers:
            reasons.append(f"数字 {n} 不见于所引来源")
    for m in TASK_REF_RE.finditer(plain):
        if (m.group(1) or m.group(2)) not in numbers:
            reasons.append("任务编号不见于所引来源")

    # what the sentence says must be found in what it cites
    claim = _NUMBER_RE.sub("，", TASK_REF_RE.sub("，", plain))
    score = support(claim, sources + " " + ctx.allowed_text)
    if score < ctx.threshold:
        reasons.append(f"内容在所引来源中找不到依据（支持度 {score:.2f}）")
    return reasons


def verify_llm(text: str, ctx: LLMCheck) -> Verdict:
    """Keep the sentences of an LLM answer that pass check_sentence; drop the others."""
    sources = " ".join(_source_text(c) for c in ctx.citations)
    shingles = prompt_shingles(ctx.prompt_texts, sources + " " + ctx.allowed_text)
    verdict = Verdict("")
    lines: list[str] = []
    for line in text.split("\n"):
        kept = []
        for sentence in split_sentences(line):
            reasons = check_sentence(sentence, ctx, shingles)
            if reasons:
                verdict.dropped.append(sentence.strip())
                verdict.reasons.extend(reasons)
            else:
                kept.append(sentence)
        if "".join(kept).strip():
            lines.append("".join(kept).strip())
    verdict.text = "\n".join(lines).strip()
    return verdict
