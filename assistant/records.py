"""Typed, immutable records that every stage passes along.

Ids are derived from content so that re-ingesting an unchanged plan yields the
same ids (and the same embedding cache keys).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ChunkKind = Literal["task", "body", "header", "annex"]
Status = Literal["answered", "not_covered", "out_of_scope"]


def content_hash(*parts: str, length: int = 16) -> str:
    """Stable short hash of the given strings (sha256, hex)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


@dataclass(frozen=True)
class Plan:
    id: str
    title: str
    issuer: str
    region: str
    doc_number: str | None
    issued: str | None  # ISO date, e.g. 2021-10-22
    source_file: str
    checksum: str
    short_name: str = ""  # how people name the region in questions (the region minus its level)
    name_en: str = ""  # the region in Latin letters, for English questions (from the .toml)

    @property
    def level(self) -> str:
        """The government level of the issuing region: 县, 区, 市, 省 … ('' if unknown)."""
        from .ingest.units import region_level

        return region_level(self.region)


@dataclass(frozen=True)
class Section:
    plan_id: str
    path: tuple[str, ...]
    level: int
    heading: str
    text: str
    line_start: int
    line_end: int


@dataclass(frozen=True)
class Task:
    plan_id: str
    number: int
    heading: str
    text: str
    section_path: tuple[str, ...]
    lead: tuple[str, ...]
    responsible: tuple[str, ...]
    role_word: str  # 责任单位 or 配合单位, as the plan prints it
    lead_text: str  # the lead cell/label as printed
    responsible_text: str
    line_start: int
    line_end: int
    body_ref: str | None = None  # chunk id of the body paragraph restating it
    deadline: str = ""  # 完成时限 as printed (2022年底前), '' when the plan prints none
    label: str = ""  # the number as printed (11. / （三） / ①), '' when the plan prints none
    units_text: str = ""  # the unit note as printed when it is not in label form ((X牵头，Y配合))

    @property
    def id(self) -> str:
        return f"{self.plan_id}#task-{self.number}"

    def units(self) -> tuple[str, ...]:
        return self.lead + self.responsible

    def quote(self) -> str:
        """The task as cited: its words plus the unit labels as printed."""
        if self.units_text:
            return f"{self.text}{self.units_text}"
        parts = [f"牵头单位：{self.lead_text}"] if self.lead_text else []
        if self.responsible_text:
            parts.append(f"{self.role_word}：{self.responsible_text}")
        if self.deadline:
            parts.append(f"完成时限：{self.deadline}")
        units = f"（{'；'.join(parts)}）" if parts else ""
        return f"{self.text}{units}"


@dataclass(frozen=True)
class Unit:
    name: str  # canonical name, as the plans print it
    aliases: tuple[str, ...]
    plans: tuple[str, ...]
    collective: bool = False  # 县级各部门, 各相关单位 …: a group, not one department
    region: str = ""  # the issuing government: same-named units of two regions are two units


@dataclass(frozen=True)
class Chunk:
    plan_id: str
    kind: ChunkKind
    section_path: tuple[str, ...]
    text: str  # as cited: the plan's own words
    embed_text: str  # as embedded: prefixed with plan title, section, units
    task_number: int | None = None
    task_numbers: tuple[int, ...] = ()  # for body paragraphs that restate annex rows
    line_start: int = 0
    line_end: int = 0
    deadline: str = ""  # a task chunk's 完成时限, as printed

    @property
    def id(self) -> str:
        num = f"-t{self.task_number}" if self.task_number is not None else ""
        return (
            f"{self.plan_id}{num}-{content_hash(self.kind, self.text, '/'.join(self.section_path))}"
        )

    def metadata(self) -> dict[str, Any]:
        """Flat metadata for vector stores (scalars only)."""
        return {
            "plan_id": self.plan_id,
            "kind": self.kind,
            "section": " / ".join(self.section_path),
            "task_number": self.task_number if self.task_number is not None else -1,
            "task_numbers": ",".join(str(n) for n in self.task_numbers),
            "line_start": self.line_start,
            "line_end": self.line_end,
            "deadline": self.deadline,
        }


@dataclass(frozen=True)
class Issue:
    """Something the parser could not read cleanly; reported, never dropped silently."""

    plan_id: str
    line: int
    message: str
    level: Literal["warning", "error"] = "warning"
    file: str = ""  # the file it is about, when known

    def __str__(self) -> str:
        where = (
            f"{self.plan_id}（{self.file}）"
            if self.file and self.file != self.plan_id
            else self.plan_id
        )
        line = f" 第{self.line}行" if self.line else ""
        return f"[{self.level}] {where}{line}：{self.message}"


@dataclass(frozen=True)
class ParsedPlan:
    plan: Plan
    sections: tuple[Section, ...]
    tasks: tuple[Task, ...]
    chunks: tuple[Chunk, ...]
    issues: tuple[Issue, ...] = ()


@dataclass
class Citation:
    marker: int
    plan_id: str
    plan_title: str
    task_number: int | None
    section: str
    quote: str
    passage_id: str = ""
    lead: list[str] = field(default_factory=list)
    responsible: list[str] = field(default_factory=list)
    role_word: str = ""
    via: str = ""  # set when cited because a collective unit (县级各部门) covers the asked unit


@dataclass
class Answer:
    answer: str
    status: Status
    intent: str
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    plan_ids: list[str] = field(default_factory=list)
    mode: str = "extractive"
    notice: str = ""  # e.g. the LLM failed and the extractive answer is shown
    lang: str = "zh"
    summary: str = ""  # the first line: the answer itself
    groups: list[dict[str, Any]] = field(default_factory=list)  # {title, plan_id, items: [...]}
    blocks: list[dict[str, Any]] = field(default_factory=list)  # text / list blocks, in reading order
    checks: dict[str, Any] = field(default_factory=lambda: {"ok": True, "problems": []})
    # a complete duty list: {unit, plan, role} for GET /api/tasks?format=xlsx ("导出清单")
    export: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
