"""Surface normalisation of a user turn, before any understanding.

Traditional characters become simplified, full-width letters and digits half-width, and the
greetings, thanks and politeness a person wraps around a question are set aside, so that
"您好，我想咨询一下：县教委牵头哪些任务？谢谢！" is understood exactly as "县教委牵头哪些任务？".
The word lists are general Chinese/English kept in ``data/lexicon.toml``.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

LEXICON_FILE = Path(__file__).resolve().parent / "data" / "lexicon.toml"
Lang = Literal["zh", "en"]
PUNCT = "，。、；：！？!?,.;:~～…\"'“”‘’（）()【】[]《》<>·-— \t\n"


@lru_cache(maxsize=1)
def lexicon() -> dict[str, Any]:
    return tomllib.loads(LEXICON_FILE.read_text("utf-8"))


@lru_cache(maxsize=1)
def _t2s() -> Any:
    from opencc_purepy import OpenCC

    return OpenCC("t2s")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=1)
def _wrapper_re() -> re.Pattern[str]:
    w = lexicon()["wrappers"]
    words = w["greetings"] + w["thanks"] + w["politeness"] + w["chatter"]
    # a wrapper counts only as a whole piece: at either end, followed by punctuation or the rest
    particles = "".join(w.get("particles", []))
    alternatives = f"{_alternation(words)}|{w['preamble_pattern']}"
    return re.compile(
        rf"^(?:(?:{alternatives})[{particles}]*[{re.escape(PUNCT)}]*)+", re.I
    )


@lru_cache(maxsize=1)
def _tail_re() -> re.Pattern[str]:
    w = lexicon()["wrappers"]
    words = w["thanks"] + w["greetings"] + w["chatter"]
    particles = "".join(w.get("particles", []))
    alternatives = f"{_alternation(words)}|{w['praise_pattern']}"
    return re.compile(
        rf"(?:[{re.escape(PUNCT)}]*(?:{alternatives})[{particles}]*)+[{re.escape(PUNCT)}]*$", re.I
    )


@lru_cache(maxsize=4)
def pattern(section: str, key: str) -> re.Pattern[str]:
    """A compiled alternation of the regexes listed under lexicon[section][key]."""
    value = lexicon()[section][key]
    parts = [value] if isinstance(value, str) else value
    return re.compile("|".join(f"(?:{p})" for p in parts), re.I)


def to_simplified(text: str) -> str:
    return _t2s().convert(text) if re.search(r"[\u4e00-\u9fff]", text) else text


def half_width(text: str) -> str:
    """Full-width letters, digits and the joining marks of Latin words (－／＆) to ASCII; CJK
    punctuation is kept."""
    return "".join(
        unicodedata.normalize("NFKC", ch) if "\uff10" <= ch <= "\uff5a" or ch in "－／＆" else ch
        for ch in text
    )


def detect_lang(text: str) -> Lang:
    """English when the turn is written mainly in Latin letters."""
    cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "en" if latin > 3 * cjk and latin >= 4 else "zh"


@dataclass(frozen=True)
class Turn:
    """One user turn after normalisation."""

    raw: str
    text: str  # simplified, half-width, wrappers removed (the question itself)
    lang: Lang
    wrapper: str  # what was set aside ("您好", "谢谢" …), for small talk


def without_symbols(text: str) -> str:
    """Emoji and pictographs (😊, 💊, ✈️) say nothing a question turns on: each becomes a space."""
    return "".join(
        " " if unicodedata.category(ch) == "So" or ch in "\u200d\ufe0f\ufe0e" else ch for ch in text
    )


def normalise(raw: str) -> Turn:
    text = half_width(to_simplified(without_symbols(raw).strip()))
    text = re.sub(r"\s+", " ", text).strip()
    core = text
    for _ in range(3):  # wrappers can nest: "您好，请问一下：…"
        stripped = _wrapper_re().sub("", core)
        stripped = _tail_re().sub("", stripped).strip()
        if stripped == core:
            break
        core = stripped
    # what was set aside (all of it when nothing else is left)
    wrapper = text if not core else text.replace(core, " ", 1).strip()
    return Turn(raw, core or "", detect_lang(text), wrapper)


def wrapper_kind(turn: Turn) -> str | None:
    """thanks / greeting when the turn was wrapped in them (even around a question)."""
    w = lexicon()["wrappers"]
    low = turn.wrapper.lower()
    if any(t in low for t in w["thanks"]):
        return "thanks"
    if any(re.search(rf"(^|\W){re.escape(g)}(\W|$)", low) for g in w["greetings"]):
        return "greeting"
    return None


def smalltalk_kind(turn: Turn) -> str | None:
    """greeting / thanks / capabilities / bye when the turn holds no question."""
    s = lexicon()["smalltalk"]
    core = turn.text.strip(PUNCT).lower()
    if not core:
        return wrapper_kind(turn) or "greeting"
    if core in s["capabilities"] or any(core == c.lower() for c in s["capabilities"]):
        return "capabilities"
    if re.search(s["capabilities_pattern"], core, re.I):
        return "capabilities"
    if core in s["bye"]:
        return "bye"
    if re.search(s["preface_pattern"], core):
        return wrapper_kind(turn) or "capabilities"
    return None
