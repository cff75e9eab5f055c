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
