"""Unit notes: the words after a task that say who leads it, who shares it, and by when.

The genre prints them in several forms, all read here into one `Note`:
- labelled: （牵头单位：X；责任单位：Y）, （牵头单位：X，配合单位：Y）, a 牵头单位：/责任单位：
  line after the task, 责任单位：X（牵头）、Y, with an optional 完成时限：/时间节点：;
- worded: （X牵头，Y配合）, （X牵头，Y等按职责分工负责）, （X、Y按职责分工负责）, （X、Y牵头负责）;
- plain: （X、Y负责）, where a rule the plan states once (列第一位者为牵头单位，下同) makes the
  first unit the lead;
- deadlines: （2023年6月底前完成）, or a 完成时限 label.

A bracket is a unit note only if every name in it has the shape of a unit, so ordinary
brackets in task text (（含港澳台）, （由企业自愿申请）) are never read as units.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .units import looks_like_unit, split_lead_marks, split_units

UNIT_LABELS = {
    "牵头单位": "lead",
    "牵头部门": "lead",
    "责任单位": "responsible",
    "责任部门": "responsible",
    "配合单位": "responsible",
    "配合部门": "responsible",
}
DEADLINE_LABELS = ("完成时限", "时间节点", "完成时间", "完成期限", "时限要求")


def _spaced(word: str) -> str:
    return r"\s*".join(word)


LABEL_RE = re.compile(
    "(" + "|".join(_spaced(w) for w in (*UNIT_LABELS, *DEADLINE_LABELS)) + r")\s*[：:]"
)
# The rule that makes the first unit of a plain note its lead, stated once in a plan
FIRST_LEAD_RULE_RE = re.compile(
    r"[，,；;]?\s*(?:(?:所列|排|列)(?:在)?(?:第一位|首位|第一)(?:的|者)?(?:单位|部门)?"
    r"|(?:第一|首)(?:个|家)?(?:单位|部门))\s*为\s*牵头(?:单位|部门)(?:[，,；;]?\s*下同)?"
)
DEADLINE_RE = re.compile(
    r"^(?:(?:\d{4}|今|明)\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?(?:上半年|下半年|年?底|月底|\s*第?[一二三四1-4]\s*季度末?)?"
    r"\s*(?:前|以前|之前|内|底前)?|长期坚持|持续推进|常态化推进)\s*(?:完成|启动|实施|见效|取得成效)?$"
)
ROLE_TAIL_RE = re.compile(
    r"(牵头负责|牵头|等?按职责分工负责|等?按职责负责|等?分别负责|等?共同负责|等?负责|等?配合|等?协助|等?参与)$"
)


@dataclass(frozen=True)
class Note:
    lead: tuple[str, ...]  # names as printed (canonicalised later)
    responsible: tuple[str, ...]
    role_word: str  # 责任单位 / 配合单位 …
    lead_text: str
    responsible_text: str
    deadline: str
    labelled: bool  # written with 牵头单位：… labels (the quote can be rebuilt from them)
    lead_expected: bool  # the form has a place for a lead (a missing lead is then an error)


def is_deadline(text: str) -> bool:
    return bool(DEADLINE_RE.match(re.sub(r"\s+", "", text)))


def clean_deadline(text: str) -> str:
    """'2023年6月底前完成' → '2023年6月底前': the time as printed, without the verb."""
    t = re.sub(r"\s+", "", text).strip("。；;，, ")
    return re.sub(r"(完成|启动|实施|见效|取得成效)$", "", t) or t


def has_first_lead_rule(text: str) -> bool:
    return bool(FIRST_LEAD_RULE_RE.search(re.sub(r"\s+", "", text)))


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name for name, _ in split_units(text)))


def split_clauses(text: str) -> list[str]:
    """Split on ；;，, outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in text:
        depth += ch in "（("
        depth -= ch in ")）"
        if ch in "；;，," and depth <= 0:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return [c.strip() for c in out if c.strip()]


def split_labels(block: str) -> dict[str, str]:
    """{label: text} for a labelled note (spaces inside labels removed)."""
    out: dict[str, str] = {}
    matches = list(LABEL_RE.finditer(block))
    for i, m in enumerate(matches):
        word = re.sub(r"\s+", "", m.group(1))
        end = matches[i + 1].start() if i + 1 < len(matches) else len(block)
        out[word] = block[m.end() : end].strip().strip("；;，,。 ")
    return out


