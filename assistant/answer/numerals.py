"""Chinese numerals to Arabic digits, so that "三十个工作日" and "30个工作日" compare equal.

Only numerals that read as quantities are rewritten: a run of two or more numeral characters
(三十, 二十五, 一百二十), or a single one after 第/前/后/近/满/共/约 or before a measure word
(三年, 两个工作日, 五项). A lone 一 inside a word (统一, 进一步, 一站式) stays as it is. 万 and
亿 are kept as units ("三十万元" → "30万元"), as plans print "30万元" and the figures then
match as written. 百分之二十 → 20%.
"""

from __future__ import annotations

import re

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
SCALES = {"十": 10, "百": 100, "千": 1000}
_NUM = "零〇一二两三四五六七八九十百千"
MEASURES = (
    "个|项|年|月|日|天|周|季度|小时|分钟|家|名|人|元|万|亿|倍|次|条|所|户|类|批|种|座|张|台|辆|级|岁|"
    "平方米|公里|亩|吨|件|份|本|门|层|点|成|期|轮|届|款|章|节|部|套|位|笔"
)
_RUN_RE = re.compile(rf"(百分之)?([{_NUM}]+)")
_BEFORE = "第前后近满共约逾超过达到不少于不超过不低于累计每"
_MEASURE_RE = re.compile(rf"^(?:{MEASURES})")
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

    def repl(m: re.Match[str]) -> str:
        percent, run = m.group(1), m.group(2)
        before = text[max(0, m.start() - 1) : m.start()]
        after = text[m.end() : m.end() + 4]
        quantity = (
            percent
            or len(run) >= 2
            or (before and before in _BEFORE)
            or bool(_MEASURE_RE.match(after))
        )
        if not quantity or run in ("一一",):
            return m.group(0)
        value = parse_chinese_number(run)
        if value is None:
            return m.group(0)
        return f"{value}%" if percent else str(value)

    text = text.translate(_FULLWIDTH)
    return _RUN_RE.sub(repl, text)
