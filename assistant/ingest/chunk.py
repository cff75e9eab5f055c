"""Chunks: one per task, sentence-aware pieces of body text, one for the notice.

What is cited (the plan's words) is kept apart from what is embedded (the same
words prefixed with plan title, section and units).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..records import Chunk, Plan, Task
from .parse import BodyPara, ParseResult

SENTENCE_RE = re.compile(r"(?<=[。！？；!?;])")
CLAUSE_RE = re.compile(r"(?<=[，、：,:])")


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken  # needs TIKTOKEN_CACHE_DIR (prepare_offline_runtime) to stay offline

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text))


def split_sentences(text: str, max_tokens: int) -> list[str]:
    """Pieces of at most max_tokens, cut only after 。！？； (or ，、： for an overlong
    sentence), so no word is ever split."""
    pieces: list[str] = []
    cur = ""
    for sentence in (s for s in SENTENCE_RE.split(text) if s):
        units = (
            [sentence]
            if count_tokens(sentence) <= max_tokens
            else [c for c in CLAUSE_RE.split(sentence) if c]
        )
        for unit in units:
            if cur and count_tokens(cur + unit) > max_tokens:
                pieces.append(cur)
                cur = ""
            cur += unit
    if cur:
        pieces.append(cur)
    return pieces


def section_label(path: tuple[str, ...]) -> str:
    return " / ".join(path)


def task_chunk(plan: Plan, task: Task) -> Chunk:
    units = f"牵头单位：{'、'.join(task.lead) or '（未列明）'}"
    if task.responsible:
        units += f"；{task.role_word}：{'、'.join(task.responsible)}"
    if task.deadline:
        units += f"；完成时限：{task.deadline}"
    embed = f"{plan.title}｜{section_label(task.section_path)}｜第{task.number}项 {task.heading}\n{task.text}\n{units}"
    return Chunk(
        plan_id=plan.id,
        kind="task",
        section_path=task.section_path,
        text=task.quote(),
        embed_text=embed,
        task_number=task.number,
        line_start=task.line_start,
        line_end=task.line_end,
        deadline=task.deadline,
    )


def body_chunks(plan: Plan, body: list[BodyPara], max_tokens: int) -> list[Chunk]:
    out: list[Chunk] = []
    header = [b for b in body if b.kind == "header"]
    if header:
        text = "\n".join(b.para.text for b in header)
        out.append(
            Chunk(
                plan.id,
                "header",
                ("发文通知",),
                text,
                f"{plan.title}｜发文通知\n{text}",
                line_start=header[0].para.line_start,
                line_end=header[-1].para.line_end,
            )
        )
    for b in body:
        if b.kind == "header":
            continue
        for piece in split_sentences(b.para.text, max_tokens):
            out.append(
                Chunk(
                    plan.id,
                    "annex" if b.kind == "annex" else "body",
                    b.section_path,
                    piece,
                    f"{plan.title}｜{section_label(b.section_path)}\n{piece}",
                    line_start=b.para.line_start,
                    line_end=b.para.line_end,
                )
            )
    return out


def _bigrams(text: str) -> set[str]:
    t = re.sub(r"[\s，。、；：“”《》（）()]", "", text)
    return {t[i : i + 2] for i in range(len(t) - 1)}


def link_body_to_tasks(
    chunks: list[Chunk], tasks: list[Task], threshold: float = 0.6
) -> tuple[list[Chunk], list[Task]]:
    """For a plan whose annex restates body measures, link each task row to the body
    chunk that says the same thing (bigram containment), both ways."""
    from dataclasses import replace

    body = [c for c in chunks if c.kind == "body"]
    grams = [_bigrams(c.text) for c in body]
    links: dict[int, list[int]] = {}
    new_tasks = []
    for t in tasks:
        tg = _bigrams(t.text)
        best, score = None, 0.0
        for i, g in enumerate(grams):
            s = len(tg & g) / max(1, len(tg))
            if s > score:
                best, score = i, s
        if best is not None and score >= threshold:
            links.setdefault(best, []).append(t.number)
            t = replace(t, body_ref=body[best].id)
        new_tasks.append(t)
    linked = {id(body[i]): tuple(nums) for i, nums in links.items()}
    new_chunks = [replace(c, task_numbers=linked[id(c)]) if id(c) in linked else c for c in chunks]
    return new_chunks, new_tasks


def build_chunks(
    plan: Plan, parsed: ParseResult, max_tokens: int
) -> tuple[list[Chunk], list[Task]]:
    chunks = body_chunks(plan, parsed.body, max_tokens)
    tasks = list(parsed.tasks)
    if parsed.layout == "annex":
        chunks, tasks = link_body_to_tasks(chunks, tasks)
    return [task_chunk(plan, t) for t in tasks] + chunks, tasks