def parse_labelled(block: str, first_leads: bool) -> Note | None:
    labels = split_labels(block)
    if not any(k in UNIT_LABELS for k in labels) and not any(k in DEADLINE_LABELS for k in labels):
        return None
    lead_text = next((v for k, v in labels.items() if UNIT_LABELS.get(k) == "lead"), "")
    resp_keys = [k for k in labels if UNIT_LABELS.get(k) == "responsible"]
    role_word = resp_keys[0] if resp_keys else "责任单位"
    resp_text = "、".join(labels[k] for k in resp_keys if labels[k])
    marked_lead, resp_rest = split_lead_marks(resp_text)
    lead = _names(lead_text)
    resp = _names(resp_rest)
    if marked_lead:  # 责任单位：X（牵头）、Y
        lead = tuple(dict.fromkeys((*lead, *_names(marked_lead))))
    elif not lead and first_leads and resp:  # 责任单位：X、Y under 列第一位者为牵头单位
        lead, resp = resp[:1], resp[1:]
    deadline = next((clean_deadline(v) for k, v in labels.items() if k in DEADLINE_LABELS), "")
    return Note(
        lead,
        tuple(r for r in resp if r not in lead),
        role_word,
        lead_text,
        resp_text,
        deadline,
        labelled=True,
        lead_expected=bool(lead_text) or bool(resp_keys),
    )


def parse_worded(content: str, first_leads: bool) -> Note | None:
    """(X牵头，Y配合) and its kin; None unless every clause is units + a role word or a
    deadline."""
    text = FIRST_LEAD_RULE_RE.sub("", re.sub(r"\s+", "", content))
    text = re.sub(r"[，,；;]?下同$", "", text)
    lead: list[str] = []
    resp: list[str] = []
    lead_parts: list[str] = []
    resp_parts: list[str] = []
    role_word, deadline, saw_lead_word = "责任单位", "", False
    clauses = split_clauses(text)
    if not clauses:
        return None
    for clause in clauses:
        if is_deadline(clause):
            deadline = clean_deadline(clause)
            continue
        m = ROLE_TAIL_RE.search(clause)
        if not m:
            return None
        units_part = clause[: m.start()].removeprefix("由")
        names = _names(units_part)
        if not names or not all(looks_like_unit(n) for n in names):
            return None
        word = m.group(1).lstrip("等")
        if word.startswith("牵头"):
            lead += names
            lead_parts.append(units_part)
            saw_lead_word = True
        else:
            resp += names
            resp_parts.append(units_part)
            if word in ("配合", "协助", "参与"):
                role_word = "配合单位"
    if not lead and not resp:
        return None
    if not lead and first_leads:
        lead, resp = resp[:1], resp[1:]
    lead_t, resp_t = tuple(dict.fromkeys(lead)), tuple(dict.fromkeys(resp))
    return Note(
        lead_t,
        tuple(r for r in resp_t if r not in lead_t),
        role_word,
        "、".join(lead_parts),
        "、".join(resp_parts),
        deadline,
        labelled=False,
        lead_expected=saw_lead_word or first_leads,
    )


def parse_note(content: str, first_leads: bool) -> Note | None:
    """A bracket's content read as a unit/deadline note, or None when it is task text."""
    if LABEL_RE.search(content):
        return parse_labelled(content, first_leads)
    if is_deadline(content):
        return Note((), (), "责任单位", "", "", clean_deadline(content), False, False)
    return parse_worded(content, first_leads)


def merge(notes: list[Note]) -> Note:
    """Several trailing notes of one task ((X牵头，Y配合)(2022年底前完成)) as one."""
    units = [n for n in notes if n.lead or n.responsible or n.lead_expected]
    base = units[-1] if units else notes[-1]
    deadline = next((n.deadline for n in reversed(notes) if n.deadline), "")
    return Note(
        base.lead,
        base.responsible,
        base.role_word,
        base.lead_text,
        base.responsible_text,
        deadline,
        base.labelled,
        base.lead_expected,
    )
