"""Turn raw plan text into paragraphs with source line numbers.

Text extracted from PDF arrives hard-wrapped (a sentence broken every ~30
characters), often with a blank line between every line and page furniture
(page numbers). Detection is by shape, not by file: a document whose full-width
lines mostly do not end a sentence is treated as hard-wrapped and re-joined.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .notes import LABEL_RE

# Section markers of this genre, by level: 一、 /（一）/ 1. or 1、 /（1）/ ①
CN_DIGITS = "零一二三四五六七八九"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
MARKERS = (
    (1, re.compile(r"^([一二三四五六七八九十百]+)\s*、\s*")),
    (2, re.compile(r"^[（(]\s*([一二三四五六七八九十百]+)\s*[)）]\s*")),
    (3, re.compile(r"^(\d{1,3})\s*(?:[.．](?!\d)|、)\s*")),
    (4, re.compile(r"^[（(]\s*(\d{1,3})\s*[)）]\s*")),
    (5, re.compile(rf"^([{CIRCLED}])\s*")),
)
# "11.121人才梯队项目…": item 11 whose text starts with digits (a decimal at the start of a
# paragraph is read this way only where an item number is expected)
DIGIT_TEXT_MARKER = re.compile(r"^(\d{1,3})\s*[.．]\s*(?=\d)")


def cn_number(text: str) -> int | None:
    """'31' → 31, 一 → 1, 十二 → 12, 二十 → 20, 两 → 2, 一百零三 → 103; None for anything else."""
    if text.isdigit():
        return int(text)
    text = text.replace("两", "二")
    if not text or any(ch not in CN_DIGITS + "十百" for ch in text):
        return None
    total, cur = 0, 0
    for ch in text:
        if ch == "百":
            total += (cur or 1) * 100
            cur = 0
        elif ch == "十":
            total += (cur or 1) * 10
            cur = 0
        else:
            cur = CN_DIGITS.index(ch)
    return total + cur


def marker_number(marker: str) -> int | None:
    """The number a printed marker stands for: '11.' → 11, '（三）' → 3, '⑤' → 5."""
    core = re.sub(r"[\s.．、（()）]", "", marker)
    if core.isascii() and core.isdigit():
        return int(core)
    if len(core) == 1 and core in CIRCLED:
        return CIRCLED.index(core) + 1
    return cn_number(core)


FURNITURE_RE = re.compile(r"^[-—－–\s]*\d{1,3}[-—－–\s]*$|^第\s*\d+\s*页(共\s*\d+\s*页)?$")
SENTENCE_END = "。！？；;：:"
CLOSERS = ")）"
ANNEX_HEADER_CELLS = ("序号",)
BLOCK_STARTERS = ("附件", "抄送", "附：")
ANNEX_UNIT_HEADERS = ("牵头单位", "责任单位", "配合单位")


@dataclass(frozen=True)
class Para:
    text: str
    line_start: int  # 1-based, inclusive
    line_end: int


def marker_level(text: str) -> tuple[int, str, str] | None:
    """(level, marker as printed, rest) when the text starts with a section marker."""
    for level, rx in MARKERS:
        if m := rx.match(text):
            return level, text[: m.end()].strip(), text[m.end() :]
    return None


def split_annex(lines: list[str]) -> tuple[int | None, int | None]:
    """Index of the annex table header ('序号' cell followed by a unit column), and of the
    '附件' line before it, or (None, None) when the file holds no such table."""
    for i, line in enumerate(lines):
        if line.strip() not in ANNEX_HEADER_CELLS:
            continue
        following = [ln.strip() for ln in lines[i + 1 : i + 12] if ln.strip()][:6]
        if any(cell in ANNEX_UNIT_HEADERS for cell in following):
            start = i
            for j in range(i - 1, max(-1, i - 6), -1):
                if lines[j].strip().startswith("附件"):
                    start = j
                    break
            return i, start
    return None, None


def is_hard_wrapped(lines: list[str]) -> bool:
    """True when most full-width lines stop mid-sentence (PDF extraction)."""
    lengths = sorted(len(ln) for ln in lines if ln)
    if len(lengths) < 8:
        return False
    width = lengths[int(len(lengths) * 0.9)]
    full = [ln for ln in lines if ln and len(ln) >= 0.8 * width and not LABEL_RE.match(ln)]
    open_ended = [ln for ln in full if ln[-1] not in SENTENCE_END + CLOSERS]
    return width <= 60 and len(open_ended) >= 0.4 * len(full)


def paragraphs(lines: list[str], first_line: int = 1) -> list[Para]:
    """Paragraphs from body lines; `first_line` is the 1-based number of lines[0]."""
    rows = [
        (first_line + i, ln.strip())
        for i, ln in enumerate(lines)
        if ln.strip() and not FURNITURE_RE.match(ln.strip())
    ]
    if not is_hard_wrapped([t for _, t in rows]):
        return [Para(t, n, n) for n, t in rows]
    lengths = sorted(len(t) for _, t in rows)
    width = lengths[int(len(lengths) * 0.9)]
    out: list[Para] = []
    cur: list[str] = []
    start = prev_n = 0
    for n, text in rows:
        if cur and _starts_paragraph(cur, text, width):
            out.append(Para("".join(cur), start, prev_n))
            cur = []
        if not cur:
            start = n
        cur.append(text)
        prev_n = n
    if cur:
        out.append(Para("".join(cur), start, prev_n))
    return out


def _starts_paragraph(cur: list[str], line: str, width: int) -> bool:
    prev = cur[-1]
    joined = "".join(cur)
    if sum(joined.count(c) for c in "（(") > sum(joined.count(c) for c in ")）"):
        return False  # a paragraph never ends inside brackets (a unit label cut mid-way)
    if len(prev) < 0.75 * width:  # a short line ends its paragraph
        return True
    if line.startswith(BLOCK_STARTERS) or LABEL_RE.match(line):
        return True  # a 牵头单位：/完成时限： line after a task is a paragraph of its own
    if LABEL_RE.match(prev) and marker_level(line):
        return True
    mk = marker_level(line)
    if mk is None:
        return False
    if mk[0] == 1:  # 一、 at the start of a line is a top-level heading
        return True
    # a one-line heading (一、… /（一）… with no sentence) is a paragraph of its own
    heading = len(cur) == 1 and (lvl := marker_level(prev)) is not None and lvl[0] <= 2
    return heading or prev[-1] in SENTENCE_END + CLOSERS
