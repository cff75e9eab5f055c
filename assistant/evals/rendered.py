"""Rendered-text scoring: is what a person reads right, not only the structured fields?

Side by side with the structured metrics (which read citations), these read the
`answer` text itself:

- list items: every expected task the answer cites or lists appears in the text as an
  item (a line with its number, `第N项` / `task N`, plus the indented lines under it)
  that names its units — lead units (and, for a who-is-responsible question, the asked
  role's units) by canonical name, alias or as printed;
- count: a count stated in the text (`共 N 项`, `N tasks`) matches the expected set
  (unit → tasks: the total or a per-plan / per-role breakdown; topics: between the
  required and the acceptable set size);
- quotes: every citation quote is in the plan's source text (NFKC, whitespace
  removed; an ellipsis splits a quote into pieces; a trailing units label
  `（牵头单位：…；责任单位：…）` is checked unit by unit right after the passage, where
  the plan prints it inline or in the next cells of its table row);
- checks: the answer's own verifier verdict (`checks`, when present) is ok and dropped
  no line;
- cuts: no item is cut with an ellipsis inside the first 12 characters of its task
  text (a cut right after a full stop is a clean cut).

`text_ok` is all of these; `rendered_ok` is `text_ok` and the case's structured
verdict (`pass`), so rendered accuracy ≤ accuracy and the gap is what the reader loses.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cases import Case, Gold, expected_task_map, topic_sets
from .metrics import (
    Answer,
    Key,
    cited_tasks,
    cn_number,
    listed_tasks,
    mentions,
    stated_counts,
)

CN_NUM = "零一二两三四五六七八九十百"
NUM = rf"(?:\d+|[{CN_NUM}]+)"
REF_RE = re.compile(
    rf"第\s*({NUM}(?:\s*[、,，和及至到~\-–]\s*{NUM})*)\s*[项条]"
    r"|(?<![A-Za-z])(?:[Tt]asks?|[Mm]easures?|[Ii]tems?|No\.)\s*#?\s*(\d+(?:\s*(?:,|and|-|–|to)\s*\d+)*)"
)
RANGE_SEP_RE = re.compile(r"\s*(?:至|到|~|-|–|to)\s*")
ELLIPSIS_RE = re.compile(r"……|…|\.\.\.")
UNIT_SPLIT_RE = re.compile(r"[、,;，；/]|和")
CUT_MIN = 12
LABEL_SLACK = 40  # characters a units label may sit apart from its passage
INDENT = (" ", "\u3000", "\t")


def norm(text: str) -> str:
    """NFKC (full-width → half-width) with all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


@dataclass
class Sources:
    """Plan source texts (normalised) and the names a plan goes by in answers."""

    texts: dict[str, str] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)

    def plans_named(self, text: str) -> set[str]:
        t, low = norm(text), norm(text).lower()
        return {
            pid
            for pid, names in self.names.items()
            if any(n and (n in t or n.lower() in low) for n in names)
        }


def load_sources(corpus_dir: Path) -> Sources:
    """corpus/<stem>.txt with its <stem>.toml (id, title, short_name, region)."""
    src = Sources()
    for txt in sorted(corpus_dir.glob("*.txt")):
        meta_path = txt.with_suffix(".toml")
        meta = tomllib.loads(meta_path.read_text("utf-8")) if meta_path.exists() else {}
        pid = str(meta.get("id") or txt.stem)
        src.texts[pid] = norm(txt.read_text("utf-8"))
        slug = pid.split("-")[0]  # plan ids are slugs: the English answer may use it
        names = [meta.get("title"), meta.get("short_name"), meta.get("region"), slug]
        src.names[pid] = [norm(str(n)) for n in names if n]
    return src


