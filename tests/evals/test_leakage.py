"""Blind-set discipline in code: answer code must not carry words copied from the eval
questions, nor name the seed plans. (evals/questions/README.md, "Blind sets".)

- A CJK word (2+ characters, jieba) in a string literal of answer code (assistant/**/*.py
  except the harness, assistant/evals/, which writes questions by design; docstrings
  left out) that occurs in an eval question (evals/questions/*.jsonl but blind sets,
  evals/topics/topics.jsonl) but nowhere in the plans or data files (corpus/*.txt,
  corpus/*.toml, *.toml and *.json under assistant/ and corpus/) is a leak, unless
  it is a generic word listed in tests/evals/generic_words.txt.
- No seed literal (垫江, 石柱, 两份方案, 县商务委, a plan's short_name / region from
  corpus/*.toml) anywhere in assistant/**/*.py.

Both hold for the whole package since the evidence-first answer layer (2026-11): the
question grammar lives in assistant/answer/data/lexicon.toml.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import tomllib
from pathlib import Path

import pytest

from assistant.evals.cases import is_blind

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "assistant"
HARNESS = PACKAGE / "evals"
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
SEEDS = ("垫江", "石柱", "两份方案", "县商务委")


def code_files(harness: bool) -> list[Path]:
    files = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
    return [p for p in files if (HARNESS in p.parents) == harness]


def question_texts() -> list[str]:
    texts = []
    for path in sorted((ROOT / "evals" / "questions").glob("*.jsonl")):
        if is_blind(path.stem):  # a blind set is read once, by its scoring run
            continue
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                texts += json.loads(line)["turns"]
    for line in (ROOT / "evals" / "topics" / "topics.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            texts += json.loads(line)["questions"]
    return texts


def grounded_text() -> str:
    files = [*(ROOT / "corpus").glob("*.txt")]
    for folder in (PACKAGE, ROOT / "corpus"):
        files += [*folder.rglob("*.toml"), *folder.rglob("*.json")]
    return re.sub(r"\s+", "", "".join(p.read_text("utf-8") for p in sorted(set(files))))


def generic_words() -> set[str]:
    text = (Path(__file__).parent / "generic_words.txt").read_text("utf-8")
    return {w for line in text.splitlines() if not line.startswith("#") for w in line.split()}


def string_literals(source: str) -> list[str]:
    """String constants of a module, docstrings left out."""
    tree = ast.parse(source)
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def code_words(source: str) -> set[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return {
        w
        for s in string_literals(source)
        for run in CJK_RUN.findall(s)
        for w in jieba.lcut(run)
        if len(w) >= 2 and CJK_RUN.fullmatch(w)
    }


def leaks(
    sources: dict[str, str], questions: list[str], grounded: str, allowed: set[str]
) -> dict[str, list[str]]:
    """word → files: in a question, not in the plans/data, not generic."""
    out: dict[str, list[str]] = {}
    for name, source in sources.items():
        for w in sorted(code_words(source)):
            if w in allowed or w in grounded or not any(w in q for q in questions):
                continue
            out.setdefault(w, []).append(name)
    return out


def seed_literals() -> set[str]:
    seeds = set(SEEDS)
    for path in (ROOT / "corpus").glob("*.toml"):
        meta = tomllib.loads(path.read_text("utf-8"))
        seeds |= {str(meta[k]) for k in ("short_name", "region") if meta.get(k)}
    return seeds


def seeds_in(files: list[Path]) -> dict[str, list[str]]:
    seeds = seed_literals()
    found: dict[str, list[str]] = {}
    for p in files:
        text = p.read_text("utf-8")
        for s in sorted(seeds):
            if s in text:
                found.setdefault(str(p.relative_to(ROOT)), []).append(s)
    return found


def test_leak_detector_flags_question_only_words() -> None:
    questions = ["我想在夜市摆摊，需要什么手续？"]
    grounded = "夜间经济街巷经济"
    code = 'WORDS = r"夜市|摆摊|夜间经济|手续"\n"""夜市 in a docstring is not code."""\n'
    found = leaks({"x.py": code}, questions, grounded, {"手续"})
    assert found == {"夜市": ["x.py"], "摆摊": ["x.py"]}


def test_harness_code_has_no_seed_literals() -> None:
    assert not seeds_in(code_files(harness=True))


def test_answer_code_has_no_words_from_questions_only() -> None:
    found = leaks(
        {str(p.relative_to(ROOT)): p.read_text("utf-8") for p in code_files(harness=False)},
        question_texts(),
        grounded_text(),
        generic_words(),
    )
    assert not found, f"{len(found)} words: " + "; ".join(
        f"{w} ({', '.join(fs)})" for w, fs in found.items()
    )


def test_no_seed_literals_in_package() -> None:
    found = seeds_in(code_files(harness=False) + code_files(harness=True))
    assert not found, found
