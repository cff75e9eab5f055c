"""Chinese numerals to Arabic digits, so that "三十个工作日" and "30个工作日" compare equal.

Only numerals that read as quantities are rewritten: a run of two or more numeral characters
(三十, 二十五, 一百二十), or a single one after 第/前/后/近/满/共/约 or before a measure word
(三年, 两个工作日, 五项). A lone 一 inside a word (统一, 进一步, 一站式) stays as it is. 万 and
亿 are kept as units ("三十万元" → "30万元"), as plans print "30万元" and the figures then
match as written. 百分之二十 → 20%.
The measure words and lead-in characters are data: ``data/verify.toml`` [numerals].
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
SCALES = {"十": 10, "百": 100, "千": 1000}
_NUM = "零〇一二两三四五六七八九十百千"
_RUN_RE = re.compile(rf"(百分之)?([{_NUM}]+)")
WORDS_FILE = Path(__file__).resolve().parent / "data" / "verify.toml"


@lru_cache(maxsize=1)
def verifier_words() -> dict[str, Any]:
    """The verifier's word lists (read once, on first use)."""
    return tomllib.loads(WORDS_FILE.read_text("utf-8"))


@lru_cache(maxsize=1)
def _patterns() -> tuple[str, re.Pattern[str]]:
    words = verifier_words()["numerals"]
    measures = sorted(words["measures"], key=len, reverse=True)
    return str(words["before"]), re.compile("^(?:" + "|".join(map(re.escape, measures)) + ")")


_FULLWIDTH = str.maketrans("０１２３４５６７８９％", "0123456789%")


def parse_chinese_number(run: str) -> int | None:
    """Value of a numeral run like 三十 / 二十五 / 一百零八 / 十二 / 二〇二一; None if malformed."""
    if not run:
        return None
    if all(ch in DIGITS for ch in run) and len(run) > 1:  # digit by digit: 二〇二一 → 2021
        return int("".join(str(DIGITS[ch]) for ch in run))
    total, current = 0, None
    for ch in run:
        if ch in DIGITS:
            if current is not None and current != 0:
                return None  # two digits in a row outside the digit-by-digit form
            current = DIGITS[ch]
        elif ch in SCALES:
            scale = SCALES[ch]
            total += (1 if current is None else current) * scale
            current = None
        else:
            return None
    return total + (current or 0)


def normalise_numerals(text: str) -> str:
    """The text with quantity numerals rewritten in Arabic digits."""

    before_chars, measure_re = _patterns()

    def repl(m: re.Match[str]) -> str:
        percent, run = m.group(1), m.group(2)
        before = text[max(0, m.start() - 1) : m.start()]
        after = text[m.end() : m.end() + 4]
        quantity = (
            percent
            or len(run) >= 2
            or (before and before in before_chars)
            or bool(measure_re.match(after))
        )
        if not quantity or run in ("一一",):
            return m.group(0)
        value = parse_chinese_number(run)
        if value is None:
            return m.group(0)
        return f"{value}%" if percent else str(value)

    text = text.translate(_FULLWIDTH)
    return _RUN_RE.sub(repl, text)