# ---- quotes ----
def quote_in_source(quote: str, plan_id: str, sources: Sources) -> bool:
    """The quote is the plan's own words (modulo whitespace and full/half width)."""
    text = sources.texts.get(plan_id)
    if text is None:
        return False
    q = norm(quote)
    if not q or q in text:
        return True
    q, labels = split_label_tail(q)
    pieces = [p for p in ELLIPSIS_RE.split(q) if p]
    if not all(p in text for p in pieces):
        return False
    units = [
        u for part in labels.split(";") for u in UNIT_SPLIT_RE.split(part.partition(":")[2]) if u
    ]
    if not units:
        return True
    # the units label belongs to this passage: its units follow it closely in the source
    # (inline "(牵头单位:…)" or the next cells of a table row)
    tail, window = pieces[-1], len(labels) + LABEL_SLACK
    start = text.find(tail)
    while start != -1:
        after = text[start + len(tail) : start + len(tail) + window]
        if all(u in after for u in units):
            return True
        start = text.find(tail, start + 1)
    return False


def split_label_tail(q: str) -> tuple[str, str]:
    """'text(牵头单位:A(B)、C;责任单位:D)' → ('text', '牵头单位:A(B)、C;责任单位:D'):
    a trailing parenthesis (balanced) holding a `label:` part is the units label."""
    if not q.endswith(")"):
        return q, ""
    depth = 0
    for i in range(len(q) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(q[i], 0)
        if depth == 0:
            inner = q[i + 1 : -1]
            return (q[:i], inner) if ":" in inner else (q, "")
    return q, ""


# ---- items ----
@dataclass
class Item:
    numbers: tuple[int, ...]
    plan_id: str | None  # from the item line or the nearest plan heading above; None: unknown
    head: str  # the line with the number
    block: str  # the line and the indented lines under it


def ref_numbers(line: str) -> list[int]:
    out: list[int] = []
    for m in REF_RE.finditer(line):
        spec = m.group(1) or m.group(2)
        for part in re.split(r"\s*(?:[、,，和及]|and)\s*", spec):
            ends = [cn_number(x) for x in RANGE_SEP_RE.split(part) if x]
            ends_ok = [e for e in ends if e is not None]
            if len(ends_ok) == 2 and 0 < ends_ok[1] - ends_ok[0] < 100:
                out += list(range(ends_ok[0], ends_ok[1] + 1))
            else:
                out += ends_ok
    return list(dict.fromkeys(out))


def parse_items(text: str, sources: Sources) -> list[Item]:
    items: list[Item] = []
    context: str | None = None
    for line in (text or "").split("\n"):
        named = sources.plans_named(line)
        numbers = ref_numbers(line)
        if numbers:
            own = next(iter(named)) if len(named) == 1 else None
            items.append(Item(tuple(numbers), own or context, line, line))
        elif items and line.startswith(INDENT) and line.strip():
            items[-1].block += "\n" + line
            continue
        if len(named) == 1:
            context = next(iter(named))
        elif len(named) > 1:
            context = None
    return items


def units_named(gold: Gold, units: list[str], printed: str, block: str) -> bool:
    """Every unit named in the block: canonical name or alias, or the label as printed."""
    if not units:
        return True
    b = norm(block)
    if all(mentions(gold, u, b) or norm(u) in b for u in units):
        return True
    pieces = [p for p in UNIT_SPLIT_RE.split(norm(printed)) if p]
    return bool(pieces) and all(p in b for p in pieces)


def roles_to_show(case: Case) -> tuple[str, ...]:
    if case.kind == "task_units":
        role = case.expect.get("role", "any")
        return ("lead", "responsible") if role == "any" else (role,)
    return ("lead",)


def expected_keys(case: Case, gold: Gold) -> set[Key]:
    e = case.expect
    if case.kind == "unit_tasks":
        return gold.tasks_for_unit(e["unit"], e["plan_id"], e["role"])
    if case.kind == "topic":
        return topic_sets(case)[0]
    return {(p, n) for p, nums in expected_task_map(case).items() for n in nums}


def cut_too_early(item: Item, task_text: str) -> bool:
    """The item's text ends with an ellipsis within the first 12 characters of the task."""
    m = ELLIPSIS_RE.search(item.head)
    if not m:
        return False
    before = item.head[: m.start()]
    refs = list(REF_RE.finditer(before))
    shown = before[refs[-1].end() :] if refs else before
    shown = norm(re.sub(r"^\s*[:：.、]?", "", shown))
    full = norm(task_text)
    if not shown or not full.startswith(shown):
        return not shown  # "第N项：……" shows nothing; another text is not a cut of this one
    return len(shown) < min(CUT_MIN, len(full)) and not shown.endswith(("。", "."))


def list_check(
    case: Case, answer: Answer, gold: Gold, sources: Sources
) -> tuple[bool | None, list[str], list[str]]:
    """(all shown, missing items, items cut too early) for the expected tasks it cites."""
    want = expected_keys(case, gold)
    if not want:
        return None, [], []
    shown_keys = want & (set(cited_tasks(answer)) | listed_tasks(answer))
    if not shown_keys:
        return None, [], []
    items = parse_items(answer.get("answer", ""), sources)
    missing, cut = [], []
    for pid, n in sorted(shown_keys):
        task = gold.task(pid, n)
        if task is None:
            continue
        candidates = [it for it in items if n in it.numbers and it.plan_id in (None, pid)]
        good = [
            it
            for it in candidates
            if all(
                units_named(gold, task[r], task.get(f"{r}_text", ""), it.block)
                for r in roles_to_show(case)
            )
        ]
        if not good:
            why = "units not named" if candidates else "no item"
            missing.append(f"{pid}#{n} ({why})")
        elif all(cut_too_early(it, task["text"]) for it in good):
            cut.append(f"{pid}#{n}")
    return not missing, missing, cut


# ---- counts ----
def count_check(case: Case, answer: Answer, gold: Gold, structured: dict[str, Any]) -> bool | None:
    if case.kind == "unit_tasks":
        return structured.get("count_ok")
    if case.kind != "topic":
        return None
    stated = stated_counts(answer.get("answer", ""))
    if not stated:
        return None
    required, acceptable = topic_sets(case)

    def fits(req: set[Key], ok: set[Key]) -> bool:
        return any(len(req) <= s <= len(ok) for s in stated)

    if fits(required, acceptable):
        return True
    plans = sorted({p for p, _ in acceptable})
    parts = [
        ({k for k in required if k[0] == p}, {k for k in acceptable if k[0] == p}) for p in plans
    ]
    return all(fits(r, o) for r, o in parts if r)


# ---- the whole text ----
def rendered_metrics(
    case: Case, answer: Answer, gold: Gold, sources: Sources, structured: dict[str, Any]
) -> dict[str, Any]:
    items_ok, missing, cut = list_check(case, answer, gold, sources)
    bad_quotes = [
        f"{c.get('plan_id')}#{c.get('task_number')}"
        for c in answer.get("citations") or []
        if c.get("quote") and not quote_in_source(c["quote"], c.get("plan_id") or "", sources)
    ]
    checks = answer.get("checks")
    checks_ok = lines_dropped = None
    if isinstance(checks, dict):
        problems = checks.get("problems") or []
        lines_dropped = len(problems)
        checks_ok = bool(checks.get("ok")) and not problems
    count_ok = count_check(case, answer, gold, structured)
    text_ok = (
        items_ok is not False
        and not cut
        and count_ok is not False
        and not bad_quotes
        and checks_ok is not False
    )
    return {
        "text_ok": text_ok,
        "rendered_ok": bool(structured.get("pass")) and text_ok,
        "items_shown": items_ok,
        "quotes_ok": not bad_quotes if answer.get("citations") else None,
        "checks_ok": checks_ok,
        "lines_dropped": lines_dropped,
        "not_cut": not cut if items_ok is not None else None,
        "rendered_count_ok": count_ok,
        "rendered_missing": missing or None,
        "cut_items": cut or None,
        "quotes_not_in_source": bad_quotes or None,
        "check_problems": (checks or {}).get("problems") or None
        if isinstance(checks, dict)
        else None,
    }
