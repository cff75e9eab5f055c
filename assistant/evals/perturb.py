"""Perturbation consistency: the same question, said differently, gets the same answer.

Each hand-written single-turn case (and a deterministic sample of generated and topic
cases) is asked again

- `wrap`: wrapped in a greeting / politeness / thanks / chatter template from
  evals/conversations/perturbations.toml (one template per case, by a stable hash);
- `width`: with full-width and half-width punctuation and digits swapped;
- `traditional`: in traditional characters (OpenCC s2t; Chinese cases only);

and the variant must have the same status and cite the same (plan, task) set as the
original. A variant that leaves the text unchanged is skipped.
"""

from __future__ import annotations

import tomllib
import zlib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .cases import CONVERSATIONS_DIR, Case

PERTURBATIONS_FILE = CONVERSATIONS_DIR / "perturbations.toml"
KINDS = ("wrap", "width", "traditional")
END_PUNCT = "？?。.！!~～ "


def stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def load_wrappers(path: Path = PERTURBATIONS_FILE) -> dict[str, list[str]]:
    data = tomllib.loads(path.read_text("utf-8"))
    wrap = data.get("wrap") or {}
    return {lang: list(v) for lang, v in wrap.items() if v}


def wrap(question: str, case_id: str, templates: list[str]) -> str:
    template = templates[stable_hash(case_id) % len(templates)]
    return template.replace("{q_bare}", question.rstrip(END_PUNCT)).replace("{q}", question)


# U+FF01..FF5E are the full-width forms of U+0021..007E; swap punctuation and digits only
_FULL_OFFSET = 0xFEE0


def _swap_char(ch: str) -> str:
    code = ord(ch)
    if 0x21 <= code <= 0x7E and not ch.isalpha():
        return chr(code + _FULL_OFFSET)
    if 0xFF01 <= code <= 0xFF5E and not chr(code - _FULL_OFFSET).isalpha():
        return chr(code - _FULL_OFFSET)
    if ch == "\u3002":  # the ideographic full stop has no full-width form: its plain stop
        return "."
    return ch


def swap_width(text: str) -> str:
    """Full-width ↔ half-width punctuation and digits, character by character."""
    return "".join(_swap_char(c) for c in text)


@lru_cache(maxsize=1)
def _s2t() -> Any:
    from opencc_purepy import OpenCC

    return OpenCC("s2t")


def traditional(text: str) -> str:
    return str(_s2t().convert(text))


def variants(case: Case, wrappers: dict[str, list[str]]) -> list[tuple[str, Case]]:
    """(kind, variant case) for each perturbation that changes the question."""
    out: list[tuple[str, Case]] = []
    templates = wrappers.get(case.lang) or wrappers.get("zh") or []
    turns = list(case.turns)
    candidates: dict[str, list[str]] = {
        "wrap": [*turns[:-1], wrap(turns[-1], case.id, templates)] if templates else turns,
        "width": [swap_width(t) for t in turns],
        "traditional": [traditional(t) for t in turns] if case.lang == "zh" else turns,
    }
    for kind in KINDS:
        new = candidates[kind]
        if new != turns:
            out.append((kind, replace(case, id=f"{case.id}~{kind}", turns=tuple(new))))
    return out


def sample(cases: list[Case], n: int | None, salt: str = "") -> list[Case]:
    """A deterministic sample: the n cases with the smallest hash of their id."""
    if n is None or n >= len(cases):
        return list(cases)
    return sorted(cases, key=lambda c: (stable_hash(salt + c.id), c.id))[:n]


def perturbation_cases(
    cases: list[Case], n_generated: int | None, n_topics: int | None
) -> list[Case]:
    """Hand-written single-turn question cases, plus samples of generated and topic cases
    (blind sets never: they are scored once)."""
    single = [c for c in cases if len(c.turns) == 1 and not c.blind]
    hand = [c for c in single if c.pooled and not c.generated]
    gen = [c for c in single if c.generated]
    topics = [c for c in single if c.kind == "topic" and not c.pooled]
    return hand + sample(gen, n_generated, "perturb") + sample(topics, n_topics, "perturb")


def consistent(reference: dict[str, Any], got: dict[str, Any]) -> bool:
    """Same status and the same cited (plan, task) set (both as the runner records them)."""
    return reference["got"]["status"] == got["got"]["status"] and reference["cited"] == got["cited"]
